/**
 * `logward run` when the pipeline fails to start after the sink has started (shipped code, no
 * test seam): the metrics port is held by another process, or a journald input's directory is
 * gone (`logward check` only warns about it: it may appear later). Everything started so far
 * (sink connection, sources and their watchers, the queue, timers) must be released: the process
 * exits on its own, with one line saying why and a nonzero code, and the next start on the same
 * state works. Before the fix it printed a stack, kept its sink and watchers running, and stayed
 * up until a second SIGTERM (the first one only ended the wait nobody was in any more).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { EXIT_START_FAILED } from '../../src/commands/run.js';
import { AgentProcess, makeAgentEnv, TestReceiver, until, verifiedReceived, writeAgentConfig } from '../helpers/agent.js';

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

test('the metrics port is taken: run releases the sink, sources and queue it started, exits 1 with one line, and the next start works', { timeout: 120_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'port'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const held = await holdPort();
  writeFileSync(join(env.logs, 'app.log'), lines(0, 200));
  const config = writeAgentConfig(env, port, { monitoring: `{ metrics: { listen: "127.0.0.1:${held.port}" } }` });

  const first = agent(config);
  const res = await first.exited;
  assertExitedOnItsOwn(res, first.stderr, /EADDRINUSE/);
  // What the failed start put in the queue (its start event, lines the source read) is not lost.
  await new Promise<void>((resolve) => held.server.close(() => resolve()));

  const second = agent(config);
  await second.waitForLog(/logward started/);
  await until(() => new Set(receiver.originals()).size >= 200, 'all 200 lines after the restart');
  assert.equal((await second.stop('SIGTERM')).code, 0, second.stderr.slice(-3000));
  await receiver.stop();
  const v = await verifiedReceived(receiver, env.keyFile);
  assert.equal(v.ok, true, JSON.stringify(v.findings, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
});

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
