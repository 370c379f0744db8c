/**
 * Nothing of a session is sealed before its start event (4150ba9): an alert raised while start()
 * runs, before the start event is appended (the metrics port taken, a TLS failure), is held and
 * appended after it. (Before this test, removing the hold left every test green, including the
 * port-taken one that runs `logward verify`.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { parseRfc5424 } from '../../src/encode/rfc5424.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig } from '../helpers/agent.js';

const root = mkdtempSync(join(tmpdir(), 'logward-anchor-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('an alert raised before the start event (metrics port taken) is sealed after it: the start event is the session first record', { timeout: 60_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'a'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const held: Server = createServer();
  await new Promise<void>((r) => held.listen({ host: '127.0.0.1', port: 0, exclusive: true }, r));
  after(() => held.close());
  const mport = (held.address() as { port: number }).port;
  writeFileSync(join(env.logs, 'app.log'), 'app line 0\n');
  const config = await loadConfig(writeAgentConfig(env, port, { monitoring: `{ metrics: { listen: "127.0.0.1:${mport}" } }` }));
  const p = new Pipeline(config, { log: pino({ level: 'silent' }) });
  await p.start();
  try {
    await until(() => receiver.actions().includes('metrics_endpoint_unavailable'), 'the alert');
  } finally {
    await p.stop();
  }
  const seqs = receiver.records.map((r) => {
    const m = parseRfc5424(r);
    const ev = JSON.parse(m.msg ?? '{}') as { event?: { action?: string } };
    const seq = /seq="(\d+)"/.exec(r)?.[1];
    return { action: ev.event?.action, seq: BigInt(seq ?? '-1') };
  });
  seqs.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  assert.equal(seqs[0]?.action, 'agent_started', seqs.map((s) => `${s.seq}:${s.action}`).join(' '));
});
