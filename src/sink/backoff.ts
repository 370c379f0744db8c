/**
 * Retry spacing for the sink, shared with the pipeline: exponential between
 * retry.minDelayMs and retry.maxDelayMs, jittered at EVERY attempt.
 *
 * The API:
 * - backoffDelayMs(attempt, retry): the delay before the next try after the
 *   attempt-th consecutive failure. Keep the count yourself (reset it after a
 *   success) or let p-retry keep it (jitteredRetry).
 * - sleep(ms, signal): node:timers/promises' setTimeout, rejecting with the
 *   signal's own reason (not a generic AbortError) when it is aborted.
 * - jitteredRetry(retry, signal, onFailure): p-retry options for an endless
 *   retry loop spaced by backoffDelayMs.
 *
 * The k-th consecutive failure waits a uniform delay in [c/2, c] with
 * c = min(max, min * 2^k), never below min: the first waits [min, 2*min], and
 * at the cap the delay still spreads over [max/2, max] (mean 3/4 max).
 */

import { setTimeout as delay } from 'node:timers/promises';
import type { Options as RetryOptions, RetryContext } from 'p-retry';

export interface RetryDelays {
  minDelayMs: number;
  maxDelayMs: number;
}

/**
 * Delay before the next try after the `attempt`-th consecutive failure (1 = the
 * first), in whole milliseconds within [minDelayMs, maxDelayMs].
 * `random` returns [0, 1) like Math.random (injected by tests).
 */
export function backoffDelayMs(attempt: number, retry: RetryDelays, random: () => number = Math.random): number {
  const { minDelayMs: min, maxDelayMs: max } = retry;
  // min_delay 0 would make every delay 0 (a tight loop forever); grow from 1 ms instead.
  const base = Math.max(min, 1);
  const ceiling = Math.min(max, base * 2 ** Math.max(1, attempt));
  const floor = Math.max(min, ceiling / 2);
  const d = Math.round(floor + random() * (ceiling - floor));
  return Math.min(max, Math.max(min, d));
}

/** Resolves after ms; rejects with the signal's reason as soon as it is aborted (at once if it already is). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    // timers/promises rejects with its own AbortError; callers tell a stop by the reason they gave.
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}

/**
 * p-retry options for an endless retry loop spaced by backoffDelayMs.
 *
 * p-retry runs the loop: it calls the attempt again after each failure, numbers
 * the consecutive failures (ctx.attemptNumber, the backoff's exponent; a new
 * pRetry call starts again from 1), stops at once when `signal` is aborted,
 * and gives up on an AbortError or a programming error (a TypeError).
 *
 * Its own delay is off (minTimeout 0): p-retry 7 multiplies by its random
 * factor before capping at maxTimeout, so past the cap every delay would be
 * exactly max_delay and agents that lost the same destination would reconnect
 * in lockstep. The delay is slept in onFailedAttempt instead (p-retry awaits
 * it; an abort ends it). `onFailure` runs first, with the delay about to be
 * slept (counting, logging).
 */
export function jitteredRetry(
  retry: RetryDelays,
  signal: AbortSignal,
  onFailure?: (ctx: RetryContext, delayMs: number) => void,
): RetryOptions {
  return {
    retries: Infinity,
    minTimeout: 0,
    signal,
    onFailedAttempt: async (ctx) => {
      const delayMs = backoffDelayMs(ctx.attemptNumber, retry);
      onFailure?.(ctx, delayMs);
      await sleep(delayMs, signal);
    },
  };
}
