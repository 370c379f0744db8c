/**
 * The rotation tests' harness: a logs directory with app.log, and a FileSource on a fake clock
 * (`advance`, never wall time) with a watcher-less scanner whose order and timing a test may
 * choose (`order`, `afterScan`: change the files between a scan's walk and its use).
 */
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readlinkSync, truncateSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Discovery, type DiscoveredFile, type PathsProvider } from '../../src/source/discovery.js';
import { FileSource, type FileSourceDeps, type FileSourceOptions } from '../../src/source/file-source.js';
import { Collector, lines, options, tempDir, waitFor } from './file-fixture.js';

export function setup(): { dir: string; cleanup: () => void; logs: string; live: string } {
  const t = tempDir();
  const logs = join(t.dir, 'logs');
  mkdirSync(logs);
  return { ...t, logs, live: join(logs, 'app.log') };
}

export interface HarnessOptions {
  order?: (f: DiscoveredFile[]) => DiscoveredFile[];
  /** Runs after each scan's walk; returning true walks again (the scan then lists what it changed). */
  afterScan?: (h: Harness) => boolean | void;
  globs?: string[];
  /** The source's clock moves only by `advance` and `graceRound` (no wall time): a grace never runs out by itself. */
  frozen?: boolean;
  /** The source's error reports (else they are process warnings). */
  error?: FileSourceDeps['error'];
}

export interface Harness {
  src: FileSource;
  /** Moves the source's clock on (a poll or a grace due at once). */
  advance(ms: number): void;
  /**
   * Waits for a listing begun after the call, then lets every park grace run out and waits for two
   * scans (each parked file gets its turn).
   */
  graceRound(ms?: number): Promise<void>;
}

export function harness(dir: string, logs: string, c: Collector, over: Partial<FileSourceOptions> = {}, h: HarnessOptions = {}): Harness {
  let skew = 0;
  const base = Date.now();
  const clock = { now: () => (h.frozen ? base : Date.now()) + skew };
  const globs = h.globs ?? [join(logs, 'app*'), join(logs, 'old', 'app*'), join(logs, 'other.log')];
  const real = new Discovery({ paths: globs, exclude: [], followSymlinks: false }, { rescan: () => undefined, changed: () => undefined }, c.counters);
  let scans = 0;
  // The start number of the newest scan whose listing is done: graceRound waits for a listing that
  // began after its call, so no scan decides with the moved clock on a listing older than the call.
  let listedFrom = 0;
  const paths: PathsProvider = {
    scan: async () => {
      const n = ++scans;
      let f = await real.scan();
      if (h.afterScan?.(self)) f = await real.scan();
      listedFrom = Math.max(listedFrom, n);
      return h.order ? h.order(f) : f;
    },
  };
  const src = new FileSource(options(dir, over), { emit: c.emit, alert: c.alert, counters: c.counters, clock, paths, ...(h.error ? { error: h.error } : {}) });
  const self: Harness = {
    src,
    advance(ms: number): void {
      skew += ms;
    },
    async graceRound(ms = 60_000): Promise<void> {
      // What the test did before this call must be listed before the clock moves: a scan that listed
      // the directory earlier would otherwise decide with a clock a grace later (a loaded machine),
      // which real time never does.
      const called = scans;
      await waitFor(() => listedFrom > called, 'a listing begun after the call');
      skew += ms;
      const from = scans;
      await waitFor(() => scans >= from + 2, 'a round after the grace');
    },
  };
  return self;
}

/** A test's logs directory and collector (runSource's, before the harness exists). */
export interface SourceEnv {
  dir: string;
  logs: string;
  live: string;
  c: Collector;
}

export interface SourceRun extends SourceEnv {
  h: Harness;
  /** hookHandles, undone (last first) before the source stops, whatever happens. */
  hook: typeof hookHandles;
}

export interface RunOptions {
  source?: Partial<FileSourceOptions>;
  harness?: HarnessOptions | ((env: SourceEnv) => HarnessOptions);
  /** Runs after the harness is made and before start: the files start-up finds. */
  prepare?: (env: SourceEnv) => void;
}

/**
 * One source's life in a fresh logs directory: harness, `prepare`, start, `during`, then (whatever
 * happens) the hooks undone, stop, the directory removed. Returns the run for the assertions made
 * after the stop (what they read is in memory: the directory is gone).
 */
export async function runSource(o: RunOptions, during: (run: SourceRun) => Promise<void>): Promise<SourceRun> {
  const { dir, cleanup, logs, live } = setup();
  const restores: (() => void)[] = [];
  try {
    const env: SourceEnv = { dir, logs, live, c: new Collector() };
    const h = harness(dir, logs, env.c, o.source, typeof o.harness === 'function' ? o.harness(env) : o.harness);
    const run: SourceRun = {
      ...env,
      h,
      hook: async (method, f) => {
        const restore = await hookHandles(method, f);
        restores.push(restore);
        return restore;
      },
    };
    o.prepare?.(env);
    await h.src.start();
    try {
      await during(run);
    } finally {
      for (const restore of restores.reverse()) restore();
      await h.src.stop();
    }
    return run;
  } finally {
    cleanup();
  }
}

/**
 * logrotate's copytruncate right after a scan's walk (so that scan does not list the copy): the
 * copy at app.log.1, the live file truncated, the writer going on with c 0..19; app.log's poll is
 * made due, so the turn after this scan sees the truncation while the copy is still unknown.
 */
export function copytruncateAfterWalk(h: Harness, live: string, logs: string): void {
  copyFileSync(live, join(logs, 'app.log.1'));
  truncateSync(live, 0);
  appendFileSync(live, body(lines('c', 0, 20)));
  h.advance((options('/').pollIntervalMs ?? 0) + 1);
}

export const body = (ls: string[]): string => ls.join('\n') + '\n';
export const last = (tag: string, n: number): string => lines(tag, n - 1, 1)[0] as string;

/** The file a descriptor of this process names, or undefined once it is closed (from /proc/self/fd). */
export function fdPath(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The files under dir this process holds descriptors on (what the fd budget is about, counted by the kernel). */
export function openUnder(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync('/proc/self/fd')) {
    const p = fdPath(Number(n));
    if (p?.startsWith(dir + '/')) out.push(p);
  }
  return out;
}

/**
 * Wraps a method of every FileHandle: f(file of the handle, arguments, the handle) runs first, and
 * what it throws is the call's rejection (an injected error). Returns the restore function.
 */
export async function hookHandles(method: 'read' | 'stat', f: (path: string | undefined, args: unknown[], fh: FileHandle) => void): Promise<() => void> {
  const fh = await open(process.execPath);
  const proto = Object.getPrototypeOf(fh) as Record<typeof method, (...a: unknown[]) => Promise<unknown>>;
  await fh.close();
  const orig = proto[method];
  proto[method] = function (this: FileHandle, ...a: unknown[]) {
    try {
      f(fdPath(this.fd), a, this);
    } catch (err) {
      return Promise.reject(err);
    }
    return orig.apply(this, a);
  };
  return () => {
    proto[method] = orig;
  };
}

/**
 * One run of a source over the test's directory, from start to stop (the next call is a restart
 * with the registry this run left). `frozen`: graces run out by graceRound only.
 */
export async function runOnce(dir: string, logs: string, during: (c: Collector, h: Harness) => Promise<void>, frozen = true): Promise<Collector> {
  const c = new Collector();
  const h = harness(dir, logs, c, {}, { frozen });
  await h.src.start();
  try {
    await during(c, h);
  } finally {
    await h.src.stop();
  }
  return c;
}
