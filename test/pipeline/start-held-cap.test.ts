/**
 * Internal events held while the start event waits (a full disk) are capped at 256. Past the cap the
 * newest were thrown away (found by review); now the oldest repeat of an action already held goes. A destination away raises one destination_unreachable per connect attempt
 * (at the default max_delay of 60 s, 256 of them in a little over four hours), so a start stuck that
 * long fills the cap with repeats of one alert, and what comes last is lost: queue_disk_recovered,
 * raised by the very write that lets the start event in, never reaches the SIEM (which is left with
 * queue_disk_full and no recovery). Retry delays of a few ms stand in for those hours.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig } from '../helpers/agent.js';
import { CrashFs } from '../queue/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'logward-held-cap-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a start stuck for hours with the destination away: the alert that the disk recovered is not lost behind 256 repeats', { timeout: 90_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'cap'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  await receiver.stop(); // the destination away
  const config = await loadConfig(writeAgentConfig(env, port));
  (config.output as { retry: { minDelayMs: number; maxDelayMs: number } }).retry = { minDelayMs: 1, maxDelayMs: 2 };
  writeFileSync(join(env.logs, 'app.log'), 'app line 0\n');
  const fs = new CrashFs();
  fs.fail('write', { code: 'ENOSPC', times: Number.MAX_SAFE_INTEGER, contains: 'agent_started', path: /seg-\d+\.lwq$/ });
  const fault = (fs as unknown as { faults: { times: number }[] }).faults[0]!;
  const p = new Pipeline(config, { log: pino({ level: 'silent' }), queueFs: fs });
  const started = p.start();
  try {
    await until(() => fs.fired.length >= 1, 'the start event meets the full disk');
    // Hours of connect attempts: more alerts than the start can hold (the cap is passed 50 times over).
    await until(() => p.counters.get('internal_events_failed') >= 50, 'many connect attempts', 60_000);
    fault.times = 0; // the disk has room again
    await receiver.start(port); // and the destination is back
    await started;
    await until(() => receiver.actions().includes('agent_started'), 'the start event');
    await until(() => receiver.actions().filter((a) => a === 'destination_unreachable').length >= 1, 'the held alerts');
    // Lost behind repeats of one alert, it never arrives: the wait fails.
    await until(() => receiver.actions().includes('queue_disk_recovered'), 'queue_disk_recovered shipped');
    assert.ok(receiver.actions().includes('queue_disk_full'), 'queue_disk_full shipped');
  } finally {
    await p.stop();
    await started.catch(() => undefined);
    await receiver.stop();
  }
});

