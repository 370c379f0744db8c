/**
 * Under space pressure the queue acknowledges by age alone; that age must outlast the sink's
 * dead-peer check (~1.5 x dead_after), or a full queue acknowledges what a silently dead
 * destination never got before the connection is known dead.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { resendWindowOf } from '../../src/pipeline.js';

test('the queue is given an age under pressure of twice dead_after, never less than the configured age', () => {
  const w = resendWindowOf({ resendWindow: { bytes: 4 << 20, ageMs: 30_000 }, destination: { deadAfterMs: 30_000 } });
  assert.deepEqual(w, { bytes: 4 << 20, ageMs: 30_000, pressureAgeMs: 60_000 });
  const long = resendWindowOf({ resendWindow: { bytes: 1024, ageMs: 300_000 }, destination: { deadAfterMs: 10_000 } });
  assert.equal(long.pressureAgeMs, 300_000, 'an operator who asked for a longer age keeps it');
});
