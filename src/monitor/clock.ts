/**
 * Clock drift monitor: every interval, one SNTP query to each configured
 * server (in parallel, each with its own timeout); the MEDIAN offset of the
 * replies that passed the sanity checks is the measurement (one falseticker
 * among three cannot move it).
 *
 * State machine, so the SIEM gets state changes, not a stream of repeats:
 * - in sync → |median| > maxOffsetMs: one `clock_drift_detected` alert;
 * - drifting → |median| ≤ maxOffsetMs: one `clock_drift_recovered` event;
 * - still drifting: silent, EXCEPT when |median| has grown to at least
 *   REALERT_FACTOR (10) times the offset last alerted (500 ms → 5 s → 50 s):
 *   an order of magnitude is a new situation (someone stepped the clock again)
 *   worth a new alert.
 * - a round where no server answered: one `clock_source_unreachable` warning
 *   per outage (the outage ends with the first round that has an answer); the
 *   drift state is left as it was, since nothing was measured.
 * Severity: warning, or error when the offset is ≥ 10 × the limit.
 *
 * Kiss-o'-Death: RATE doubles the number of rounds the server is skipped
 * (1, 2, 4 … up to 16 rounds); DENY and RSTR stop querying that server until
 * the monitor is rebuilt (restart or reload), as RFC 5905 asks; both are
 * logged and show in status().
 *
 * A round never throws and never leaves a rejected promise behind; after
 * stop() no event is raised (the in-flight queries are aborted).
 */
import type { InternalEventSpec } from '../event/internal.js';
import { SEVERITY } from '../event/classify.js';
import type { Counters } from './counters.js';
import { serverLabel, SntpError, sntpQuery, type SntpResult } from './sntp.js';

export interface ClockMonitorOptions {
  servers: readonly { host: string; port: number }[];
  intervalMs: number;
  maxOffsetMs: number;
  timeoutMs?: number;
}

export interface ClockMonitorDeps {
  onSpec: (s: InternalEventSpec) => void;
  counters: Counters;
  log?: { warn(o: object, m: string): void; info(o: object, m: string): void };
  query?: typeof sntpQuery;
}

export interface ClockServerStatus {
  server: string;
  ok: boolean;
  offsetMs?: number;
  error?: string;
}

export interface ClockStatus {
  /** False when no server is configured: nothing is measured. */
  enabled: boolean;
  /** Median offset of the last round with an answer (> 0: local clock behind). */
  offsetMs?: number;
  delayMs?: number;
  /** Local ms of the last completed round. */
  lastCheckAt?: number;
  servers: ClockServerStatus[];
  drifting: boolean;
  /** The last round measured an offset and it was within the limit. */
  synced: boolean;
}

const REALERT_FACTOR = 10;
const ERROR_FACTOR = 10;
const MAX_RATE_BACKOFF_ROUNDS = 16;
const DEFAULT_TIMEOUT_MS = 3000;

interface ServerState {
  readonly host: string;
  readonly port: number;
  readonly label: string;
  status: ClockServerStatus;
  /** Rounds still to skip after a RATE kiss; next backoff length. */
  skip: number;
  backoff: number;
  denied: boolean;
  /** Failing since the last success (for log-on-change). */
  failing: boolean;
}

type Outcome = { s: ServerState; r: SntpResult } | { s: ServerState; e: string; err: unknown };

export class ClockMonitor {
  private readonly servers: ServerState[];
  private readonly query: typeof sntpQuery;
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private abort = new AbortController();
  private started = false;
  private stopped = false;
  private drifting = false;
  private alertedOffset = 0;
  private outage = false;
  private offsetMs: number | undefined;
  private delayMs: number | undefined;
  private lastCheckAt: number | undefined;
  private measuredLast = false;

  constructor(
    private readonly opts: ClockMonitorOptions,
    private readonly deps: ClockMonitorDeps,
  ) {
    this.query = deps.query ?? sntpQuery;
    this.timeoutMs = opts.timeoutMs ?? Math.min(DEFAULT_TIMEOUT_MS, Math.max(1, opts.intervalMs));
    this.servers = opts.servers.map((h) => {
      const label = serverLabel(h.host, h.port);
      return { host: h.host, port: h.port, label, status: { server: label, ok: false }, skip: 0, backoff: 1, denied: false, failing: false };
    });
  }

