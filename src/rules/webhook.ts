/**
 * The optional alert webhook: an HTTPS POST of the alert as JSON, fire and
 * forget, with retries.
 *
 * Design notes:
 * - One way (DESIGN.md): the response status decides success or retry, the
 *   body is read up to MAX_RESPONSE_BYTES and thrown away, redirects are not
 *   followed. Nothing a receiver sends back is ever interpreted.
 * - HTTPS only, verified against the system trust store (deps.ca exists for
 *   tests, which run their own CA; the config has no key for it). node:https
 *   rather than fetch because fetch takes no CA.
 * - Retries (p-retry, jittered exponential backoff) on network errors, time
 *   outs, 5xx, 408 and 429; any other status is final. Each delivery ends as
 *   exactly one of webhook_sent, webhook_failed, webhook_cancelled.
 * - Bounded: at most maxPending deliveries at once (in flight or waiting for
 *   a retry); beyond that an alert's webhook call is dropped and counted
 *   (webhook_dropped). The alert event itself is unaffected: it is in the flow.
 * - Hook URLs carry secrets (user:password, a token in the path or query), so
 *   logs and errors only ever show the origin (maskUrl), and the body sent
 *   leaves the URL out.
 * - stop(): retries waiting for their turn are cancelled at once; requests in
 *   flight get stopGraceMs, then are aborted. stop() never waits longer.
 */
import { setMaxListeners } from 'node:events';
import { request, type RequestOptions } from 'node:https';

import pRetry, { AbortError } from 'p-retry';

import { ConfigError, LogwardError } from '../errors.js';
import type { Counters } from '../monitor/counters.js';
import { VERSION } from '../version.js';
import type { RuleAlert } from './engine.js';

export interface WebhookLogger {
  warn(obj: object, msg: string): void;
}

export interface WebhookRetry {
  /** Retries after the first attempt. */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export interface WebhookDeps {
  counters: Counters;
  log?: WebhookLogger;
  retry?: WebhookRetry;
  /** Extra trusted CA certificates (PEM). Tests only: production uses the system trust store. */
  ca?: string | Buffer;
  /** Per attempt. Default 10 s. */
  timeoutMs?: number;
  /** Default 100. */
  maxPending?: number;
  /** How long stop() lets requests in flight finish. Default 2 s. */
  stopGraceMs?: number;
  /** Who sends: added to the body so a receiver knows which host raised the alert. */
  agent?: { id: string; hostName: string };
}

export const DEFAULT_WEBHOOK_RETRY: WebhookRetry = { retries: 5, minDelayMs: 1000, maxDelayMs: 60_000 };
const MAX_RESPONSE_BYTES = 16 * 1024;

/** A webhook URL that is not https (or not a URL). The message shows the masked URL only. */
export class WebhookUrlError extends ConfigError {}

/** A failed attempt: HTTP status or transport problem, with the masked URL. */
export class WebhookError extends LogwardError {
  override readonly name = 'WebhookError';
  constructor(
    readonly url: string,
    readonly problem: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`webhook ${url}: ${problem}`, options);
  }
}

/** What may be shown of a hook URL: scheme, host and port. Credentials, path and query never. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch (err) {
    return err instanceof TypeError ? '(not a URL)' : '(unreadable URL)';
  }
}

/** Parses and checks a hook URL: https only. Throws WebhookUrlError at `configPath`. */
export function checkWebhookUrl(url: string, configPath = 'alerts[].webhook'): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new WebhookUrlError(configPath, `not a URL (${err instanceof Error ? err.name : 'unknown'})`);
  }
  if (u.protocol !== 'https:') throw new WebhookUrlError(configPath, `must be an https:// URL, not ${u.protocol}// (${maskUrl(url)})`);
  return u;
}

