/**
 * One agent per state directory. Two `logward run` on the same agent.state_dir
 * recover the same queue and append to the same segment, overwriting each
 * other's frames; the second must refuse before it touches anything there.
 *
 * The lock has to be released by the kernel when the holder dies (SIGKILL, OOM
 * kill) so that no stale lock ever blocks a restart, and taking it has to be
 * one atomic step so that two agents started at once cannot both win. A pid
 * file created with O_EXCL plus a liveness check meets neither: after a crash
 * the file stays, and "is that pid alive? no: delete the file and create mine"
 * is check-then-act (two newcomers both see the dead pid; one deletes the file
 * the other has just created, and both run), and a pid reused by an unrelated
 * process blocks the agent for good.
 *
 * Mechanisms, strongest first:
 *
 * 1. flock(2) on the state directory itself. Node has no flock(), but the
 *    lock belongs to the open file description, not to the process that
 *    asked: the directory is opened here (close-on-exec, as libuv opens
 *    everything) and handed to flock(1) (util-linux, or busybox) as fd 3;
 *    `flock -n 3` locks it and exits, and the lock stays held through this
 *    process's descriptor until it is closed, which the kernel does at exit.
 *    Holds across network and pid namespaces, bind mounts and symlinked paths
 *    (it is on the inode), needs no cleanup after a crash, and only someone
 *    who can open the 0700 directory (the service user, root) can take it.
 *    A directory that was readable by others once may still be open in some
 *    process, which could flock it: a busy lock stops this agent only when the
 *    pid file names a running process (else: a warning, and it runs). Locking
 *    the directory rather than a file in it means an operator who deletes a
 *    "stale" lock file cannot break it.
 * 2. Linux without flock(1) (a distroless image): a Unix socket bound to a
 *    name in the abstract namespace derived from the realpath of the state
 *    directory. bind() is atomic and the kernel frees the name when the
 *    process dies. Weaker: abstract names are per network namespace (an agent
 *    in another netns does not see it), a bind mount under another path gets
 *    another name, and abstract sockets have no permissions: any local user
 *    can bind the name first. So the holder proves itself: the newcomer sends
 *    a nonce, the holder answers with an HMAC of it under a token kept in the
 *    pid file (0600, in the 0700 state directory). A holder that cannot prove
 *    it is not taken for an agent: the newcomer warns and runs without a lock
 *    instead of letting any local user stop the shipping of security logs.
 * 3. Anything else (macOS without flock(1)): no lock, and a warning.
 *
 * Whatever the mechanism, the holder writes `logward.pid` (pid, then the proof
 * token) into the state directory for the refusal message and for tools; it
 * is removed at exit. It is information, never the lock: a stale one after a
 * crash is simply overwritten.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';

import { LogwardError, oneLine } from '../errors.js';
import { mkdirDurable, nodeFs } from '../queue/fs.js';
import { writeFileAtomic } from './atomic-file.js';

export type LockMode = 'flock' | 'abstract-socket' | 'none';

export const PID_FILE = 'logward.pid';

/** Where flock(1) is looked for before PATH: a service's PATH is whatever its manager set. */
const FLOCK_CANDIDATES = ['/usr/bin/flock', '/bin/flock', '/usr/local/bin/flock'];

export interface InstanceLock {
  readonly mode: LockMode;
  readonly stateDir: string;
  readonly pidFile: string;
  /** Why this lock is weaker than flock, one sentence each, for the log. Empty with flock. */
  readonly warnings: readonly string[];
  /** Gives the lock up and removes the pid file. Not needed at exit: the kernel releases it. */
  release(): Promise<void>;
}

/** Another agent holds the state directory. */
export class InstanceLockedError extends LogwardError {
  override readonly name = 'InstanceLockedError';
  constructor(
    readonly stateDir: string,
    /** The holder's pid as it recorded it (in its own pid namespace); undefined if it has not yet. */
    readonly holderPid: number | undefined,
    readonly mode: LockMode,
  ) {
    super(
      `state_dir ${stateDir} is in use by another logward (pid ${holderPid ?? 'unknown'}); refusing to start: ` +
        'stop that one first (two agents on one state directory would overwrite each other\'s queue)',
    );
  }
}

export interface InstanceLockOptions {
  /** flock(1) to run; null: behave as if it were not installed (tests of the fallbacks). */
  flockCommand?: string | null;
  /** Tests of the non-Linux path. */
  platform?: NodeJS.Platform;
  /** How long a holder may take to answer (abstract socket) or to write its pid file. */
  answerTimeoutMs?: number;
  /**
   * How long a busy flock's holder may take to name itself in the pid file before it is taken
   * for a non-agent (default 10 s: a holder writes it right after locking, but a loaded disk at
   * boot can make that slow, and giving up early would start a second agent beside it).
   */
  holderWaitMs?: number;
}

/**
 * Takes the state directory for this process, creating it (0700) if missing, or throws
 * InstanceLockedError. Nothing in the directory is written before the lock is held.
 */