  /** First check now, then one every intervalMs (with up to 10 % jitter so many agents do not poll in step). */
  start(): void {
    if (this.started || this.servers.length === 0) return;
    this.started = true;
    void this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.round;
  }

  status(): ClockStatus {
    return {
      enabled: this.servers.length > 0,
      ...(this.offsetMs !== undefined ? { offsetMs: this.offsetMs } : {}),
      ...(this.delayMs !== undefined ? { delayMs: this.delayMs } : {}),
      ...(this.lastCheckAt !== undefined ? { lastCheckAt: this.lastCheckAt } : {}),
      servers: this.servers.map((s) => ({ ...s.status })),
      drifting: this.drifting,
      synced: this.measuredLast && !this.drifting,
    };
  }

  /** One round; concurrent callers share the round in flight. Never rejects. */
  checkNow(): Promise<void> {
    if (this.servers.length === 0 || this.stopped) return Promise.resolve();
    if (!this.round) {
      this.round = this.runRound()
        .catch((e: unknown) => this.deps.log?.warn({ err: e }, 'clock check failed'))
        .finally(() => {
          this.round = undefined;
        });
    }
    return this.round;
  }

  private async loop(): Promise<void> {
    await this.checkNow();
    if (this.stopped) return;
    const jitter = Math.random() * 0.1 * this.opts.intervalMs;
    this.timer = setTimeout(() => void this.loop(), this.opts.intervalMs + jitter);
    // The pipeline owns the process lifetime; a pending check must not hold it open.
    this.timer.unref();
  }

  private async runRound(): Promise<void> {
    const due = this.servers.filter((s) => {
      if (s.denied) return false;
      if (s.skip > 0) {
        s.skip--;
        return false;
      }
      return true;
    });
    if (due.length === 0) return;
    this.deps.counters.add('clock_checks');
    const signal = this.abort.signal;
    const outcomes = await Promise.all(
      due.map(async (s): Promise<Outcome> => {
        try {
          const r = await this.query(s.host, s.port, { timeoutMs: this.timeoutMs, signal });
          return { s, r };
        } catch (e) {
          return { s, e: e instanceof Error ? e.message : String(e), err: e };
        }
      }),
    );
    if (this.stopped) return;
    this.lastCheckAt = Date.now();

    const ok: SntpResult[] = [];
    for (const o of outcomes) {
      if ('r' in o) {
        ok.push(o.r);
        this.onSuccess(o.s, o.r);
      } else {
        this.onFailure(o.s, o.e, o.err);
      }
    }
    // Denied servers count as failing: with every server denied, that is an outage too.
    const denied = this.servers.filter((s) => s.denied && !due.includes(s));

    if (ok.length === 0) {
      this.measuredLast = false;
      if (!this.outage) {
        this.outage = true;
        this.raiseUnreachable([...due, ...denied]);
      }
      return;
    }
    if (this.outage) {
      this.outage = false;
      this.deps.log?.info({ servers: ok.map((r) => r.server) }, 'NTP servers answer again');
    }
    const offset = median(ok.map((r) => r.offsetMs));
    const delay = median(ok.map((r) => r.delayMs));
    this.offsetMs = offset;
    this.delayMs = delay;
    this.measuredLast = true;
    this.evaluate(offset, ok);
  }

  private onSuccess(s: ServerState, r: SntpResult): void {
    s.status = { server: s.label, ok: true, offsetMs: r.offsetMs };
    s.backoff = 1;
    if (s.failing) {
      s.failing = false;
      this.deps.log?.info({ server: s.label, offsetMs: r.offsetMs }, 'NTP server answers again');
    }
  }

