/**
 * Two `logward run` on one state_dir, as real processes (the audit's reproduction, through the
 * command line): the second is refused before it touches the directory, the first goes on as if
 * nothing happened, also across a reload; after a SIGKILL of the first a new one starts at once.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { EXIT_ALREADY_RUNNING } from '../../src/commands/run.js';
import { PID_FILE } from '../../src/state/instance-lock.js';
import { AgentProcess, makeAgentEnv, sleep, TestReceiver, until, writeAgentConfig, verifiedReceived } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'logward-run-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));

function lines(prefix: string, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `${prefix} line ${i} user=alice action=login\n`;
  return s;
}

/** Every file under the state directory: name, size, mtime and content hash. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        out[p.slice(dir.length)] = `${st.size} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
      }
    }
  };
  walk(dir);
  return out;
}

/** The agent is idle (everything read, sent, acknowledged): its state stops changing. */
async function quiet(dir: string): Promise<Record<string, string>> {
  let prev = snapshot(dir);
  for (let i = 0; i < 100; i++) {
    await sleep(300);
    const now = snapshot(dir);
    if (JSON.stringify(now) === JSON.stringify(prev)) return now;
    prev = now;
  }
  throw new Error('the state directory never settled');
}

test('a second agent on the same state_dir is refused before it touches it; the first keeps running, across a reload; after a SIGKILL a new one starts at once', { timeout: 180_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'two'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const config = writeAgentConfig(env, port);
  const log = join(env.logs, 'app.log');
  writeFileSync(log, lines('a', 0, 500));

  const first = new AgentProcess(config);
  await first.waitForLog(/logward started/);
  await until(() => receiver.originals().length >= 500, 'the first 500 lines');
  assert.equal(readFileSync(join(env.state, PID_FILE), 'latin1').split('\n')[0], String(first.child.pid));
  await quiet(env.state);
  // Frozen while the second one runs, so that any change in the directory can only be the second's
  // (a running first agent still writes checkpoints and cursors on its own schedule).
  first.child.kill('SIGSTOP');
  const before = snapshot(env.state);
  let second: Awaited<ReturnType<typeof runCli>>;
  let after: Record<string, string>;
  try {
    second = await runCli(['run', '-c', config]);
    after = snapshot(env.state);
  } finally {
    first.child.kill('SIGCONT');
  }
  assert.equal(second.code, EXIT_ALREADY_RUNNING, second.stderr);
  // One line, and nothing else: no start, no pipeline log.
  assert.match(second.stderr, new RegExp(`^logward: state_dir ${env.state} is in use by another logward \\(pid ${first.child.pid}\\); refusing to start[^\n]*\n$`));
  assert.deepEqual(after, before, 'the refused agent wrote nothing in the state directory');
  assert.deepEqual(receiver.actions(), ['agent_started'], 'no second start event');

  // The lock is the process's, not the pipeline's: a reload (pipeline restarted in-process) keeps it.
  first.child.kill('SIGHUP');
  await first.waitForLog(/configuration reloaded/);
  const third = await runCli(['run', '-c', config]);
  assert.equal(third.code, EXIT_ALREADY_RUNNING, third.stderr);
  assert.match(third.stderr, new RegExp(`\\(pid ${first.child.pid}\\)`));

  // The first is unharmed: new lines arrive, in order, once.
  appendFileSync(log, lines('a', 500, 1000));
  await until(() => new Set(receiver.originals()).size >= 1000, 'lines after the refusals');
  assert.equal(first.child.exitCode, null, 'the first agent still runs');

  // A crash leaves no lock behind: a new agent starts at once, no stale lock to clear.
  await first.stop('SIGKILL');
  // Started, not refused (a stale lock would exit 75 before this line is logged).
  const next = new AgentProcess(config);
  await next.waitForLog(/logward started/);
  appendFileSync(log, lines('a', 1000, 1500));
  await until(() => new Set(receiver.originals()).size >= 1500, 'lines after the restart');
  assert.equal((await next.stop('SIGTERM')).code, 0, next.stderr.slice(-3000));
  await receiver.stop();

  const got = new Set(receiver.originals());
  for (let i = 0; i < 1500; i++) assert.ok(got.has(`a line ${i} user=alice action=login`), `line ${i}`);
  const v = await verifiedReceived(receiver, env.keyFile);
  assert.equal(v.ok, true, JSON.stringify(v.findings, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
  assert.ok(v.sessions >= 2);
  assert.equal(statSync(join(env.state, PID_FILE), { throwIfNoEntry: false }), undefined, 'a clean stop removes the pid file');
});
