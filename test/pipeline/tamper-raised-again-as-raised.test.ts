/**
 * A tamper alert the disk never took is saved as decided and raised again by the next start "as it
 * was" (src/source/tamper.ts). What it was must survive the way back:
 *  - a truncation the last run confirmed (grace over, no copy) is a confirmed truncation still when
 *    its input was renamed since (strandedSuspicions): not an `unchecked` one ("the previous run was
 *    deciding whether a rotation explains it" is false: it had decided);
 *  - an alert raised `unchecked` (its path no longer covered by the input's globs) is raised again
 *    unchecked: saved without the mark, it came back as a confirmed "truncated outside a rotation",
 *    which nothing ever checked.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, type AgentEnv } from '../helpers/agent.js';
import { CrashFs } from '../queue/helpers.js';
import { alerts, fileInputConfig } from './tamper-alerts.js';

const root = mkdtempSync(join(tmpdir(), 'logward-tamper-again-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** One file input; `rescan` long: a suspicion's grace outlasts the run. */
const configFile = (env: AgentEnv, port: number, id: string, glob: string, rescan = '1s'): string =>
  fileInputConfig(env, port, { id, glob, rescan, shutdownGrace: '2s' });

/** A queue disk that never takes the truncation alert, and a backoff that waits for stop(). */
function refusing(): { fs: CrashFs; deps: { queueFs: CrashFs; internalRetry: { minDelayMs: number; maxDelayMs: number } } } {
  const fs = new CrashFs();
  fs.fail('write', { times: Number.MAX_SAFE_INTEGER, contains: 'log_file_truncated' });
  return { fs, deps: { queueFs: fs, internalRetry: { minDelayMs: 600_000, maxDelayMs: 600_000 } } };
}

const decidedSaved = (registry: string): boolean => existsSync(registry) && readFileSync(registry, 'utf8').includes('"decided":true');

test('a truncation confirmed by the last run, its alert never stored, of an input renamed since: raised as confirmed, not unchecked', { timeout: 120_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'renamed'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const log = join(env.logs, 'app.log');
  writeFileSync(log, Array.from({ length: 20 }, (_, i) => `app line ${i}\n`).join(''));
  const registry = join(env.state, 'checkpoints', 'web.json');

  const disk = refusing();
  const first = new Pipeline(await loadConfig(configFile(env, port, 'web', '*.log')), { log: pino({ level: 'silent' }), ...disk.deps });
  await first.start();
  try {
    await until(() => receiver.records.filter((r) => r.includes('app line')).length === 20, 'the 20 lines');
    truncateSync(log, 0);
    await until(() => disk.fs.fired.length >= 1, 'the confirmed truncation refused by the disk');
    await until(() => decidedSaved(registry), 'saved as decided');
  } finally {
    await first.stop();
  }
  assert.deepEqual(alerts(receiver, 'log_file_truncated'), []);
  assert.ok(decidedSaved(registry), 'still saved as decided: its alert was never stored');

  const second = new Pipeline(await loadConfig(configFile(env, port, 'app', '*.log')), { log: pino({ level: 'silent' }) });
  await second.start();
  try {
    await until(() => alerts(receiver, 'log_file_truncated').length >= 1, 'the stranded alert raised');
    await until(() => !readFileSync(registry, 'utf8').includes('"suspicions"'), 'cleared once stored');
  } finally {
    await second.stop();
  }
  const raised = alerts(receiver, 'log_file_truncated');
  assert.equal(raised.length, 1);
  assert.equal(raised[0]?.logward?.tamper?.input, 'web');
  assert.equal(raised[0]?.logward?.tamper?.unchecked, undefined, 'the last run had decided it');
  assert.match(raised[0]?.message ?? '', /app\.log was truncated outside a rotation/);
});

test('an unchecked alert (its path no longer covered) that the disk never took is raised again unchecked, never as confirmed', { timeout: 120_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'not-covered'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const log = join(env.logs, 'app.log');
  writeFileSync(log, Array.from({ length: 20 }, (_, i) => `app line ${i}\n`).join(''));
  const registry = join(env.state, 'checkpoints', 'web.json');

  // Run 1: the truncation seen, its grace (a long rescan interval) outlasts the run: saved undecided.
  const first = new Pipeline(await loadConfig(configFile(env, port, 'web', '*.log', '60s')), { log: pino({ level: 'silent' }) });
  await first.start();
  try {
    await until(() => receiver.records.filter((r) => r.includes('app line')).length === 20, 'the 20 lines');
    truncateSync(log, 0);
    await until(() => existsSync(registry) && readFileSync(registry, 'utf8').includes('"suspicions"'), 'the suspicion saved');
  } finally {
    await first.stop();
  }
  assert.ok(!decidedSaved(registry));

  // Run 2: the globs no longer cover app.log: raised unchecked at the first scan, and the disk refuses it.
  const notCovering = await loadConfig(configFile(env, port, 'web', '*.txt', '60s'));
  const disk = refusing();
  const second = new Pipeline(notCovering, { log: pino({ level: 'silent' }), ...disk.deps });
  await second.start();
  try {
    await until(() => disk.fs.fired.length >= 1, 'the unchecked alert refused by the disk');
    await until(() => decidedSaved(registry), 'saved as raised, not stored');
  } finally {
    await second.stop();
  }
  assert.deepEqual(alerts(receiver, 'log_file_truncated'), []);

  // Run 3: the disk takes it.
  const third = new Pipeline(notCovering, { log: pino({ level: 'silent' }) });
  await third.start();
  try {
    await until(() => alerts(receiver, 'log_file_truncated').length >= 1, 'the alert raised again');
    await until(() => !readFileSync(registry, 'utf8').includes('"suspicions"'), 'cleared once stored');
  } finally {
    await third.stop();
  }
  const raised = alerts(receiver, 'log_file_truncated');
  assert.equal(raised.length, 1);
  assert.equal(raised[0]?.logward?.tamper?.unchecked, 'not_covered', 'nothing ever checked it');
  assert.match(raised[0]?.message ?? '', /cannot be checked now/);
});
