/**
 * Internal events raised while the start event waits (a full disk) are held until it is written,
 * and keep the time they were raised: a queue_disk_full stamped when the disk had recovered
 * would tell the SIEM the wrong story. (Found by review.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { parseRfc5424 } from '../../src/encode/rfc5424.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig } from '../helpers/agent.js';
import { CrashFs } from '../queue/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'logward-held-time-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('an alert raised while the start event waits for the disk keeps the time it was raised, not the time it could be appended', { timeout: 60_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'ts'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const config = await loadConfig(writeAgentConfig(env, port));
  writeFileSync(join(env.logs, 'app.log'), 'app line 0\n');
  const fs = new CrashFs();
  const fires: number[] = [];
  // The start event's write meets a full disk twice: the queue raises queue_disk_full at the first.
  fs.fail('write', { code: 'ENOSPC', times: 2, contains: 'agent_started', path: /seg-\d+\.lwq$/, onFire: () => fires.push(Date.now()) });
  const p = new Pipeline(config, { log: pino({ level: 'silent' }), queueFs: fs });
  await p.start();
  try {
    await until(() => receiver.actions().includes('queue_disk_full'), 'the disk-full alert');
  } finally {
    await p.stop();
  }
  assert.equal(fires.length, 2);
  const alert = receiver.records
    .map((r) => JSON.parse(parseRfc5424(r).msg ?? '{}') as { '@timestamp'?: string; event?: { action?: string } })
    .find((e) => e.event?.action === 'queue_disk_full');
  const at = Date.parse(alert?.['@timestamp'] ?? '');
  // Raised at the first ENOSPC, i.e. before the second one (a retry later): an alert stamped after the
  // second says the disk filled when the start had already got past it.
  assert.ok(at <= (fires[1] as number), `queue_disk_full stamped ${alert?.['@timestamp']}, the disk was full from ${new Date(fires[0] as number).toISOString()} and still at ${new Date(fires[1] as number).toISOString()}`);
});
