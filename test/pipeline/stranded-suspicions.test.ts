/**
 * A truncation the last run saw and had not decided (its grace was still running at the stop) is
 * saved in its input's registry. When that input is gone from the configuration at the next start
 * (removed or renamed), no source loads the registry: the pipeline raises the suspicion itself,
 * marked unchecked (nothing can tell now whether a rotation explained it), and clears it once the
 * alert is stored, so that the start after raises nothing again.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig } from '../helpers/agent.js';
import { CrashFs } from '../queue/helpers.js';
import { alerts, fileInputConfig } from './tamper-alerts.js';

const root = mkdtempSync(join(tmpdir(), 'logward-stranded-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a suspicion saved by an input removed from the config is raised unchecked at the next start, once', { timeout: 120_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'removed'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const log = join(env.logs, 'app.log');
  writeFileSync(log, Array.from({ length: 20 }, (_, i) => `app line ${i}\n`).join(''));
  // A long rescan interval: the truncation's grace (waiting for a copy that would explain it) outlasts the stop.
  const configFor = (inputId: string): string => fileInputConfig(env, port, { id: inputId, glob: '*.log', rescan: '60s' });
  const registry = join(env.state, 'checkpoints', 'web.json');

  const first = new Pipeline(await loadConfig(configFor('web')), { log: pino({ level: 'silent' }) });
  await first.start();
  try {
    await until(() => receiver.records.filter((r) => r.includes('app line')).length === 20, 'the 20 lines');
    truncateSync(log, 0);
    await until(() => existsSync(registry) && readFileSync(registry, 'utf8').includes('"suspicions"'), 'the suspicion saved');
  } finally {
    await first.stop();
  }
  assert.deepEqual(alerts(receiver, 'log_file_truncated'), [], 'not decided by the first run');

  // The input renamed: its registry is stranded.
  const renamed = await loadConfig(configFor('app'));
  const second = new Pipeline(renamed, { log: pino({ level: 'silent' }) });
  await second.start();
  try {
    await until(() => alerts(receiver, 'log_file_truncated').length >= 1, 'the stranded suspicion raised');
    await until(() => !readFileSync(registry, 'utf8').includes('"suspicions"'), 'the suspicion cleared once stored');
  } finally {
    await second.stop();
  }
  const raised = alerts(receiver, 'log_file_truncated');
  assert.equal(raised.length, 1);
  assert.equal(raised[0]?.logward?.tamper?.unchecked, 'input_removed');
  assert.equal(raised[0]?.logward?.tamper?.input, 'web');
  assert.match(raised[0]?.message ?? '', /app\.log shrank .*cannot be checked now: its input is no longer configured/);

  const third = new Pipeline(renamed, { log: pino({ level: 'silent' }) });
  await third.start();
  try {
    // One full start and stop: a suspicion not cleared would be raised again right after the start event.
    await until(() => alerts(receiver, 'agent_started').length === 3, 'the third start');
  } finally {
    await third.stop();
  }
  assert.equal(alerts(receiver, 'log_file_truncated').length, 1, 'raised once');
});

test('a tamper alert the disk never took is raised again at the next start: its suspicion stays saved until the alert is stored', { timeout: 120_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'unstored'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const log = join(env.logs, 'app.log');
  writeFileSync(log, Array.from({ length: 20 }, (_, i) => `app line ${i}\n`).join(''));
  const config = await loadConfig(writeAgentConfig(env, port));
  const registry = join(env.state, 'checkpoints', 'app.json');
  const fs = new CrashFs();
  // A backoff far longer than the test: the alert waits in it until stop(), whose last try fails too.
  const first = new Pipeline(config, { log: pino({ level: 'silent' }), queueFs: fs, internalRetry: { minDelayMs: 600_000, maxDelayMs: 600_000 } });
  await first.start();
  try {
    await until(() => receiver.records.filter((r) => r.includes('app line')).length === 20, 'the 20 lines');
    fs.fail('write', { times: Number.MAX_SAFE_INTEGER, contains: 'log_file_truncated' });
    truncateSync(log, 0);
    await until(() => fs.fired.length >= 1, 'the alert refused by the disk');
    // The registry is written right after a decision: a suspicion dropped as decided would be gone from
    // it, one kept is saved as decided (raised again as it was, never given another grace).
    await until(() => readFileSync(registry, 'utf8').includes('"decided":true'), 'the registry written after the decision', 30_000);
  } finally {
    await first.stop();
  }
  assert.deepEqual(alerts(receiver, 'log_file_truncated'), []);
  assert.match(readFileSync(registry, 'utf8'), /"suspicions"/, 'still saved: its alert was never stored');

  const second = new Pipeline(config, { log: pino({ level: 'silent' }) });
  await second.start();
  try {
    await until(() => alerts(receiver, 'log_file_truncated').length === 1, 'the truncation raised again');
  } finally {
    await second.stop();
  }
});
