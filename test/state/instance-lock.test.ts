/**
 * The instance lock, with real processes: the kernel state it relies on (a flock held through a
 * descriptor, a bound abstract socket name) belongs to processes, so the contenders are children.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';

import { acquireInstanceLock, InstanceLockedError, PID_FILE, type InstanceLockOptions, type LockMode } from '../../src/state/instance-lock.js';

const MODULE = fileURLToPath(new URL('../../src/state/instance-lock.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'logward-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));
const linux = process.platform === 'linux';
const hasFlock = ['/usr/bin/flock', '/bin/flock', '/usr/local/bin/flock'].some((p) => existsSync(p));

let n = 0;
function freshDir(): string {
  return join(root, `s${n++}`);
}

type Outcome = { ok: true; mode: LockMode; warnings: string[] } | { ok: false; name: string; pid: number | null; message: string };

/** A child that tries to take the lock, reports one JSON line, then holds it until killed (hold) or exits. */
class Contender {
  readonly child: ChildProcess;
  readonly outcome: Promise<Outcome>;
  readonly exited: Promise<number | null>;

  constructor(dir: string, opts: InstanceLockOptions, hold: boolean) {
    const code = `
      const { acquireInstanceLock, InstanceLockedError } = await import(${JSON.stringify(MODULE)});
      try {
        const lock = await acquireInstanceLock(${JSON.stringify(dir)}, ${JSON.stringify(opts)});
        process.stdout.write(JSON.stringify({ ok: true, mode: lock.mode, warnings: lock.warnings }) + '\\n');
        if (${hold}) setInterval(() => undefined, 1 << 30);
      } catch (err) {
        if (!(err instanceof InstanceLockedError)) throw err;
        process.stdout.write(JSON.stringify({ ok: false, name: err.name, pid: err.holderPid ?? null, message: err.message }) + '\\n');
        process.exitCode = 75;
      }`;
    this.child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    this.child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (c) => resolve(c)));
    this.outcome = new Promise((resolve, reject) => {
      this.child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as Outcome);
      });
      this.child.on('exit', (c) => reject(new Error(`contender exited ${c} without an outcome:\n${err}`)));
    });
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}

function abstractName(dir: string): string {
  return '\0logward-state-' + createHash('sha256').update(realpathSync(dir)).digest('hex');
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path }, () => resolve());
  });
}

const modes: { label: string; opts: InstanceLockOptions; mode: LockMode; skip: string | false }[] = [
  { label: 'flock', opts: {}, mode: 'flock', skip: hasFlock ? false : 'no flock(1) here' },
  { label: 'abstract socket (no flock(1))', opts: { flockCommand: null }, mode: 'abstract-socket', skip: linux ? false : 'Linux only' },
];

for (const m of modes) {
  describe(`instance lock: ${m.label}`, { skip: m.skip }, () => {
    test('held by this process: another process is refused with this pid; released, the other one gets it', async () => {
      const dir = freshDir();
      const lock = await acquireInstanceLock(dir, m.opts);
      assert.equal(lock.mode, m.mode);
      const pidFile = join(dir, PID_FILE);
      assert.equal(readFileSync(pidFile, 'latin1').split('\n')[0], String(process.pid));
      assert.equal(statSync(pidFile).mode & 0o777, 0o600);
      assert.equal(statSync(dir).mode & 0o777, 0o700, 'created 0700');

      const second = new Contender(dir, m.opts, false);
      const o = await second.outcome;
      assert.equal(o.ok, false);
      assert.ok(!o.ok);
      assert.equal(o.name, 'InstanceLockedError');
      assert.equal(o.pid, process.pid);
      assert.match(o.message, new RegExp(`state_dir ${dir} is in use by another logward \\(pid ${process.pid}\\)`));
      assert.equal(await second.exited, 75);
      // The refused one wrote nothing: the pid file is still ours.
      assert.equal(readFileSync(pidFile, 'latin1').split('\n')[0], String(process.pid));

      await lock.release();
      assert.equal(existsSync(pidFile), false, 'release removes the pid file');
      const third = new Contender(dir, m.opts, false);
      const o3 = await third.outcome;
      assert.equal(o3.ok, true);
      assert.equal(await third.exited, 0);
      assert.equal(existsSync(pidFile), false, 'a holder that exits removes its pid file');
    });

    test('in the same process, a second acquire is refused too', async () => {
      const dir = freshDir();
      const lock = await acquireInstanceLock(dir, m.opts);
      await assert.rejects(acquireInstanceLock(dir, m.opts), (err: unknown) => err instanceof InstanceLockedError && err.holderPid === process.pid);
      await lock.release();
      await (await acquireInstanceLock(dir, m.opts)).release();
    });

    test('a SIGKILLed holder leaves no lock behind: the next one starts at once', async () => {
      const dir = freshDir();
      const holder = new Contender(dir, m.opts, true);
      assert.equal((await holder.outcome).ok, true);
      const pid = holder.child.pid!;
      await assert.rejects(acquireInstanceLock(dir, m.opts), (err: unknown) => err instanceof InstanceLockedError && err.holderPid === pid);
      await holder.kill('SIGKILL');
      assert.equal(readFileSync(join(dir, PID_FILE), 'latin1').split('\n')[0], String(pid), 'a SIGKILL leaves the pid file');
      // No wall-time bound (shared machines): that it is not refused after the SIGKILL is the point.
      const lock = await acquireInstanceLock(dir, m.opts);
      assert.equal(lock.mode, m.mode);
      assert.equal(readFileSync(join(dir, PID_FILE), 'latin1').split('\n')[0], String(process.pid), 'the stale pid file is rewritten');
      await lock.release();
    });

    test('six started at once: exactly one wins, the others name it', async () => {
      const dir = freshDir();
      mkdirSync(dir, { mode: 0o700 });
      const all = Array.from({ length: 6 }, () => new Contender(dir, m.opts, true));
      try {
        const outcomes = await Promise.all(all.map((c) => c.outcome));
        const winners = all.filter((_c, i) => outcomes[i]!.ok);
        assert.equal(winners.length, 1, JSON.stringify(outcomes));
        for (const o of outcomes) if (!o.ok) assert.equal(o.pid, winners[0]!.child.pid);
      } finally {
        await Promise.all(all.map((c) => c.kill('SIGKILL')));
      }
    });
  });
}

