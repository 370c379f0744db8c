/**
 * Tamper signals of the file source, on live paths only. A path is "live"
 * when its name does not look like a rotated copy (app.log.1, app.log-20240101,
 * app.log.2.gz, app.log.old): logrotate deletes and renames rotated names all
 * the time, and that is normal. A dashed date (app.log-2026-11-23, logrotate's
 * `dateformat -%Y-%m-%d`) is a rotated copy only when the scan also lists the
 * undated name as another file: logrotate keeps the live file next to its
 * copies, while a writer that puts the date in its live file's name
 * (`rotatelogs access_log-%Y-%m-%d`, rsyslog dynafiles) leaves no undated
 * file, and that live file keeps its alerts. An undated name listed by a recent
 * scan counts too: logrotate's `nocreate` renames the live file and makes no
 * new one (the writer does, when it next opens its log), and in between the
 * copies it deletes or compresses in the same run looked live.
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
 * alerts. Suspicions not decided yet (a stop cut the turn short, or came
 * within the grace) are saved with the checkpoints and restored at the next
 * start, where they get one more grace: the copy that cancels a truncation
 * resumes its checkpoint in the first turns, a deleted path found again
 * cancels its suspicion. A saved suspicion whose path the input no longer
 * covers (its globs changed) cannot be decided (neither the copy nor the path
 * back would be listed): it is raised at once, marked `unchecked`, instead of
 * being confirmed, or dropped, on what a scan that cannot see it finds.
 *
 * A decided suspicion stays saved until its alert is durable, when `raise`
 * says so (it returns a promise): a kill -9 before that makes the next start
 * raise it again (at least once, never lost). `decided` asks for the registry
 * to be written at once, twice: at the decision (saved as decided, the next
 * start raises it as it was instead of giving it another grace, which a path
 * recreated meanwhile would cancel), and once the alert is durable (which
 * shrinks the window in which the next start raises it a second time to one
 * registry write). The alerts raised at once (`replaced`, `unreadable`) are
 * kept the same way until stored: one the pipeline rejects (at stop) is
 * counted (`unstored`) and raised again by the next start.
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
  /**
   * A suspicion saved by an earlier run that can no longer be decided: 'not_covered' (its input's globs
   * no longer match the path), 'input_removed' (its input is no longer configured: strandedSuspicions).
   * What the kind says was seen (a shrink, a path gone); whether a rotation explained it is unknown.
   */
  readonly unchecked?: UncheckedReason;
}

export type UncheckedReason = 'not_covered' | 'input_removed';

const ROTATED = /(?:\.\d+|[-_.]\d{6,14}|\.old|\.bak|\.gz|\.xz|\.bz2|\.zst|\.lz4|\.z)(?:\.gz|\.xz|\.bz2|\.zst)?$/i;

/** A dashed date (and time) ending a name: -2026-11-23, -2026-11, -2026-11-23-14, _2026-11-23T14-30-00. */
const DASHED_DATE = /[-_.]\d{4}-\d{2}(?:-\d{2}(?:[-_T]\d{2}(?:[-:.]?\d{2}){0,2})?)?$/;

/**
 * True for a name a writer appends to (not a rotated copy). `listed`: path -> inode key of what the
 * scan found; without it a dashed-date name counts as live (nothing says a live file sits next to it).
 * `recent`: whether a path was listed by a recent scan (an undated name missing now: nocreate).
 */
export function isLivePath(path: string, listed?: ReadonlyMap<string, string>, recent?: (path: string) => boolean): boolean {
  const name = basename(path);
  if (ROTATED.test(name)) return false;
  const m = DASHED_DATE.exec(name);
  if (!m || m.index === 0 || !listed) return true;
  const undatedPath = path.slice(0, path.length - m[0].length);
  const undated = listed.get(undatedPath);
  // Gone a moment ago: renamed to one of these names (whichever inode it was), not made again yet.
  if (undated === undefined) return !(recent?.(undatedPath) ?? false);
  // The undated name naming this very inode (rotatelogs -L links the current file there) is no sibling.
  return undated === listed.get(path);
}