export async function acquireInstanceLock(stateDir: string, opts: InstanceLockOptions = {}): Promise<InstanceLock> {
  const platform = opts.platform ?? process.platform;
  const timeoutMs = opts.answerTimeoutMs ?? 1000;
  const pidFile = join(stateDir, PID_FILE);
  // The same creation the pipeline does (its parent must exist): the directory is the lock's object.
  await mkdirDurable(nodeFs, stateDir, 0o700);
  const token = randomBytes(32);
  const warnings: string[] = [];

  const flockCommand = opts.flockCommand === undefined ? findFlock() : opts.flockCommand;
  if (flockCommand !== null) {
    const r = await flockDirectory(stateDir, flockCommand);
    if (r.kind === 'held') {
      await holdFor(pidFile, token, warnings);
      return lockObject('flock', stateDir, pidFile, warnings, () => closeFd(r.fd));
    }
    if (r.kind === 'busy') {
      // Anyone who could open the directory can flock it (a descriptor opened while it was still
      // readable by others stays valid after the chmod to 0700). Only a holder named by the pid
      // file, which only the holder writes right after locking, keeps this one from starting.
      const waitMs = opts.holderWaitMs ?? 10_000;
      const holder = await provenHolder(pidFile, waitMs);
      if (holder !== undefined) throw new InstanceLockedError(stateDir, holder, 'flock');
      warnings.push(
        `the state directory is flocked by a process that is not a running logward (no running process named in ${pidFile} within ${waitMs} ms): running without the instance lock; find it with fuser -v ${stateDir}`,
      );
      await holdFor(pidFile, token, warnings);
      return lockObject('none', stateDir, pidFile, warnings, () => Promise.resolve());
    }
    warnings.push(`cannot flock the state directory (${r.reason})`);
  } else {
    warnings.push('flock(1) not found (util-linux or busybox)');
  }

  if (platform === 'linux') {
    const r = await bindAbstract(stateDir, token, timeoutMs);
    if (r.kind === 'held') {
      warnings.push(
        'using an abstract Unix socket as the instance lock instead: an agent in another network namespace, or reaching this directory through a bind mount, is not seen',
      );
      await holdFor(pidFile, token, warnings);
      return lockObject('abstract-socket', stateDir, pidFile, warnings, () => closeServer(r.server));
    }
    if (r.kind === 'busy') throw new InstanceLockedError(stateDir, r.pid, 'abstract-socket');
    warnings.push(`no instance lock: ${r.reason}; a second agent on this state directory would not be stopped`);
  } else {
    warnings.push(`no instance lock on ${platform} without flock(1); a second agent on this state directory would not be stopped`);
  }
  await holdFor(pidFile, token, warnings);
  return lockObject('none', stateDir, pidFile, warnings, () => Promise.resolve());
}

function findFlock(): string {
  return FLOCK_CANDIDATES.find((p) => existsSync(p)) ?? 'flock';
}

type FlockResult = { kind: 'held'; fd: number } | { kind: 'busy' } | { kind: 'unavailable'; reason: string };

async function flockDirectory(stateDir: string, command: string): Promise<FlockResult> {
  // Read-only is enough for flock(2) on a local file system. libuv opens with O_CLOEXEC: the
  // descriptor (and so the lock) is not inherited by children such as journalctl, which could
  // otherwise keep it after this process died.
  const fd = openSync(stateDir, 'r');
  let keep = false;
  try {
    const r = await new Promise<{ code: number | null; stderr: string; error?: NodeJS.ErrnoException }>((resolve) => {
      const child = spawn(command, ['-n', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 4096) stderr += d.toString();
      });
      child.on('error', (error: NodeJS.ErrnoException) => resolve({ code: null, stderr, error }));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    if (r.error !== undefined) {
      return { kind: 'unavailable', reason: r.error.code === 'ENOENT' ? `${command} not found` : `${command}: ${r.error.message}` };
    }
    if (r.code === 0) {
      keep = true;
      return { kind: 'held', fd };
    }
    // With -n, util-linux and busybox both exit 1 without a word when the lock is taken; any
    // other failure (EBADF on NFS, where flock needs a writable descriptor) says why on stderr.
    if (r.code === 1 && r.stderr.trim() === '') return { kind: 'busy' };
    return { kind: 'unavailable', reason: `${command} exited ${r.code ?? 'by a signal'}: ${oneLine(r.stderr) || 'no message'}` };
  } finally {
    if (!keep) closeSync(fd);
  }
}

type BindResult = { kind: 'held'; server: Server } | { kind: 'busy'; pid: number | undefined } | { kind: 'unavailable'; reason: string };

async function bindAbstract(stateDir: string, token: Buffer, timeoutMs: number): Promise<BindResult> {
  const real = await realpath(stateDir);
  const name = '\0logward-state-' + createHash('sha256').update(real).digest('hex');
  const server = createServer((sock) => {
    // A nonce in, the proof out; nothing else is read and a silent client is dropped.
    sock.setTimeout(timeoutMs, () => sock.destroy());
    // A client that went away is no concern of the lock's.
    sock.on('error', () => sock.destroy());
    let got = '';
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const nl = got.indexOf('\n');
      if (nl >= 0) sock.end(`logward ${process.pid} ${proof(token, got.slice(0, nl))}\n`);
      else if (got.length > 256) sock.destroy();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: name }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The lock must not keep the event loop alive: the daemon ends when its work does.
    server.unref();
    // The name stays bound whatever happens to one connection; an error (EMFILE on accept) must
    // not become an uncaught exception that kills the agent.
    server.on('error', (err) => process.emitWarning(`instance lock socket: ${err.message}`));
    return { kind: 'held', server };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'EADDRINUSE') return { kind: 'unavailable', reason: `abstract socket: ${e.message}` };
  }
  // Someone has the name. An agent proves it with the token in its pid file; anyone else may have
  // bound it to keep the agent down.
  const nonce = randomBytes(16).toString('hex');
  const answer = await ask(name, nonce, timeoutMs);
  const m = /^logward (\d+) ([0-9a-f]{64})\n?$/.exec(answer ?? '');
  if (m !== null) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // The holder writes its pid file right after binding: give it that long.
      const rec = await readPidFile(join(stateDir, PID_FILE));
      if (rec?.token !== undefined && sameHex(proof(rec.token, nonce), m[2] ?? '')) return { kind: 'busy', pid: Number(m[1]) };
      if (Date.now() >= deadline) break;
      await sleep(25);
    }
  }
  return {
    kind: 'unavailable',
    reason: `the abstract socket name for ${real} is bound by a process that is not the logward of this state directory (${answer === undefined ? 'no answer' : 'its answer does not prove it'})`,
  };
}

