/** Test helpers for the queue and seal tests: temp dirs, a crash-injecting fs, a hand-built RFC 5424 assembler. */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  /** write only: the whole buffer reaches the file before the call fails (a write whose completion was lost). */
  written?: boolean;
  /** Called when it fires, before the call fails (the group is in flight then). */
  onFire?: () => void;
}

/**
 * Wraps the real fs. Every mutating call is a numbered step; at step `crashAt`
 * the call does not happen (a write happens halfway: a torn write) and it and
 * every later call throw SimulatedCrash. `enospc` makes the next n writes fail
 * with ENOSPC (nothing written) — a full disk. `capacity` models a small
 * disk holding one directory: a write that would need more blocks than are
 * free fails with ENOSPC until files are removed. `fail(...)` injects other
 * I/O errors (EIO on a segment's fsync, ...); the process lives on.
 */
export class CrashFs implements QueueFs {
  steps = 0;
  crashed = false;
  enospc = 0;
  log: string[] = [];
  faults: Fault[] = [];
  /** Injected faults that fired, as "op path". */
  fired: string[] = [];
  /** A disk of `bytes` (4 KiB blocks) holding only `dir` (see diskUsed). */
  capacity: { dir: string; bytes: number } | null = null;
  private paths = new Map<number, string>();
  constructor(public crashAt = Infinity) {}

  /** Arms an injected I/O error (default: the next segment write/fsync/ftruncate fails once with EIO). */
  fail(op: Fault['op'], extra: Partial<Omit<Fault, 'op'>> = {}): void {
    this.faults.push({ ...extra, op, code: extra.code ?? 'EIO', times: extra.times ?? 1, path: extra.path ?? /seg-\d+\.lwq$/ });
  }

  private fault(op: Fault['op'], fd: number): Fault | undefined {
    if (this.crashed) return undefined;
    const path = this.paths.get(fd) ?? '';
    const f = this.faults.find((x) => x.op === op && x.times > 0 && (x.path === undefined || x.path.test(path)));
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

  private step(what: string): boolean {
    if (this.crashed) throw new SimulatedCrash('dead');
    this.steps++;
    this.log.push(what);
    if (this.steps >= this.crashAt) {
      this.crashed = true;
      return true;
    }
    return false;
  }
  private alive(): void {
    if (this.crashed) throw new SimulatedCrash('dead');
  }

  mkdir = async (p: string, m: number): Promise<void> => {
    if (this.step('mkdir')) throw new SimulatedCrash('mkdir');
    return nodeFs.mkdir(p, m);
  };
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
      return nodeFs.open(p, flags, mode);
    }
    if (this.step(`open ${flags}`)) throw new SimulatedCrash('open');
    const fd = await nodeFs.open(p, flags, mode);
    this.paths.set(fd, p);
    return fd;
  };
  write = async (fd: number, buf: Buffer, position?: number): Promise<void> => {
    if (this.enospc > 0 && !this.crashed) {
      this.enospc--;
      const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
      e.code = 'ENOSPC';
      throw e;
    }
    if (this.noRoom(fd, buf.length, position)) throw CrashFs.ioError('ENOSPC', 'write');
    const f = this.fault('write', fd);
    if (f) {
      if (f.written) await nodeFs.write(fd, buf, position);
      throw CrashFs.ioError(f.code, 'write');
    }
    if (this.step('write')) {
      if (buf.length > 1) await nodeFs.write(fd, buf.subarray(0, Math.floor(buf.length / 2)), position);
      throw new SimulatedCrash('write');
    }
    return nodeFs.write(fd, buf, position);
  };
  read = async (fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> => {
    this.alive();
    return nodeFs.read(fd, buf, off, len, pos);
  };
  fsync = async (fd: number): Promise<void> => {
    const f = this.fault('fsync', fd);
    if (f) throw CrashFs.ioError(f.code, 'fsync');
    if (this.step('fsync')) throw new SimulatedCrash('fsync');
    return nodeFs.fsync(fd);
  };
  ftruncate = async (fd: number, len: number): Promise<void> => {
    const f = this.fault('ftruncate', fd);
    if (f) throw CrashFs.ioError(f.code, 'ftruncate');
    if (this.step('ftruncate')) throw new SimulatedCrash('ftruncate');
    return nodeFs.ftruncate(fd, len);
  };
  close = async (fd: number): Promise<void> => {
    // Closing never loses data; a dead process's descriptors are closed by the kernel.
    return nodeFs.close(fd);
  };
  rename = async (a: string, b: string): Promise<void> => {
    if (this.step('rename')) throw new SimulatedCrash('rename');
    return nodeFs.rename(a, b);
  };
  unlink = async (p: string): Promise<void> => {
    if (this.step('unlink')) throw new SimulatedCrash('unlink');
    return nodeFs.unlink(p);
  };
  chmod = async (p: string, m: number): Promise<void> => {
    if (this.step('chmod')) throw new SimulatedCrash('chmod');
    return nodeFs.chmod(p, m);
  };
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