/** A name that may have dated copies next to it (neither rotated by its form nor dated itself): worth remembering as listed. */
export function mayBeUndated(path: string): boolean {
  const name = basename(path);
  if (ROTATED.test(name)) return false;
  const m = DASHED_DATE.exec(name);
  return !m || m.index === 0;
}

/** A suspicion not decided yet, as saved with the checkpoints (deadline: clock ms). */
export interface Suspicion {
  readonly alert: TamperAlert;
  readonly deadline: number;
  /** Decided by the run that saved it (raised, not durable yet): raised again at once, never given another grace. */
  readonly decided?: boolean;
}

/** Holds suspicions until a scan confirms them after the grace period. */
export class TamperWatch {
  private readonly missing = new Map<string, Suspicion>();
  private readonly truncations = new Map<string, Suspicion>();
  /** Decided and raised, the alert not durable yet (or never: a rejection keeps it here, for the next start). */
  private readonly raising = new Set<Suspicion>();
  /** The raises of `raising` not settled yet: the source's last registry write waits for them (settled()). */
  private readonly unsettled = new Set<Promise<void>>();

  constructor(
    private readonly graceMs: number,
    /** A promise, when given, resolves once the alert is durable downstream. */
    private readonly raise: (a: TamperAlert) => void | Promise<void>,
    /** Which paths are live (the source knows what the scan listed). */
    private readonly live: (path: string) => boolean = (p) => isLivePath(p),
    /** The suspicions changed (the source saves them with its checkpoints). */
    private readonly changed: () => void = () => undefined,
    /** A suspicion was decided, or its alert is durable: the saved suspicions should be written now. */
    private readonly decided: () => void = () => undefined,
    /** `raise` rejected an alert (not stored: the pipeline stopping, the queue failed for good): kept saved, to be counted. */
    private readonly unstored: (alert: TamperAlert, err: unknown) => void = () => undefined,
  ) {}

  pathMissing(path: string, identity: string, sizeBefore: number, now: number): void {
    if (!this.live(path) || this.missing.has(path)) return;
    this.missing.set(path, { alert: { kind: 'deleted', path, identity, sizeBefore }, deadline: now + this.graceMs });
    this.changed();
  }

  pathPresent(path: string): void {
    if (this.missing.delete(path)) this.changed();
  }

  /** A live file was truncated; cancelled by copyFound(identity). */
  truncated(alert: Omit<TamperAlert, 'kind'>, now: number): void {
    if (!this.live(alert.path)) return;
    this.truncations.set(alert.identity, { alert: { kind: 'truncated', ...alert }, deadline: now + this.graceMs });
    this.changed();
  }

  /** True when it cancelled a truncation waiting for its copy. */
  copyFound(identity: string): boolean {
    if (!this.truncations.delete(identity)) return false;
    this.changed();
    return true;
  }

  /** Whether a truncation of this identity waits for its copy (copyFound would cancel it). */
  awaitsCopy(identity: string): boolean {
    return this.truncations.has(identity);
  }

  /**
   * Immediate alerts (replaced, unreadable), at clock time `at`. Decided at once, and kept as a decided
   * suspicion while `raise` has not said it is stored, like a confirmed one: an alert the pipeline
   * rejects (at stop, or the queue failed for good) is evidence, saved with the checkpoints and raised
   * again by the next start, never dropped.
   */
  now(alert: TamperAlert, at: number): void {
    if (alert.kind !== 'unreadable' && !this.live(alert.path)) return;
    this.raiseSaved({ alert, deadline: at, decided: true }, alert, false);
  }

  /**
   * Called after each scan's turn, with the scan's time: raises what is still unexplained past its
   * deadline. A deletion is asked again whether its path is live: a dated name the scan took for a live
   * file (its undated name missing for a moment) and now knows for a rotated copy was no tampering.
   */
  confirm(now: number): void {
    for (const map of [this.missing, this.truncations]) {
      for (const [k, p] of map) {
        if (now >= p.deadline) {
          map.delete(k);
          this.changed();
          if (map === this.missing && !this.live(p.alert.path)) continue;
          this.raiseSaved(p, p.alert);
        }
      }
    }
  }