  private onFailure(s: ServerState, message: string, err: unknown): void {
    this.deps.counters.add('clock_query_failures');
    s.status = { server: s.label, ok: false, error: message };
    if (err instanceof SntpError && err.reason === 'kiss_of_death') {
      if (err.kissCode === 'DENY' || err.kissCode === 'RSTR') {
        s.denied = true;
        this.deps.log?.warn({ server: s.label, kiss: err.kissCode }, 'NTP server denied access; no longer querying it');
      } else if (err.kissCode === 'RATE') {
        s.skip = s.backoff;
        s.backoff = Math.min(s.backoff * 2, MAX_RATE_BACKOFF_ROUNDS);
        this.deps.log?.warn({ server: s.label, skipRounds: s.skip }, 'NTP server asks to poll less often (RATE)');
      }
    }
    if (!s.failing) {
      s.failing = true;
      this.deps.log?.warn({ server: s.label, error: message }, 'NTP query failed');
    }
  }

  private evaluate(offset: number, ok: SntpResult[]): void {
    const max = this.opts.maxOffsetMs;
    const abs = Math.abs(offset);
    if (abs > max) {
      const grew = this.drifting && abs >= REALERT_FACTOR * Math.abs(this.alertedOffset);
      if (!this.drifting || grew) {
        this.drifting = true;
        this.alertedOffset = offset;
        this.deps.counters.add('clock_alerts');
        this.emit(this.driftSpec(offset, ok));
      }
    } else if (this.drifting) {
      this.drifting = false;
      this.alertedOffset = 0;
      this.emit(this.recoveredSpec(offset, ok));
    }
  }

  private emit(spec: InternalEventSpec): void {
    try {
      this.deps.onSpec(spec);
    } catch (e) {
      this.deps.log?.warn({ err: e, action: spec.action }, 'clock event could not be raised');
    }
  }

  private driftSpec(offset: number, ok: SntpResult[]): InternalEventSpec {
    const max = this.opts.maxOffsetMs;
    return {
      action: 'clock_drift_detected',
      kind: 'alert',
      category: ['host'],
      type: ['change'],
      severity: Math.abs(offset) >= ERROR_FACTOR * max ? SEVERITY.error : SEVERITY.warning,
      message: `Host clock is ${describe(offset)} NTP time (limit ${max} ms; median of ${ok.length}: ${perServer(ok)})`,
      fields: this.fields(offset, ok),
    };
  }

  private recoveredSpec(offset: number, ok: SntpResult[]): InternalEventSpec {
    return {
      action: 'clock_drift_recovered',
      kind: 'event',
      category: ['host'],
      type: ['change'],
      outcome: 'success',
      severity: SEVERITY.notice,
      message: `Host clock is back within ${this.opts.maxOffsetMs} ms of NTP time: ${describe(offset)} (median of ${ok.length}: ${perServer(ok)})`,
      fields: this.fields(offset, ok),
    };
  }

  private fields(offset: number, ok: SntpResult[]): InternalEventSpec['fields'] {
    return {
      'logward.clock.offset_ms': round1(offset),
      'logward.clock.max_offset_ms': this.opts.maxOffsetMs,
      'logward.clock.servers': ok.map((r) => r.server),
    };
  }

  private raiseUnreachable(failed: ServerState[]): void {
    const detail = failed.map((s) => `${s.label} ${s.status.error ?? 'failed'}`).join('; ');
    this.emit({
      action: 'clock_source_unreachable',
      kind: 'event',
      category: ['host'],
      type: ['info'],
      outcome: 'failure',
      severity: SEVERITY.warning,
      message: `No NTP server gave a usable answer; clock drift is not being measured (${detail})`,
      fields: { 'logward.clock.servers': failed.map((s) => s.label), 'error.message': detail },
    });
  }
}

/** Median; the mean of the middle two for an even count. `xs` must not be empty. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** θ > 0: the local clock is behind the servers. */
function describe(offset: number): string {
  const ms = `${round1(Math.abs(offset))} ms`;
  return offset > 0 ? `${ms} behind` : offset < 0 ? `${ms} ahead of` : 'in step with';
}

function perServer(ok: SntpResult[]): string {
  return ok.map((r) => `${r.server} ${r.offsetMs >= 0 ? '+' : ''}${round1(r.offsetMs)} ms`).join(', ');
}
