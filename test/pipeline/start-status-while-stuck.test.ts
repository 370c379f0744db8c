/**
 * A start stuck on a full disk is visible to `logward status`: the metrics endpoint is up before
 * the start event is written, so the operator sees the held alert instead of "not running".
 * (Found by review.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { CrashFs } from '../queue/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'logward-status-stuck-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('a start stuck on a full disk: `logward status` shows the alert that says why (the comment in raise() says so)', { timeout: 60_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'stuck'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const mport = await freePort();
  const file = writeAgentConfig(env, port, { monitoring: `{ metrics: { listen: "127.0.0.1:${mport}" } }` });
  const config = await loadConfig(file);
  writeFileSync(join(env.logs, 'app.log'), 'app line 0\n');
  const fs = new CrashFs();
  fs.fail('write', { code: 'ENOSPC', times: Number.MAX_SAFE_INTEGER, contains: 'agent_started', path: /seg-\d+\.lwq$/ });
  const p = new Pipeline(config, { log: pino({ level: 'silent' }), queueFs: fs });
  const started = p.start().catch(() => undefined);
  try {
    await until(() => fs.fired.length >= 1, 'the start event meets the full disk');
    const out = new PassThrough();
    const err = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    err.on('data', (d: Buffer) => (text += d.toString()));
    const code = await runStatus(file, { stdout: out, stderr: err }, { timeoutMs: 2000 });
    assert.equal(code, EXIT_RUNNING, text);
    assert.match(text, /queue_disk_full|cannot write/);
  } finally {
    await p.stop();
    await started;
  }
});
