import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { AgentProcess, makeAgentEnv, TestReceiver, until, writeAgentConfig, sleep, verifiedReceived } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'logward-run-'));
after(() => rmSync(root, { recursive: true, force: true }));

function lines(prefix: string, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `${prefix} line ${i} password=hunter${i}\n`;
  return s;
}

test('run tails files into a TLS receiver: every line once, in order, redacted, sealed; SIGTERM exits 0', async () => {
  const env = await makeAgentEnv(join(root, 'basic'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  writeFileSync(join(env.logs, 'a.log'), lines('a', 0, 500));
  const agent = new AgentProcess(writeAgentConfig(env, port));
  await agent.waitForLog(/logward started/);
  appendFileSync(join(env.logs, 'a.log'), lines('a', 500, 1000));
  writeFileSync(join(env.logs, 'b.log'), lines('b', 0, 300));
  await until(() => receiver.originals().length >= 1300, '1300 events');
  const { code } = await agent.stop('SIGTERM');
  assert.equal(code, 0, agent.stderr.slice(-3000));
  await receiver.stop();

  const got = receiver.originals();
  const a = got.filter((l) => l.startsWith('a '));
  const b = got.filter((l) => l.startsWith('b '));
  assert.equal(a.length, 1000);
  assert.equal(b.length, 300);
  a.forEach((l, i) => assert.equal(l, `a line ${i} password=[REDACTED:password]`));
  b.forEach((l, i) => assert.equal(l, `b line ${i} password=[REDACTED:password]`));
  assert.ok(!receiver.records.some((r) => r.includes('hunter')), 'no secret reached the receiver');
  assert.deepEqual(receiver.actions(), ['agent_started', 'agent_stopped']);
  const v = await verifiedReceived(receiver, env.keyFile);
  assert.equal(v.ok, true, JSON.stringify(v.findings, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
});

test('receiver down while lines are written, then back: everything delivered, duplicates only from the resend window', async () => {
  const env = await makeAgentEnv(join(root, 'outage'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const agent = new AgentProcess(writeAgentConfig(env, port));
  await agent.waitForLog(/logward started/);
  appendFileSync(join(env.logs, 'a.log'), lines('a', 0, 200));
  await until(() => receiver.originals().length >= 200, 'first 200');
  await receiver.stop();
  appendFileSync(join(env.logs, 'a.log'), lines('a', 200, 5000));
  await sleep(1500);
  await receiver.start(port);
  await until(() => new Set(receiver.originals()).size >= 5000, 'all 5000 after the outage', 90_000);
  assert.equal((await agent.stop('SIGTERM')).code, 0);
  await receiver.stop();

  const got = receiver.originals();
  const distinct = new Set(got);
  assert.equal(distinct.size, 5000);
  // Order per file holds for the first copy of every line.
  const firstSeen: string[] = [];
  const seen = new Set<string>();
  for (const l of got) {
    if (seen.has(l)) continue;
    seen.add(l);
    firstSeen.push(l);
  }
  firstSeen.forEach((l, i) => assert.equal(l, `a line ${i} password=[REDACTED:password]`));
  // Duplicates come only from the resend window replayed after the reconnect: lines sent before
  // the outage (the first 200, plus whatever was in flight), never from after it.
  const copies = new Map<string, number>();
  for (const l of got) copies.set(l, (copies.get(l) ?? 0) + 1);
  const duplicated = [...copies].filter(([, n]) => n > 1).map(([l]) => Number(/line (\d+)/.exec(l)![1]));
  assert.ok(duplicated.every((i) => i < 200 + 64), `duplicated lines beyond the window: ${duplicated.filter((i) => i >= 264).slice(0, 5).join(', ')}`);
  assert.ok([...copies.values()].every((n) => n <= 2), 'a line replayed more than once');
  const v = await verifiedReceived(receiver, env.keyFile);
  assert.equal(v.ok, true, JSON.stringify(v.findings, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
});

test('agent SIGKILLed mid-stream and restarted: no line lost, the restart is declared', async () => {
  const env = await makeAgentEnv(join(root, 'kill'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const config = writeAgentConfig(env, port);
  writeFileSync(join(env.logs, 'a.log'), lines('a', 0, 20000));
  let agent = new AgentProcess(config);
  await until(() => receiver.originals().length >= 3000, 'some lines before the kill');
  await agent.stop('SIGKILL');
  appendFileSync(join(env.logs, 'a.log'), lines('a', 20000, 25000));
  agent = new AgentProcess(config);
  await until(() => new Set(receiver.originals()).size >= 25000, 'all 25000 after restart', 120_000);
  assert.equal((await agent.stop('SIGTERM')).code, 0);
  await receiver.stop();
  assert.equal(new Set(receiver.originals()).size, 25000);
  const v = await verifiedReceived(receiver, env.keyFile);
  assert.equal(v.ok, true, JSON.stringify(v.findings, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
  assert.ok(v.sessions >= 2);
});

test('an invalid config exits 2 with one line per problem', async () => {
  const env = await makeAgentEnv(join(root, 'badcfg'));
  const file = writeAgentConfig(env, 1, { output: '  bogus_key: 1' });
  const r = await runCli(['run', '-c', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /output\.bogus_key/);
});

test('SIGTERM during an outage with a full queue (when_full: block) exits within the grace, and a restart delivers every line', { timeout: 180_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'blocked'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  await receiver.stop(); // the destination is away from the start: nothing can drain
  const config = writeAgentConfig(env, port, {
    shutdownGrace: '3s',
    output: '  buffer: { max_bytes: 1MiB, when_full: block }\n  max_message_bytes: 16KiB',
    resendWindow: '{ bytes: 16KiB, age: 1s }',
  });
  writeFileSync(join(env.logs, 'a.log'), lines('a', 0, 4000)); // ~5 MB of events: far more than the queue holds
  let agent = new AgentProcess(config);
  await agent.waitForLog(/logward started/);
  await sleep(3000);
  const t0 = Date.now();
  const { code } = await agent.stop('SIGTERM');
  const took = Date.now() - t0;
  assert.equal(code, 0, agent.stderr.slice(-2000));
  assert.match(agent.stderr, /inputs still waiting for the queue after shutdown_grace/);
  assert.ok(took < 15_000, `stopped in ${took} ms, not waiting for the destination`);

  await receiver.start(port);
  agent = new AgentProcess(config);
  await until(() => new Set(receiver.originals()).size >= 4000, 'all 4000 lines after the restart', 120_000);
  assert.equal((await agent.stop('SIGTERM')).code, 0);
  await receiver.stop();
  const v = await verifiedReceived(receiver, env.keyFile);
  assert.equal(v.ok, true, JSON.stringify(v.findings, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
});
