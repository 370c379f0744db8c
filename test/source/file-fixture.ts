/**
 * Shared fixtures for the file source tests: temp dirs, default options, a
 * collecting emit, and polling waits (conditions, never timing assertions).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawRecord } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';
import { FileSource, type FileSourceOptions, type TamperAlert } from '../../src/source/file-source.js';

export function tempDir(prefix = 'logward-src-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function options(dir: string, over: Partial<FileSourceOptions> = {}): FileSourceOptions {
  return {
    inputId: 'test',
    paths: [join(dir, 'logs', 'app.log*')],
    exclude: ['*.gz'],
    startAt: 'beginning',
    followSymlinks: false,
    partialLineTimeoutMs: 300,
    maxLineBytes: 64 * 1024,
    stateDir: join(dir, 'state'),
    maxOpenFiles: 64,
    rescanIntervalMs: 300,
    deletedFileMaxHoldMs: 60_000,
    checkpointExpiryMs: 7 * 24 * 3600_000,
    checkpointFlushMs: 100,
    pollIntervalMs: 50,
    ...over,
  };
}

/** Collects what a FileSource emits. */
export class Collector {
  readonly records: RawRecord[] = [];
  readonly alerts: TamperAlert[] = [];
  readonly counters = new Counters();
  readonly counts = new Map<string, number>();
  emit = async (batch: RawRecord[]): Promise<void> => {
    for (const r of batch) {
      this.records.push(r);
      const k = r.bytes.toString('utf8');
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    }
  };
  alert = (a: TamperAlert): void => {
    this.alerts.push(a);
  };
  source(opts: FileSourceOptions): FileSource {
    return new FileSource(opts, { emit: this.emit, alert: this.alert, counters: this.counters });
  }
  has(line: string): boolean {
    return (this.counts.get(line) ?? 0) > 0;
  }
  duplicates(): string[] {
    return [...this.counts].filter(([, n]) => n > 1).map(([k]) => k);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until true; throws with `what` after `timeoutMs` (a liveness bound, not a timing assertion). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Lines of `n` distinct, recognisable records. */
export function lines(tag: string, from: number, n: number): string[] {
  const out: string[] = [];
  for (let i = from; i < from + n; i++) out.push(`${tag} ${String(i).padStart(7, '0')} the quick brown fox`);
  return out;
}
