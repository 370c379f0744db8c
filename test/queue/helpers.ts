/** Test helpers for the queue and seal tests: temp dirs, a crash-injecting fs, a hand-built RFC 5424 assembler. */
import { existsSync, fstatSync, mkdtempSync, readdirSync, readFileSync, readSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { Counters } from '../../src/monitor/counters.js';
import { DiskQueue, type DiskQueueOptions, type QueueAlert } from '../../src/queue/disk-queue.js';
import { nodeFs, type QueueFs } from '../../src/queue/fs.js';
import { readLossText } from '../../src/seal/declaration.js';
import type { SealParams, SyslogParts } from '../../src/seal/syslog-parts.js';
import type { SealedEntry } from '../../src/seal/verify.js';

export function tempDir(prefix = 'lw-queue-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Thrown by CrashFs at and after the crash step: the simulated process is dead. */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

/** An I/O error to inject: the next `times` calls of `op` on a path matching `path` fail with `code`. */
export interface Fault {
  op: 'write' | 'fsync' | 'ftruncate';
  code: string;
  times: number;
  path?: RegExp;
  /**
   * write: the whole buffer reaches the file before the call fails (a write whose completion was lost).
   * fsync: the file's data is durable before the call fails (the flush reached the disk, its success was lost).
   */
  written?: boolean;
  /** Called when it fires, before the call fails (the group is in flight then). */
  onFire?: () => void;
  /** write only: fires only on a write whose buffer holds these bytes (a disk that never takes one record). */
  contains?: string;
}

/** A file's whole contents through its descriptor (the name may be gone), or by name when the descriptor is write-only. */
function readThrough(fd: number, path: string | undefined): Buffer {
  try {
    const b = Buffer.alloc(fstatSync(fd).size);
    let off = 0;
    while (off < b.length) {
      const n = readSync(fd, b, off, b.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return b.subarray(0, off);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EBADF' || path === undefined) throw e;
    return readFileSync(path);
  }
}

/**
 * What a power loss leaves of the files a CrashFs touched: a page cache in
 * front of a disk. A file's data (and size) is what it held at its last
 * successful fsync; a file created and never fsynced is empty. A directory
 * entry (create, rename, unlink) is durable once its directory is fsynced
 * (`dirSync`), or at once without `dirSync`; a rename moves the file, so the
 * data synced under the old name goes with it. Files and directories that
 * existed before the CrashFs first touched their directory count as synced as
 * they were. Files are told apart by identity (an inode), not by name: until
 * a rename over another file is durable, the name still holds the replaced
 * file's synced data.
 */
class PowerLossModel {
  private nextId = 0;
  /** Current name → file. */
  private names = new Map<string, number>();
  /** Name → file as the disk has it. */
  private durableNames = new Map<string, number>();
  /** File → its contents at its last fsync. */
  private synced = new Map<number, Buffer>();
  /** Open descriptor (for writing) → file. */
  private fds = new Map<number, number>();
  private seenDirs = new Set<string>();
  /** Directories made through this fs → whether their entry in the parent is on the disk yet. */
  private madeDirs = new Map<string, boolean>();

  constructor(private readonly dirSync: boolean) {}

  /** What exists before this fs touched a directory is on the disk as it is. */
  private see(dir: string): void {
    if (this.seenDirs.has(dir)) return;
    this.seenDirs.add(dir);
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isFile()) this.register(join(dir, e.name));
  }

  private register(path: string): number {
    const id = this.nextId++;
    this.names.set(path, id);
    this.durableNames.set(path, id);
    this.synced.set(id, readFileSync(path));
    return id;
  }

  /** Call before a call that may create, replace or remove `path`. */
  before(path: string): void {
    this.see(dirname(path));
    // Made by someone else since (a test damaging a file by hand): it is on the disk as it is.
    if (!this.names.has(path) && existsSync(path)) this.register(path);
  }

  opened(path: string, fd: number): void {
    let id = this.names.get(path);
    if (id === undefined) {
      id = this.nextId++;
      this.names.set(path, id);
      this.synced.set(id, Buffer.alloc(0));
      if (!this.dirSync) this.durableNames.set(path, id);
    }
    this.fds.set(fd, id);
  }

  closed(fd: number): void {
    this.fds.delete(fd);
  }

  /** `path`: the name the descriptor's file has now (read through it when the descriptor is write-only). */
  fsyncFile(fd: number, path: string | undefined): void {
    const id = this.fds.get(fd);
    if (id === undefined) return;
    this.synced.set(id, readThrough(fd, path));
  }

  /** mkdir -p made `first` and everything below it down to `dir`: none is on the disk until its parent is fsynced. */
  madeDir(first: string, dir: string): void {
    for (let d = dir; ; d = dirname(d)) {
      this.madeDirs.set(d, !this.dirSync);
      if (d === first || dirname(d) === d) return;
    }
  }

  fsyncDir(dir: string): void {
    if (!this.dirSync) return;
    for (const d of this.madeDirs.keys()) if (dirname(d) === dir) this.madeDirs.set(d, true);
    for (const [p, id] of this.names) if (dirname(p) === dir) this.durableNames.set(p, id);
    for (const p of [...this.durableNames.keys()]) if (dirname(p) === dir && !this.names.has(p)) this.durableNames.delete(p);
  }

  renamed(from: string, to: string): void {
    const id = this.names.get(from);
    if (id === undefined) return;
    this.names.delete(from);
    this.names.set(to, id);
    if (!this.dirSync) {
      this.durableNames.delete(from);
      this.durableNames.set(to, id);
    }
  }

  unlinked(path: string): void {
    this.names.delete(path);
    if (!this.dirSync) this.durableNames.delete(path);
  }

  /** The power is gone: every name gets its durable file back at that file's synced contents, or goes. */
  lose(): void {
    for (const p of new Set([...this.names.keys(), ...this.durableNames.keys()])) {
      const id = this.durableNames.get(p);
      if (id !== undefined) writeFileSync(p, this.synced.get(id) ?? Buffer.alloc(0), { mode: 0o600 });
      else if (existsSync(p)) unlinkSync(p);
    }
    // A directory whose entry never reached the disk is gone, with whatever it held (its parent
    // first: a durable entry under a lost directory is lost too).
    const lost = [...this.madeDirs].filter(([, durable]) => !durable).map(([d]) => d);
    for (const d of lost.sort((a, b) => a.length - b.length)) rmSync(d, { recursive: true, force: true });
    this.madeDirs.clear();
  }
}

/**
 * Wraps the real fs. Every mutating call is a numbered step; at step `crashAt`
 * (or at the first step `crashOn` returns true for) the call does not happen (a
 * write happens halfway: a torn write) and it and every later call throw
 * SimulatedCrash. `enospc` makes the next n writes fail with ENOSPC (nothing
 * written) — a full disk. `capacity` models a small disk holding one
 * directory: a write that would need more blocks than are free fails with
 * ENOSPC until files are removed. `fail(...)` injects other I/O errors (EIO on
 * a segment's fsync, ...); the process lives on.
 *
 * By default (`powerLoss: true`) a crash is a power loss, not only the death
 * of the process: what was not fsynced is gone (PowerLossModel). Data and
 * truncations written since a file's last successful fsync are lost, a torn
 * write with them; with `dirSync` (the default) so are entries created,
 * renamed or unlinked since their directory's last fsync. The files go back
 * once the last call in flight at the crash has ended (`powerLost`,
 * `down()`), before the crashed call's error reaches its caller.
 *
 * With `powerLoss: false` a crash is the death of the process only (kill -9,
 * the OOM killer): the kernel's page cache survives, so a torn write and
 * every unsynced write, truncation and directory entry stay on the disk as
 * they are. That is the case that leaves a torn tail for recovery to cut,
 * which a power loss (reverting to the last fsync) never does.
 */
export class CrashFs implements QueueFs {
  steps = 0;
  crashed = false;
  /**
   * The crash is complete: every call in flight at the crash has ended and, with `powerLoss`, the
   * files are back at what the disk held (without it they stay as the dead process left them).
   */
  powerLost = false;
  /** Crash at the first mutating call this returns true for (op as in `log`; path and buffer when known). */
  crashOn: ((op: string, path: string, buf?: Buffer) => boolean) | null = null;
  enospc = 0;
  log: string[] = [];
  faults: Fault[] = [];
  /** Injected faults that fired, as "op path". */
  fired: string[] = [];
  /** A disk of `bytes` (4 KiB blocks) holding only `dir` (see diskUsed). */
  capacity: { dir: string; bytes: number } | null = null;
  /** Descriptors opened for writing → path. */
  private paths = new Map<number, string>();
  /** Descriptors opened for reading (a directory's, for its fsync) → path. */
  private readPaths = new Map<number, string>();
  private readonly disk: PowerLossModel;
  /** A crash reverts the files to their last fsync (else it is a process crash: the page cache survives). */
  private readonly powerLoss: boolean;
  /** Mutating calls that have started and not ended: the files go back when none is left after a crash. */
  private inflight = 0;
  private downWaiters: (() => void)[] = [];
  constructor(
    public crashAt = Infinity,
    opts: { dirSync?: boolean; powerLoss?: boolean } = {},
  ) {
    this.disk = new PowerLossModel(opts.dirSync ?? true);
    this.powerLoss = opts.powerLoss ?? true;
  }

  /** Resolves once the crash has happened and (with `powerLoss`) the files are back at what the disk held. */
  down(): Promise<void> {
    if (this.powerLost) return Promise.resolve();
    return new Promise((resolve) => this.downWaiters.push(resolve));
  }

  /** Runs one mutating call; the last one to end after a crash puts the files back (on a power loss). */
  private async mutate<T>(fn: () => Promise<T>): Promise<T> {
    this.inflight++;
    try {
      return await fn();
    } finally {
      this.inflight--;
      if (this.crashed && this.inflight === 0 && !this.powerLost) {
        if (this.powerLoss) this.disk.lose();
        this.powerLost = true;
        for (const w of this.downWaiters.splice(0)) w();
      }
    }
  }

  /** Arms an injected I/O error (default: the next segment write/fsync/ftruncate fails once with EIO). */
  fail(op: Fault['op'], extra: Partial<Omit<Fault, 'op'>> = {}): void {
    this.faults.push({ ...extra, op, code: extra.code ?? 'EIO', times: extra.times ?? 1, path: extra.path ?? /seg-\d+\.lwq$/ });
  }

  private fault(op: Fault['op'], fd: number, buf?: Buffer): Fault | undefined {
    if (this.crashed) return undefined;
    const path = this.paths.get(fd) ?? '';
    const f = this.faults.find(
      (x) => x.op === op && x.times > 0 && (x.path === undefined || x.path.test(path)) && (x.contains === undefined || (buf !== undefined && buf.includes(x.contains))),
    );
    if (!f) return undefined;
    f.times--;
    this.fired.push(`${op} ${path}`);
    f.onFire?.();
    return f;
  }

  /** Bytes the files of capacity.dir take, in whole 4 KiB blocks. */
  diskUsed(): number {
    const c = this.capacity;
    if (!c) return 0;
    let used = 0;
    for (const n of readdirSync(c.dir)) used += CrashFs.blocks(statSync(join(c.dir, n)).size);
    return used;
  }

  private static blocks(n: number): number {
    return Math.ceil(n / 4096) * 4096;
  }

  /** capacity: the write would take more blocks than are free. */
  private noRoom(fd: number, len: number, position: number | undefined): boolean {
    const c = this.capacity;
    const path = this.paths.get(fd);
    if (!c || !path || this.crashed) return false;
    const size = statSync(path).size;
    const grow = CrashFs.blocks(Math.max(size, (position ?? size) + len)) - CrashFs.blocks(size);
    return grow > 0 && this.diskUsed() + grow > c.bytes;
  }

  private static ioError(code: string, op: string): NodeJS.ErrnoException {
    const e = new Error(`${code}: i/o error, ${op}`) as NodeJS.ErrnoException;
    e.code = code;
    e.syscall = op;
    return e;
  }

  private step(what: string, path = '', buf?: Buffer): boolean {
    if (this.crashed) throw new SimulatedCrash('dead');
    this.steps++;
    this.log.push(what);
    if (this.steps >= this.crashAt || this.crashOn?.(what, path, buf) === true) {
      this.crashed = true;
      return true;
    }
    return false;
  }
  private alive(): void {
    if (this.crashed) throw new SimulatedCrash('dead');
  }

  mkdir = (p: string, m: number): Promise<string | undefined> =>
    this.mutate(async () => {
      if (this.step('mkdir', p)) throw new SimulatedCrash('mkdir');
      const first = await nodeFs.mkdir(p, m);
      if (first !== undefined) this.disk.madeDir(first, p);
      return first;
    });
  readdir = async (p: string): Promise<string[]> => {
    this.alive();
    return nodeFs.readdir(p);
  };
  lstat = async (p: string) => {
    this.alive();
    return nodeFs.lstat(p);
  };
  open = async (p: string, flags: string, mode?: number): Promise<number> => {
    if (flags === 'r') {
      this.alive();
      const fd = await nodeFs.open(p, flags, mode);
      this.readPaths.set(fd, p);
      return fd;
    }
    return this.mutate(async () => {
      if (this.step(`open ${flags}`, p)) throw new SimulatedCrash('open');
      this.disk.before(p);
      const fd = await nodeFs.open(p, flags, mode);
      this.paths.set(fd, p);
      this.disk.opened(p, fd);
      return fd;
    });
  };
  write = (fd: number, buf: Buffer, position?: number): Promise<void> =>
    this.mutate(async () => {
      if (this.enospc > 0 && !this.crashed) {
        this.enospc--;
        const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
        e.code = 'ENOSPC';
        throw e;
      }
      if (this.noRoom(fd, buf.length, position)) throw CrashFs.ioError('ENOSPC', 'write');
      const f = this.fault('write', fd, buf);
      if (f) {
        if (f.written) await nodeFs.write(fd, buf, position);
        throw CrashFs.ioError(f.code, 'write');
      }
      if (this.step('write', this.paths.get(fd), buf)) {
        if (buf.length > 1) await nodeFs.write(fd, buf.subarray(0, Math.floor(buf.length / 2)), position);
        throw new SimulatedCrash('write');
      }
      return nodeFs.write(fd, buf, position);
    });
  read = async (fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> => {
    this.alive();
    return nodeFs.read(fd, buf, off, len, pos);
  };
  fsync = (fd: number): Promise<void> =>
    this.mutate(async () => {
      const f = this.fault('fsync', fd);
      if (f) {
        if (f.written) {
          await nodeFs.fsync(fd);
          this.synced(fd);
        }
        throw CrashFs.ioError(f.code, 'fsync');
      }
      if (this.step('fsync', this.paths.get(fd) ?? this.readPaths.get(fd))) throw new SimulatedCrash('fsync');
      await nodeFs.fsync(fd);
      this.synced(fd);
    });
  ftruncate = (fd: number, len: number): Promise<void> =>
    this.mutate(async () => {
      const f = this.fault('ftruncate', fd);
      if (f) throw CrashFs.ioError(f.code, 'ftruncate');
      if (this.step('ftruncate', this.paths.get(fd))) throw new SimulatedCrash('ftruncate');
      return nodeFs.ftruncate(fd, len);
    });
  /** A successful fsync: a file's data, or a directory's entries, are on the disk now. */
  private synced(fd: number): void {
    const dir = this.readPaths.get(fd);
    if (dir !== undefined && statSync(dir).isDirectory()) this.disk.fsyncDir(dir);
    else this.disk.fsyncFile(fd, this.paths.get(fd));
  }
  close = async (fd: number): Promise<void> => {
    // Closing never loses data; a dead process's descriptors are closed by the kernel. The number
    // is free for the next open: forget what it named.
    this.paths.delete(fd);
    this.readPaths.delete(fd);
    this.disk.closed(fd);
    return nodeFs.close(fd);
  };
  rename = (a: string, b: string): Promise<void> =>
    this.mutate(async () => {
      if (this.step('rename', a)) throw new SimulatedCrash('rename');
      this.disk.before(a);
      this.disk.before(b);
      await nodeFs.rename(a, b);
      this.disk.renamed(a, b);
      for (const [fd, p] of this.paths) if (p === a) this.paths.set(fd, b);
    });
  unlink = (p: string): Promise<void> =>
    this.mutate(async () => {
      if (this.step('unlink', p)) throw new SimulatedCrash('unlink');
      this.disk.before(p);
      await nodeFs.unlink(p);
      this.disk.unlinked(p);
    });
  chmod = (p: string, m: number): Promise<void> =>
    this.mutate(async () => {
      if (this.step('chmod', p)) throw new SimulatedCrash('chmod');
      return nodeFs.chmod(p, m);
    });
}

/** The RFC 5424 assembly contract of src/encode/rfc5424.ts, built by hand for seal tests. */
export function assembleByHand(parts: SyslogParts, seal?: SealParams): string {
  const sd = seal
    ? ` session="${seal.session}" seq="${seal.seq}"${seal.keyId ? ` kid="${seal.keyId}"` : ''} chain="${seal.chain}"`
    : '';
  return `${parts.header}[${parts.sdId}${parts.sdParams}${sd}]${parts.otherSd} ${parts.msg}`;
}

export function parts(msg: string): SyslogParts {
  return {
    header: '<134>1 2026-11-22T10:00:00.000Z host logward 1 - ',
    sdId: 'logward@32473',
    sdParams: ' eid="x"',
    otherSd: '',
    msg,
  };
}

export interface QueueHarness {
  q: DiskQueue;
  counters: Counters;
  alerts: QueueAlert[];
}

export function makeQueue(
  dir: string,
  over: Partial<DiskQueueOptions> = {},
  extra: { fs?: QueueFs; now?: () => number } = {},
): QueueHarness {
  const counters = new Counters();
  const alerts: QueueAlert[] = [];
  const deps: ConstructorParameters<typeof DiskQueue>[1] = { counters, onAlert: (a) => alerts.push(a) };
  if (extra.fs) deps.fs = extra.fs;
  if (extra.now) deps.now = extra.now;
  const q = new DiskQueue(
    {
      dir,
      maxBytes: 64 * 1024 * 1024,
      whenFull: 'block',
      fsync: 'batch',
      fsyncIntervalMs: 60_000,
      resendWindow: { bytes: 0, ageMs: 0 },
      ...over,
    },
    deps,
  );
  return { q, counters, alerts };
}

export function rec(i: number, extra: Partial<{ internal: boolean; identity: string; size: number }> = {}) {
  const body = `record ${i} ` + 'x'.repeat(extra.size ?? 100);
  const meta: { input: string; identity: string; end: number; internal?: boolean } = {
    input: 'in',
    identity: extra.identity ?? 'file-a',
    end: (i + 1) * 1000,
  };
  if (extra.internal) meta.internal = true;
  return { payload: Buffer.from(body), meta };
}

/** Reads everything from position 0 (or p). */
export async function readAll(q: DiskQueue, from = 0n) {
  const out = [];
  let p = from;
  for (;;) {
    const batch = await q.readFrom(p, 64 * 1024);
    if (batch.length === 0) return out;
    out.push(...batch);
    p = (batch[batch.length - 1]?.id ?? p) + 1n;
  }
}

// ---------------------------------------------------------------- sealing helpers

export const TEST_KEY = Buffer.alloc(32, 0x5a);

/** The agent-start event's MSG in these tests: the declaration as JSON. */
export function startMsg(d: { previousSession?: string; lastSeq: bigint | null; lastChain: string }): string {
  return `logward start ${JSON.stringify({ previousSession: d.previousSession ?? null, lastSeq: d.lastSeq === null ? null : String(d.lastSeq), lastChain: d.lastChain })}`;
}

const SEALED_RE = / session="([0-9a-f]+)" seq="(\d+)" kid="([0-9a-f]+)" chain="([0-9a-f]{64})"\][^ ]* (.*)$/s;

/** Parses a message built by assembleByHand back into a verifier entry (what the verify CLI will do). */
export function parseSealed(payload: Buffer): SealedEntry {
  const m = SEALED_RE.exec(payload.toString('utf8'));
  if (!m) throw new Error(`not a sealed message: ${payload.toString().slice(0, 120)}`);
  const msg = m[5] as string;
  const e: SealedEntry = { session: m[1] as string, seq: BigInt(m[2] as string), kid: m[3] as string, chain: m[4] as string, msg };
  const lost = readLossText(msg, e.session, e.seq);
  if (lost) e.declaresLost = lost;
  if (msg.startsWith('logward start ')) {
    const d = JSON.parse(msg.slice('logward start '.length)) as { previousSession: string | null; lastSeq: string | null; lastChain: string };
    e.declares = { lastSeq: d.lastSeq === null ? null : BigInt(d.lastSeq), lastChain: d.lastChain };
    if (d.previousSession !== null) e.declares.previousSession = d.previousSession;
  }
  return e;
}

/** A promise and whether it has settled yet (without awaiting it). */
export function track<T>(p: Promise<T>): { p: Promise<T>; done: () => boolean } {
  let d = false;
  void p.then(
    () => (d = true),
    () => (d = true),
  );
  return { p, done: () => d };
}
