/**
 * The agent's own reports of "last send" while a connection is open and shipping: `logward status`,
 * GET /status and the logward_last_send_timestamp_seconds gauge. An operator audit saw
 * "destination: connected to …, last send never" with 60,005 records at the receiver, and the
 * gauge's HELP line without a value: only a connection that had ended counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';

import pino from 'pino';

import { runStatus, EXIT_RUNNING } from '../../src/commands/status.js';
import { loadConfig } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig } from '../helpers/agent.js';

const root = mkdtempSync(join(tmpdir(), 'logward-last-send-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function fetchText(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

test('while connected and shipping, status, /status and the last-send gauge show the last write, not "never"', { timeout: 60_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'ship'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const mport = await freePort();
  const file = writeAgentConfig(env, port, { monitoring: `{ metrics: { listen: "127.0.0.1:${mport}" } }` });
  const config = await loadConfig(file);
  const beforeStart = Date.now();
  writeFileSync(join(env.logs, 'app.log'), Array.from({ length: 50 }, (_, i) => `app line ${i}`).join('\n') + '\n');
  const p = new Pipeline(config, { log: pino({ level: 'silent' }) });
  const started = p.start();
  try {
    await started;
    await until(() => receiver.originals().length === 50, 'the lines at the receiver');
    assert.equal(p.counters.get('reconnects'), 0, 'the first connection is still the one shipping');

    const status = await fetchText(mport, '/status');
    const sink = (JSON.parse(status.body) as { sink?: { connected: boolean; lastSendAt?: number } }).sink;
    assert.equal(sink?.connected, true);
    assert.ok(sink.lastSendAt !== undefined && sink.lastSendAt >= beforeStart, `/status sink: ${JSON.stringify(sink)}`);

    const metrics = await fetchText(mport, '/metrics');
    const gauge = /^logward_last_send_timestamp_seconds (\S+)$/m.exec(metrics.body);
    assert.ok(gauge, 'the gauge has a value');
    assert.ok(Number(gauge[1]) * 1000 >= beforeStart, `gauge ${gauge[1]}`);

    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const code = await runStatus(file, { stdout: out, stderr: out }, { timeoutMs: 5000 });
    assert.equal(code, EXIT_RUNNING, text);
    assert.match(text, /destination: connected to [^\n]*, last send [^,\n]+ ago,/, text);
    assert.doesNotMatch(text, /last send never/, text);
  } finally {
    await p.stop();
    await started.catch(() => undefined);
  }
});