  /**
   * Raises the alert of a decided suspicion. Until `raise` says it is durable the suspicion stays
   * among the pending ones (saved): a crash before then must not lose it. `raise` returning nothing
   * is taken as durable at once. `saved`: the suspicion was saved before (in its grace, or by the
   * last run), so the registry is written again once it is gone.
   */
  private raiseSaved(p: Suspicion, alert: TamperAlert, saved = true): void {
    const done: unknown = this.raise(alert);
    if (!(done instanceof Promise)) {
      // Durable at once: no longer pending. `changed` too, for a restored one (nothing else says the
      // saved list lost it, and the checkpoints kept it, raised again at every start).
      if (saved) {
        this.changed();
        this.decided();
      }
      return;
    }
    this.raising.add(p);
    this.changed();
    // Saved as decided now, not at the next periodic write: a kill -9 in between left it undecided.
    this.decided();
    const settled = done.then(
      () => {
        this.raising.delete(p);
        this.changed();
        this.decided();
      },
      (err: unknown) => {
        // Not durable (the pipeline stopping, the queue failed for good): counted; it stays saved, and
        // the next start raises it again.
        this.unstored(alert, err);
      },
    );
    this.unsettled.add(settled);
    void settled.finally(() => this.unsettled.delete(settled));
  }

  /**
   * Resolves once every alert raised so far is durable or has failed for good. A stop writes the
   * registry after it: an alert stored by the stop itself (its append in flight at SIGTERM) is then no
   * longer saved as decided, which the next start would raise a second time. Bounded by the caller's
   * raise promises, which the pipeline settles by the end of shutdown_grace (closing the queue rejects them).
   */
  async settled(): Promise<void> {
    while (this.unsettled.size > 0) await Promise.allSettled([...this.unsettled]);
  }

  /** What is still in its grace or waits for its decision, and what was raised but is not durable yet. */
  pending(): Suspicion[] {
    const waiting = [...this.missing.values(), ...this.truncations.values()].map((p) => ({ alert: p.alert, deadline: p.deadline }));
    return [...waiting, ...[...this.raising].map((p) => ({ alert: p.alert, deadline: p.deadline, decided: true }))];
  }

  /**
   * Suspicions saved by the previous run. Each gets one more grace from `now`: the files that could
   * explain it (the copy, the path back) have their first turns before it is decided (and a clock
   * set back meanwhile cannot hold it for longer).
   */
  restore(saved: readonly Suspicion[], now: number, covered: (path: string) => boolean = () => true): void {
    const unchecked: Suspicion[] = [];
    for (const { alert, decided } of saved) {
      const p = { alert, deadline: now + this.graceMs };
      // Decided last run (confirmed, its alert not durable before the stop or crash): a path back or a copy
      // found now does not undo that decision; raised again as it was.
      if (decided === true) {
        this.raiseSaved(p, alert);
        continue;
      }
      // Not listed by any scan of this input any more: neither the copy nor the path back can be found,
      // and the silence of the scans proves nothing (confirmed, a path still there was alerted deleted).
      if (!covered(alert.path)) unchecked.push(p);
      else if (alert.kind === 'deleted' && !this.missing.has(alert.path)) this.missing.set(alert.path, p);
      else if (alert.kind === 'truncated' && !this.truncations.has(alert.identity)) this.truncations.set(alert.identity, p);
    }
    if (unchecked.length === 0) return;
    this.changed();
    // Marked in the suspicion too: saved as decided until stored, it is raised again as it was (unchecked),
    // not as a truncation or deletion some run confirmed.
    for (const p of unchecked) {
      const marked = { alert: { ...p.alert, unchecked: 'not_covered' as const }, deadline: p.deadline };
      this.raiseSaved(marked, marked.alert);
    }
  }
}
