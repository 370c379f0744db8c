/**
 * The reconnect delay: exponential between min_delay and max_delay, and
 * jittered at every attempt, including once it reached max_delay, so that
 * agents that lost the same destination do not come back in lockstep.
 * The delay function is tested directly: no timing. p-retry runs the retry
 * loops with it (jitteredRetry): numbering, spacing and stopping are checked
 * by order and counts.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import pRetry from 'p-retry';
import { backoffDelayMs, jitteredRetry, sleep } from '../../src/sink/backoff.js';

const RETRY = { minDelayMs: 500, maxDelayMs: 60_000 };

function samples(attempt: number, retry = RETRY, n = 5000): number[] {
  return Array.from({ length: n }, () => backoffDelayMs(attempt, retry));
}

test('every delay lies within [min_delay, max_delay], at every attempt', () => {
  for (const retry of [RETRY, { minDelayMs: 50, maxDelayMs: 200 }, { minDelayMs: 0, maxDelayMs: 1000 }, { minDelayMs: 7, maxDelayMs: 7 }]) {
    for (let attempt = 1; attempt <= 80; attempt++) {
      for (const d of samples(attempt, retry, 200)) {
        assert.ok(Number.isInteger(d), `${d} is whole milliseconds`);
        assert.ok(d >= retry.minDelayMs && d <= retry.maxDelayMs, `attempt ${attempt}: ${d} within ${JSON.stringify(retry)}`);
      }
    }
  }
});

test('the delay grows exponentially: attempt k waits within [min*2^(k-1), min*2^k], capped by max_delay', () => {
  for (let attempt = 1; attempt <= 6; attempt++) {
    const lo = RETRY.minDelayMs * 2 ** (attempt - 1);
    const hi = RETRY.minDelayMs * 2 ** attempt;
    assert.equal(backoffDelayMs(attempt, RETRY, () => 0), lo);
    assert.equal(backoffDelayMs(attempt, RETRY, () => 1 - Number.EPSILON), hi);
    for (const d of samples(attempt, RETRY, 500)) assert.ok(d >= lo && d <= hi, `attempt ${attempt}: ${d}`);
  }
});

test('at the cap the delay is still jittered: spread over [max/2, max], not max_delay every time', () => {
  for (const attempt of [8, 20, 1000]) {
    const s = samples(attempt);
    const min = Math.min(...s);
    const max = Math.max(...s);
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    assert.ok(min >= RETRY.maxDelayMs / 2, `attempt ${attempt}: lowest ${min}`);
    assert.ok(min < RETRY.maxDelayMs * 0.55, `attempt ${attempt}: some delays near max/2 (lowest ${min})`);
    assert.ok(max > RETRY.maxDelayMs * 0.95, `attempt ${attempt}: some delays near max (highest ${max})`);
    assert.ok(Math.abs(mean - RETRY.maxDelayMs * 0.75) < RETRY.maxDelayMs * 0.02, `attempt ${attempt}: uniform (mean ${mean})`);
    assert.ok(new Set(s).size > 1000, `attempt ${attempt}: ${new Set(s).size} distinct delays of ${s.length}`);
    // Ten equal buckets over [max/2, max]: each gets about a tenth.
    const buckets = new Array<number>(10).fill(0);
    for (const d of s) {
      const i = Math.min(9, Math.floor(((d - RETRY.maxDelayMs / 2) / (RETRY.maxDelayMs / 2)) * 10));
      buckets[i] = (buckets[i] ?? 0) + 1;
    }
    for (const b of buckets) assert.ok(b > s.length * 0.06 && b < s.length * 0.14, `buckets ${buckets.join(',')}`);
  }
});

test('min_delay 0 still grows from 1 ms instead of retrying in a tight loop forever', () => {
  const retry = { minDelayMs: 0, maxDelayMs: 1000 };
  assert.ok(backoffDelayMs(1, retry, () => 0) >= 1);
  assert.ok(backoffDelayMs(30, retry, () => 0) >= 500);
});

test('sleep ends early with the abort reason when its signal is aborted', async () => {
  const ac = new AbortController();
  const p = sleep(60_000, ac.signal);
  ac.abort(new Error('sink stopped'));
  await assert.rejects(p, /sink stopped/);
  const done = new AbortController();
  done.abort(new Error('already'));
  await assert.rejects(sleep(60_000, done.signal), /already/);
});

test('jitteredRetry: p-retry retries until success, numbering consecutive failures; each waits backoffDelayMs of its number', async () => {
  const retry = { minDelayMs: 1, maxDelayMs: 8 };
  const seen: { attempt: number; delayMs: number; message: string }[] = [];
  let calls = 0;
  const result = await pRetry(
    () => {
      calls++;
      if (calls < 5) throw new Error(`failure ${calls}`);
      return 'done';
    },
    jitteredRetry(retry, new AbortController().signal, (ctx, delayMs) => seen.push({ attempt: ctx.attemptNumber, delayMs, message: ctx.error.message })),
  );
  assert.equal(result, 'done');
  assert.deepEqual(
    seen.map((s) => [s.attempt, s.message]),
    [
      [1, 'failure 1'],
      [2, 'failure 2'],
      [3, 'failure 3'],
      [4, 'failure 4'],
    ],
  );
  for (const { attempt, delayMs } of seen) {
    assert.ok(delayMs >= backoffDelayMs(attempt, retry, () => 0) && delayMs <= backoffDelayMs(attempt, retry, () => 1 - Number.EPSILON), `${attempt}: ${delayMs}`);
  }
});

test('jitteredRetry: the delay is slept between attempts, and an abort ends it with the abort reason (no further attempt)', async () => {
  // A delay longer than any test: only the abort can end it.
  const retry = { minDelayMs: 2 ** 31 - 1, maxDelayMs: 2 ** 31 - 1 };
  const ac = new AbortController();
  let calls = 0;
  let failures = 0;
  const run = pRetry(
    () => {
      calls++;
      throw new Error('refused');
    },
    jitteredRetry(retry, ac.signal, () => {
      failures++;
      // Aborted while the first failure's delay is being slept.
      setImmediate(() => ac.abort(new Error('sink stopped')));
    }),
  );
  await assert.rejects(run, /sink stopped/);
  assert.equal(calls, 1, 'no attempt after the failure: its delay was being slept');
  assert.equal(failures, 1);
});