function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export class WebhookSender {
  private readonly counters: Counters;
  private readonly log: WebhookLogger | undefined;
  private readonly retry: WebhookRetry;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly stopGraceMs: number;
  private readonly ca: string | Buffer | undefined;
  private readonly agent: { id: string; hostName: string } | undefined;
  private readonly pending = new Set<Promise<void>>();
  /** Aborts backoff waits (at stop). */
  private readonly waits = new AbortController();
  /** Aborts requests in flight (at the end of the stop grace). */
  private readonly requests = new AbortController();
  private stopped = false;
  private dropWarned = false;

  constructor(deps: WebhookDeps) {
    this.counters = deps.counters;
    this.log = deps.log;
    this.retry = deps.retry ?? DEFAULT_WEBHOOK_RETRY;
    this.timeoutMs = deps.timeoutMs ?? 10_000;
    this.maxPending = deps.maxPending ?? 100;
    this.stopGraceMs = deps.stopGraceMs ?? 2000;
    this.ca = deps.ca;
    this.agent = deps.agent;
    // Every pending delivery listens on both signals (p-retry's wait, the request): up to maxPending each, by design.
    setMaxListeners(this.maxPending + 10, this.waits.signal, this.requests.signal);
  }

  /** Deliveries in flight or waiting for a retry. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Queues one POST of `alert` to `url`. Never blocks; throws only for a URL that is not https. */
  send(url: string, alert: RuleAlert): void {
    const u = checkWebhookUrl(url);
    if (this.stopped || this.pending.size >= this.maxPending) {
      this.counters.add('webhook_dropped');
      if (!this.dropWarned) {
        this.dropWarned = true;
        this.log?.warn({ url: maskUrl(url), stopped: this.stopped, pending: this.pending.size }, 'webhook call dropped (queue full or stopping); further drops are only counted');
      }
      return;
    }
    const { webhook: _url, ...rest } = alert;
    const body = JSON.stringify(this.agent === undefined ? rest : { ...rest, agent: this.agent });
    const p = this.deliver(u, body, alert.rule);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Cancels retries now, lets requests in flight finish for stopGraceMs, then aborts them. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.waits.abort(new WebhookError('-', 'agent stopping'));
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.stopGraceMs);
    });
    await Promise.race([Promise.allSettled([...this.pending]), grace]);
    clearTimeout(timer);
    this.requests.abort(new WebhookError('-', 'agent stopped'));
    await Promise.allSettled([...this.pending]);
  }

  private async deliver(u: URL, body: string, rule: string): Promise<void> {
    const masked = maskUrl(u.href);
    let delivered = false;
    try {
      await pRetry(
        async () => {
          const status = await this.post(u, masked, body);
          if (status >= 200 && status < 300) {
            delivered = true;
            return;
          }
          const err = new WebhookError(masked, `HTTP ${status}`, status);
          throw retryable(status) ? err : new AbortError(err);
        },
        {
          retries: this.retry.retries,
          minTimeout: this.retry.minDelayMs,
          maxTimeout: this.retry.maxDelayMs,
          randomize: true,
          signal: this.waits.signal,
          unref: true,
          onFailedAttempt: () => this.counters.add('webhook_attempts_failed'),
        },
      );
      this.counters.add('webhook_sent');
    } catch (err) {
      // p-retry rechecks the signal after a successful attempt: a delivery that got through during stop still counts as sent.
      if (delivered) {
        this.counters.add('webhook_sent');
      } else if (this.stopped) {
        this.counters.add('webhook_cancelled');
        this.log?.warn({ url: masked, rule, err: describe(err) }, 'webhook call cancelled at stop');
      } else {
        this.counters.add('webhook_failed');
        this.log?.warn({ url: masked, rule, err: describe(err) }, 'webhook call failed');
      }
    }
  }

  /** One attempt: resolves with the HTTP status once the (discarded) response is over. */
  private post(u: URL, masked: string, body: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const opts: RequestOptions = {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': `logward/${VERSION}`,
        },
        agent: false,
        minVersion: 'TLSv1.2',
        timeout: this.timeoutMs,
        signal: this.requests.signal,
        ...(this.ca !== undefined ? { ca: this.ca } : {}),
      };
      let settled = false;
      const done = (status: number): void => {
        if (settled) return;
        settled = true;
        clearTimeout(overall);
        resolve(status);
      };
      const req = request(u, opts, (res) => {
        const status = res.statusCode ?? 0;
        let n = 0;
        res.on('data', (chunk: Buffer) => {
          n += chunk.length;
          if (n > MAX_RESPONSE_BYTES) {
            res.destroy();
            done(status);
          }
        });
        res.on('end', () => done(status));
        // The status is known: a body cut short changes nothing (it is discarded anyway).
        res.on('error', () => done(status));
        res.on('close', () => done(status));
      });
      // `timeout` is idle time; this bounds the whole attempt (a server dripping bytes).
      const overall = setTimeout(() => req.destroy(new WebhookError(masked, `no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      overall.unref();
      req.on('timeout', () => req.destroy(new WebhookError(masked, `idle for ${this.timeoutMs} ms`)));
      req.on('error', (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(overall);
        reject(err instanceof WebhookError ? err : new WebhookError(masked, describe(err), undefined, { cause: err }));
      });
      req.end(body);
    });
  }
}

/** An error as one short line, without anything a URL might have put into it. */
function describe(err: unknown): string {
  if (err instanceof WebhookError) return err.problem;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