function proof(token: Buffer, nonce: string): string {
  return createHmac('sha256', token).update(nonce).digest('hex');
}

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function ask(name: string, nonce: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let got = '';
    const sock = createConnection({ path: name });
    const done = (v: string | undefined): void => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(undefined));
    sock.on('connect', () => sock.write(nonce + '\n'));
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.length > 256) done(undefined);
    });
    sock.on('end', () => done(got));
    // Refused, reset: nothing that answers as an agent.
    sock.on('error', () => done(undefined));
  });
}

interface PidRecord {
  pid: number;
  token: Buffer | undefined;
}

async function readPidFile(file: string): Promise<PidRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'latin1');
  } catch (err) {
    // Not written yet, or already removed: the caller decides whether to wait.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parsePid(text);
}

function parsePid(text: string): PidRecord | undefined {
  const [pidLine, tokenLine] = text.split('\n');
  if (pidLine === undefined || !/^\d+$/.test(pidLine)) return undefined;
  return { pid: Number(pidLine), token: tokenLine !== undefined && /^[0-9a-f]{64}$/.test(tokenLine) ? Buffer.from(tokenLine, 'hex') : undefined };
}

/**
 * The pid of a running agent named by the pid file, waiting up to timeoutMs for one: a holder
 * that just took the lock writes it within milliseconds, and a file left by a killed agent is
 * rewritten by the new holder. undefined: no running agent claims the lock.
 */
async function provenHolder(pidFile: string, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rec = await readPidFile(pidFile);
    if (rec !== undefined && isRunning(rec.pid)) return rec.pid;
    if (Date.now() >= deadline) return undefined;
    await sleep(25);
  }
}

/**
 * The process exists. The pid file is written only by the lock's holder, in the 0700 directory,
 * so a squatter cannot name itself there; a file left by a killed agent names a dead pid (unless
 * the pid was reused meanwhile, the one case where a stale file still stops a start).
 */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const exitHooks = new Map<string, () => void>();

async function holdFor(pidFile: string, token: Buffer, warnings: string[]): Promise<void> {
  const content = `${process.pid}\n${token.toString('hex')}\n`;
  try {
    await writeFileAtomic(pidFile, content, 0o600);
  } catch (err) {
    // The lock is held; the pid file only serves messages and tools. Not a reason to stay down.
    warnings.push(`cannot write ${pidFile}: ${(err as Error).message}`);
    return;
  }
  // At exit, while the lock is still held (the kernel closes descriptors after 'exit' listeners
  // ran), so no successor's file is removed. A SIGKILL leaves the file: the next agent rewrites it.
  const hook = (): void => removePidFile(pidFile, content);
  exitHooks.set(pidFile, hook);
  process.once('exit', hook);
}

function removePidFile(pidFile: string, content: string): void {
  try {
    if (readFileSync(pidFile, 'latin1') === content) unlinkSync(pidFile);
  } catch (err) {
    // Gone already, or the directory went away: nothing to clean.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') process.emitWarning(`cannot remove ${pidFile}: ${(err as Error).message}`);
  }
}

function lockObject(mode: LockMode, stateDir: string, pidFile: string, warnings: readonly string[], unlock: () => Promise<void>): InstanceLock {
  let released = false;
  return {
    mode,
    stateDir,
    pidFile,
    warnings,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      const hook = exitHooks.get(pidFile);
      if (hook !== undefined) {
        exitHooks.delete(pidFile);
        process.off('exit', hook);
        // The pid file goes first: once unlocked, a successor may already have written its own.
        hook();
      }
      await unlock();
    },
  };
}

function closeFd(fd: number): Promise<void> {
  closeSync(fd);
  return Promise.resolve();
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
