/**
 * Reconnect backoff: exponential between retry.minDelayMs and retry.maxDelayMs,
 * jittered at EVERY attempt.
 *
 * Why not p-retry's own delay: p-retry 7 multiplies by its random factor
 * before capping at maxTimeout, so once the exponential passed max_delay every
 * delay is exactly max_delay and agents that lost the same destination
 * reconnect in lockstep. The loops keep p-retry (attempt counting, abort
 * signal, onFailedAttempt) with minTimeout/maxTimeout 0 and sleep here instead,
 * from onFailedAttempt (p-retry awaits it).
 *
 * The k-th consecutive failure waits a uniform delay in [c/2, c] with
 * c = min(max, min * 2^k), never below min: the first waits [min, 2*min], and
 * at the cap the delay still spreads over [max/2, max] (mean 3/4 max).
 */

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

/** Resolves after ms; rejects with the signal's reason as soon as it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * p-retry options for an endless retry loop with our jittered delay.
 * `onFailure` runs first (counting, logging), then the delay is slept.
 */
export function jitteredRetry(
  retry: RetryDelays,
  signal: AbortSignal,
  onFailure?: (ctx: RetryContext) => void,
): RetryOptions {
  return {
    retries: Infinity,
    // p-retry's own delay is off (0); the delay is slept in onFailedAttempt, which p-retry awaits.
    minTimeout: 0,
    maxTimeout: 0,
    randomize: false,
    signal,
    onFailedAttempt: async (ctx) => {
      onFailure?.(ctx);
      await sleep(backoffDelayMs(ctx.attemptNumber, retry), signal);
    },
  };
}
