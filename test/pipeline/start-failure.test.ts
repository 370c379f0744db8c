/**
 * `logward run` when the pipeline fails to start after the sink has started (shipped code, no
 * test seam): a journald input's directory is gone (`logward check` only warns about it: it may
 * appear later). A metrics port held by another process is no such failure: logs are shipped and
 * an alert says so. A SIGTERM while start still waits stops it. Everything started so far
 * (sink connection, sources and their watchers, the queue, timers) must be released: the process
 * exits on its own, with one line saying why and a nonzero code, and the next start on the same
 * state works. Before the fix it printed a stack, kept its sink and watchers running, and stayed
 * up until a second SIGTERM (the first one only ended the wait nobody was in any more).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';

import { EXIT_START_FAILED } from '../../src/commands/run.js';
import { AgentProcess, type AgentEnv, makeAgentEnv, TestReceiver, until, verifiedReceived, writeAgentConfig } from '../helpers/agent.js';

const root = mkdtempSync(join(tmpdir(), 'logward-start-fail-'));
const agents: AgentProcess[] = [];
after(async () => {
  // A test that failed (the agent hung) must not leave its process behind.
  for (const a of agents) await a.stop('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function agent(config: string): AgentProcess {
  const a = new AgentProcess(config);
  agents.push(a);
  return a;
}

function lines(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `app line ${i} user=alice action=login\n`;
  return s;
}

function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const a = server.address();
      if (a === null || typeof a === 'string') reject(new Error('no port'));
      else resolve({ server, port: a.port });
    });
  });
}

/** The plain lines the command printed (not the agent's JSON log). */
function plainLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('logward: '));
}

function assertExitedOnItsOwn(res: { code: number | null; signal: NodeJS.Signals | null }, stderr: string, cause: RegExp): void {
  assert.equal(res.signal, null, `ended by ${String(res.signal)}, not on its own:\n${stderr.slice(-3000)}`);
  assert.equal(res.code, EXIT_START_FAILED, stderr.slice(-3000));
  const plain = plainLines(stderr);
  assert.equal(plain.length, 1, `one plain line, got:\n${plain.join('\n')}\n${stderr.slice(-3000)}`);
  assert.match(plain[0] ?? '', /^logward: cannot start: /);
  assert.match(plain[0] ?? '', cause);
  // What had started (the sink comes before either failing step) was stopped, not abandoned.
  assert.match(stderr, /"msg":"logward stopped"/);
  // Exited because nothing was left running, not through the backstop timer.
  assert.doesNotMatch(stderr, /event loop still busy/);
}

