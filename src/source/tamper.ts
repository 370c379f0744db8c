/**
 * Tamper signals of the file source, on live paths only. A path is "live"
 * when its name does not look like a rotated copy (app.log.1, app.log-20240101,
 * app.log.2.gz, app.log.old): logrotate deletes and renames rotated names all
 * the time, and that is normal.
 *
 *  - truncated:  a live file shrank (or its head changed) and no copy with its
 *                content appeared within the rescan interval (a copytruncate
 *                copy cancels the alert);
 *  - deleted:    a live path vanished and nothing was at that path again after
 *                the rescan interval (rename+create recreates it at once);
 *  - replaced:   a live path now holds content read before (an old copy put
 *                back: a known fingerprint from another inode or a rotated name);
 *  - unreadable: reading stopped because of EACCES/EPERM.
 * Decisions are taken by a scan at or after the deadline, once the files that
 * scan listed have had their turn (a late scan may list a truncation's copy
 * for the first time), so a rotation that completes between two scans never
 * alerts.
 */
import { basename } from 'node:path';

export type TamperKind = 'truncated' | 'deleted' | 'replaced' | 'unreadable';

export interface TamperAlert {
  readonly kind: TamperKind;
  readonly path: string;
  readonly identity: string;
  readonly sizeBefore?: number;
  readonly sizeAfter?: number;
  readonly offset?: number;
}

const ROTATED = /(?:\.\d+|[-_.]\d{6,14}|\.old|\.bak|\.gz|\.xz|\.bz2|\.zst|\.lz4|\.z)(?:\.gz|\.xz|\.bz2|\.zst)?$/i;

/** True for a name a writer appends to (not a rotated copy). */
export function isLivePath(path: string): boolean {
  return !ROTATED.test(basename(path));
}

interface Pending {
  alert: TamperAlert;
  deadline: number;
}

/** Holds suspicions until a scan confirms them after the grace period. */
export class TamperWatch {
  private readonly missing = new Map<string, Pending>();
  private readonly truncations = new Map<string, Pending>();

  constructor(
    private readonly graceMs: number,
    private readonly raise: (a: TamperAlert) => void,
  ) {}

  pathMissing(path: string, identity: string, sizeBefore: number, now: number): void {
    if (!isLivePath(path) || this.missing.has(path)) return;
    this.missing.set(path, { alert: { kind: 'deleted', path, identity, sizeBefore }, deadline: now + this.graceMs });
  }

  pathPresent(path: string): void {
    this.missing.delete(path);
  }

  /** A live file was truncated; cancelled by copyFound(identity). */
  truncated(alert: Omit<TamperAlert, 'kind'>, now: number): void {
    if (!isLivePath(alert.path)) return;
    this.truncations.set(alert.identity, { alert: { kind: 'truncated', ...alert }, deadline: now + this.graceMs });
  }

  copyFound(identity: string): void {
    this.truncations.delete(identity);
  }

  /** Immediate alerts (replaced, unreadable). */
  now(alert: TamperAlert): void {
    if (alert.kind !== 'unreadable' && !isLivePath(alert.path)) return;
    this.raise(alert);
  }

  /** Called after each scan's turn, with the scan's time: raises what is still unexplained past its deadline. */
  confirm(now: number): void {
    for (const map of [this.missing, this.truncations]) {
      for (const [k, p] of map) {
        if (now >= p.deadline) {
          map.delete(k);
          this.raise(p.alert);
        }
      }
    }
  }
}