describe('instance lock: fallbacks', () => {
  test('flock(1) missing: the abstract socket, with a warning saying what it does not cover', { skip: !linux }, async () => {
    const dir = freshDir();
    const lock = await acquireInstanceLock(dir, { flockCommand: join(root, 'no-such-flock') });
    try {
      assert.equal(lock.mode, 'abstract-socket');
      assert.match(lock.warnings.join(' | '), /not found.*abstract Unix socket.*network namespace/);
    } finally {
      await lock.release();
    }
  });

  test('flock(1) failing for another reason (NFS: EBADF) is not taken for "held"', { skip: !linux }, async () => {
    const dir = freshDir();
    const fake = join(root, 'flock-ebadf');
    writeFileSync(fake, '#!/bin/sh\necho "flock: 3: Bad file descriptor" >&2\nexit 65\n');
    chmodSync(fake, 0o755);
    const lock = await acquireInstanceLock(dir, { flockCommand: fake });
    try {
      assert.equal(lock.mode, 'abstract-socket');
      assert.match(lock.warnings[0] ?? '', /cannot flock the state directory \(.*exited 65: flock: 3: Bad file descriptor\)/);
    } finally {
      await lock.release();
    }
  });

  test('another user squatting the abstract name cannot keep the agent down: it runs, unlocked, and says so', { skip: !linux }, async () => {
    const dir = freshDir();
    mkdirSync(dir, { mode: 0o700 });
    // Anyone can bind an abstract name (no permissions); this one even answers like an agent.
    const squatter = createServer((s) => s.end(`logward 1 ${'0'.repeat(64)}\n`));
    await listen(squatter, abstractName(dir));
    try {
      const lock = await acquireInstanceLock(dir, { flockCommand: null, answerTimeoutMs: 300 });
      assert.equal(lock.mode, 'none');
      assert.match(lock.warnings.join(' | '), /bound by a process that is not the logward of this state directory \(its answer does not prove it\)/);
      await lock.release();
    } finally {
      squatter.close();
    }
  });

  test('no flock(1) off Linux: no lock, a warning, no crash', async () => {
    const dir = freshDir();
    const lock = await acquireInstanceLock(dir, { flockCommand: null, platform: 'darwin' });
    assert.equal(lock.mode, 'none');
    assert.match(lock.warnings.join(' | '), /no instance lock on darwin without flock\(1\)/);
    assert.equal(readFileSync(join(dir, PID_FILE), 'latin1').split('\n')[0], String(process.pid));
    await lock.release();
  });
});

/** Resolves once `flock … sh -c 'echo held; …'` holds the lock; fails with what it said if it exits first. */
function holding(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('held')) resolve();
    });
    child.on('close', (code) => reject(new Error(`the lock holder exited ${code}: ${err}`)));
  });
}

test('a process that is no agent holding a flock on the state directory (a descriptor opened while it was readable) does not keep the agent down: it runs, without the lock, and says so', { skip: hasFlock ? false : 'no flock(1) here' }, async () => {
  const dir = freshDir();
  mkdirSync(dir, { mode: 0o700 });
  // flock(1) opens the directory itself and holds the lock while its command runs; it writes no pid file.
  const squatter = spawn('flock', ['-n', dir, 'sh', '-c', 'echo held; exec sleep 30'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await holding(squatter);
    const lock = await acquireInstanceLock(dir, { holderWaitMs: 200 });
    assert.equal(lock.mode, 'none');
    assert.match(lock.warnings.join('\n'), /flocked by a process that is not a running logward/);
    assert.equal(readFileSync(join(dir, PID_FILE), 'latin1').split('\n')[0], String(process.pid));
    await lock.release();
  } finally {
    squatter.kill('SIGKILL');
  }
});

test('a holder slow to write its pid file (a loaded disk at boot) is still an agent: the newcomer waits for it and is refused, it does not start beside it', { skip: hasFlock ? false : 'no flock(1) here' }, async () => {
  const dir = freshDir();
  mkdirSync(dir, { mode: 0o700 });
  // Holds the lock, names itself only 1.5 s later (the shell's pid stays alive while it sleeps).
  const holder = spawn('flock', ['-n', dir, 'sh', '-c', `echo held; sleep 1.5; echo $$ > ${join(dir, PID_FILE)}; sleep 30`], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await holding(holder);
    await assert.rejects(acquireInstanceLock(dir), (err: unknown) => err instanceof InstanceLockedError && typeof err.holderPid === 'number');
  } finally {
    holder.kill('SIGKILL');
  }
});