test('the metrics port is taken: logs are shipped anyway, an alert says so, and the endpoint binds once the port is free', { timeout: 120_000 }, async () => {
  // A local user who binds the port first must not be able to keep the agent down: the endpoint is
  // a view on the agent, not part of what it guarantees.
  const env = await makeAgentEnv(join(root, 'port'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const held = await holdPort();
  writeFileSync(join(env.logs, 'app.log'), lines(0, 200));
  const config = writeAgentConfig(env, port, { monitoring: `{ metrics: { listen: "127.0.0.1:${held.port}" } }` });

  const a = agent(config);
  await a.waitForLog(/logward started/);
  await until(() => new Set(receiver.originals()).size >= 200, 'all 200 lines with the port taken');
  await until(() => receiver.actions().includes('metrics_endpoint_unavailable'), 'the alert');
  await new Promise<void>((resolve) => held.server.close(() => resolve()));
  await a.waitForLog(/metrics endpoint listening/, 90_000);
  assert.equal((await a.stop('SIGTERM')).code, 0, a.stderr.slice(-3000));
  await receiver.stop();
  const v = await verifiedReceived(receiver, env.keyFile);
  assert.equal(v.ok, true, JSON.stringify(v.findings, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
});

/** Why a small tmpfs cannot be mounted here (not root, no CAP_SYS_ADMIN), or undefined when it can. */
function tmpfsUnavailable(dir: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.error) return `cannot run mount: ${r.error.message}`;
  if (r.status !== 0) return `mount -t tmpfs failed: ${r.stderr.trim()}`;
  return undefined;
}

/** Runs `fn` with an agent environment whose state directory is a fresh 4 MiB tmpfs (skips the test when none can be mounted). */
async function withSmallStateDisk(t: TestContext, name: string, fn: (env: AgentEnv, mnt: string) => Promise<void>): Promise<void> {
  const env = await makeAgentEnv(join(root, name));
  const mnt = join(root, `${name}-state`);
  const why = tmpfsUnavailable(mnt);
  if (why) {
    t.skip(`needs a small tmpfs to fill: ${why}`);
    return;
  }
  try {
    env.state = mnt;
    await fn(env, mnt);
  } finally {
    spawnSync('umount', ['-l', mnt]);
  }
}

test('SIGTERM while start waits for the start event on a full disk: the agent stops within its grace', { timeout: 120_000 }, (t) =>
  withSmallStateDisk(t, 'full', async (env, mnt) => {
    const receiver = new TestReceiver(env);
    const port = await receiver.start();
    after(() => receiver.stop());
    writeFileSync(join(env.logs, 'app.log'), lines(0, 20));
    const config = writeAgentConfig(env, port);
    const first = agent(config);
    await first.waitForLog(/logward started/);
    await until(() => receiver.originals().length >= 20, 'the first 20 lines');
    assert.equal((await first.stop('SIGTERM')).code, 0, first.stderr.slice(-3000));
    spawnSync('sh', ['-c', `dd if=/dev/zero of=${mnt}/filler bs=64k 2>/dev/null; true`]);
    // The destination away too: nothing the sink delivers can free the disk, so the start stays stuck.
    await receiver.stop();
    const second = agent(config);
    // The queue's own word that it waits for space, and no start yet: the SIGTERM below meets a
    // start that is stuck (the pid file's ENOSPC comes earlier and proves nothing).
    await second.waitForLog(/Disk queue cannot write \(ENOSPC/, 60_000);
    assert.doesNotMatch(second.stderr, /"msg":"logward started"/);
    second.child.kill('SIGTERM');
    const res = await second.exited;
    assert.equal(res.signal, null, `ended by a signal: ${second.stderr.slice(-3000)}`);
    assert.equal(res.code, 0, second.stderr.slice(-3000));
  }),
);

// A SIGHUP comes from logrotate's postrotate every day: a reload's start is the start most likely to
// meet a full disk. runDaemon waits for a running reload before it stops, and nothing stopped the
// reload's pipeline, so SIGTERM was ignored until the service manager's SIGKILL (found by review).
test('SIGTERM while a reload start waits for its start event on a full disk: the agent stops within its grace', { timeout: 120_000 }, (t) =>
  withSmallStateDisk(t, 'reload-full', async (env, mnt) => {
    const receiver = new TestReceiver(env);
    const port = await receiver.start();
    writeFileSync(join(env.logs, 'app.log'), lines(0, 20));
    const config = writeAgentConfig(env, port, { shutdownGrace: '2s' });
    const a = agent(config);
    await a.waitForLog(/"msg":"logward started"/);
    await until(() => receiver.originals().length >= 20, 'the first 20 lines');
    await receiver.stop(); // the destination away: nothing the sink sends can free the disk
    spawnSync('sh', ['-c', `dd if=/dev/zero of=${mnt}/filler bs=64k 2>/dev/null; true`]);

    const mark = a.stderr.length;
    a.child.kill('SIGHUP');
    // The old pipeline stopped and the fresh one waits for space for its start event.
    await until(
      () => {
        const s = a.stderr.slice(mark);
        const stopped = s.search(/"msg":"logward stopped"/);
        return stopped !== -1 && /Disk queue cannot write \(ENOSPC/.test(s.slice(stopped));
      },
      'the reload start waiting on the full disk',
      60_000,
    );
    assert.doesNotMatch(a.stderr.slice(mark), /"msg":"logward started"/);
    a.child.kill('SIGTERM');
    // A stop that never comes fails through the test's timeout, not a clock here.
    const res = await a.exited;
    assert.equal(res.signal, null, a.stderr.slice(-3000));
    assert.equal(res.code, 0, a.stderr.slice(-3000));
  }),
);

// Only what the sink delivers frees that disk; a start that wrote its start event before starting
// the sink waited for space for ever (until systemd's stop), shipping nothing.
test('a start on a disk the queue itself filled during an outage finishes once the destination is back, and loses nothing', { timeout: 180_000 }, (t) =>
  withSmallStateDisk(t, 'self-full', async (env, mnt) => {
    const receiver = new TestReceiver(env);
    const port = await receiver.start();
    await receiver.stop(); // the destination is away: the queue grows until the disk is full
    const total = 6000;
    const pad = 'x'.repeat(120);
    let text = '';
    for (let i = 0; i < total; i++) text += `app line ${i} user=alice action=login ${pad}\n`;
    writeFileSync(join(env.logs, 'app.log'), text);
    const config = writeAgentConfig(env, port, { shutdownGrace: '2s' });

    const first = agent(config);
    await first.waitForLog(/Disk queue cannot write \(ENOSPC/, 90_000);
    assert.equal((await first.stop('SIGTERM')).code, 0, first.stderr.slice(-3000));
    // Stopping gave back the few KiB of the writes it cancelled: take them, so the backlog is what fills the disk.
    spawnSync('sh', ['-c', `dd if=/dev/zero of=${mnt}/slack bs=4k 2>/dev/null; true`]);

    await receiver.start(port);
    after(() => receiver.stop());
    const second = agent(config);
    await second.waitForLog(/"msg":"logward started"/, 90_000);
    // The start met the full disk (else this test proves nothing): the queue said so before it started.
    const full = second.stderr.search(/Disk queue cannot write \(ENOSPC/);
    assert.ok(full !== -1 && full < second.stderr.search(/"msg":"logward started"/), `the second start never met a full disk:\n${second.stderr.slice(-3000)}`);
    await until(() => new Set(receiver.originals()).size >= total, `all ${total} lines`, 120_000);
    // The full-disk alert raised while the start waited is shipped, after the start event that anchors its session.
    const actions = receiver.actions();
    const started = actions.lastIndexOf('agent_started');
    assert.ok(started !== -1 && actions.indexOf('queue_disk_full', started) > started, actions.join(' '));
    assert.equal((await second.stop('SIGTERM')).code, 0, second.stderr.slice(-3000));
    await receiver.stop();
    const v = await verifiedReceived(receiver, env.keyFile);
    assert.equal(v.ok, true, JSON.stringify(v.findings, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
  }),
);

test("a journald input's directory is missing (check only warns): run stops the file input and the sink it started, exits 1 with one line", { timeout: 120_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'journal'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  writeFileSync(join(env.logs, 'app.log'), lines(0, 50));
  const missing = join(env.dir, 'no-journal-here');
  const config = writeAgentConfig(env, port, {
    inputs: `  - id: app
    type: file
    paths: ["${env.logs}/*.log"]
    start_at: beginning
  - id: journal
    type: journald
    directory: ${missing}`,
  });

  const a = agent(config);
  const res = await a.exited;
  assertExitedOnItsOwn(res, a.stderr, new RegExp(`${missing}|journalctl`));
  await receiver.stop();
});
