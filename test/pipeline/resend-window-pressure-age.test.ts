/**
 * Under space pressure the queue acknowledges by age alone; that age must outlast the sink's
 * dead-peer check (~1.5 x dead_after), or a full queue acknowledges what a silently dead
 * destination never got before the connection is known dead.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { Pipeline, resendWindowOf } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, writeAgentConfig } from '../helpers/agent.js';

test('the queue is given an age under pressure of twice dead_after, never less than the configured age', () => {
  const w = resendWindowOf({ resendWindow: { bytes: 4 << 20, ageMs: 30_000 }, destination: { deadAfterMs: 30_000 } });
  assert.deepEqual(w, { bytes: 4 << 20, ageMs: 30_000, pressureAgeMs: 60_000 });
  const long = resendWindowOf({ resendWindow: { bytes: 1024, ageMs: 300_000 }, destination: { deadAfterMs: 10_000 } });
  assert.equal(long.pressureAgeMs, 300_000, 'an operator who asked for a longer age keeps it');
});

test('the running pipeline hands its queue that window (dead_after 5s: 10 s under pressure)', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'logward-window-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const env = await makeAgentEnv(join(root, 'a'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const config = await loadConfig(writeAgentConfig(env, port)); // dead_after 5s, resend_window age 2s
  const p = new Pipeline(config, { log: pino({ level: 'silent' }) });
  await p.start();
  try {
    const queue = (p as unknown as { queue: { opts: { resendWindow: unknown } } }).queue;
    assert.deepEqual(queue.opts.resendWindow, { bytes: 64 * 1024, ageMs: 2000, pressureAgeMs: 10_000 });
  } finally {
    await p.stop();
  }
});
