/**
 * The metrics endpoint: Prometheus text on GET /metrics, health on GET
 * /healthz, the whole AgentSnapshot as JSON on GET /status (what `logward
 * status` reads). Nothing else: no request body is ever read, only GET and
 * HEAD are served, and the agent takes no instruction from this port.
 *
 * Design notes
 * - Own prom-client Registry, never the global default one: two agents (or two
 *   tests) in one process must not share or double-register metrics.
 * - One snapshot per scrape. The handler takes it, then renders the registry;
 *   every metric's collect() reads that same object, so values in one scrape
 *   are consistent with each other. prom-client calls every collect()
 *   synchronously at the start of registry.metrics(), before its first await,
 *   so concurrent scrapes cannot see each other's snapshot.
 * - A value that is not known is absent, not 0: no clock offset before the
 *   first SNTP answer, no last-send time before the first send (a 0 would make
 *   `time() - logward_last_send_timestamp_seconds` look like 55 years).
 * - Loopback binding is what the config enforces (monitoring.metrics
 *   .allow_remote). On a loopback address the Host header must name loopback
 *   too, so a web page the operator opens cannot read /status through DNS
 *   rebinding (it carries alert messages and file names).
 *
 * Metrics (stable names; counters since the agent started):
 *   logward_up                                   gauge    1 while the endpoint answers
 *   logward_build_info{version}                  gauge    1
 *   logward_start_time_seconds                   gauge    agent start, epoch seconds
 *   logward_lines_read_total{input}              counter  lines (records) read per input
 *   logward_input_lag_bytes{input}               gauge    bytes in the input's files not read yet (file inputs)
 *   logward_input_open_files{input}              gauge    files held open (file inputs)
 *   logward_input_last_activity_timestamp_seconds{input}  gauge  last line read (absent before the first)
 *   logward_events_shipped_total                 counter  frames written to the destination (counter frames_written;
 *                                                         a replay after a reconnect counts again)
 *   logward_events_neutralized_total             counter  events_neutralized
 *   logward_events_redacted_total                counter  events_redacted
 *   logward_events_invalid_total                 counter  events_invalid
 *   logward_events_truncated_total               counter  events_truncated
 *   logward_events_dropped_total                 counter  queue_dropped_records (when_full: drop_oldest)
 *   logward_internal_events_total                counter  internal_events (the agent's own events)
 *   logward_unread_released_bytes_total          counter  bytes_unread_released (rotated away or deleted unread)
 *   logward_queue_bytes / logward_queue_records  gauge    disk queue size (absent before the queue is open)
 *   logward_queue_backlog_records                gauge    written and not yet handed to the socket
 *   logward_queue_blocked                        gauge    1 while an append waits for space
 *   logward_sink_connected                       gauge    1 while connected to the destination
 *   logward_sink_reconnects_total                counter  reconnects
 *   logward_tls_failures_total                   counter  tls_failures
 *   logward_last_send_timestamp_seconds          gauge    last write to the destination (absent before the first)
 *   logward_clock_offset_seconds                 gauge    median SNTP offset (absent until measured)
 *   logward_clock_drifting                       gauge    1 while the offset is past max_offset (absent without NTP)
 *   logward_rule_firings_total{rule}             counter  counters named "rule_fired:<rule>" (RULE_FIRING_PREFIX)
 *   logward_internal_count_total{name}           counter  EVERY internal counter, verbatim, including the ones
 *                                                         above: nothing counted is hidden, and a counter added
 *                                                         later shows up without a change here. Mixed units
 *                                                         (lines, bytes, frames): never sum across names.
 *   process_*, nodejs_*                          prom-client's default process metrics (memory, CPU, fds)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';

import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

import { backlogRecords, type AgentSnapshot } from './snapshot.js';

/** Counters named RULE_FIRING_PREFIX + rule name become logward_rule_firings_total{rule}. */
import { RULE_FIRING_PREFIX } from './counters.js';

export { RULE_FIRING_PREFIX };

export interface MetricsLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  /** prom-client's process_* and nodejs_* metrics. Default true. */
  processMetrics?: boolean;
}

export interface MetricsServerDeps {
  snapshot: () => AgentSnapshot;
  log?: MetricsLogger;
}

export interface Health {
  ok: boolean;
  /** One line: "ok", or why not. */
  reason: string;
}

/**
 * 200 while connected and the sink wrote within two heartbeats, or while
 * nothing waits to be sent (an idle agent on a quiet host is healthy).
 */
export function health(s: AgentSnapshot): Health {
  if (!s.sink || !s.queue) return { ok: false, reason: 'not started: no destination or queue yet' };
  if (!s.sink.connected) return { ok: false, reason: `not connected to the destination${s.sink.host ? ` (last: ${s.sink.host})` : ''}` };
  const backlog = backlogRecords(s.queue);
  if (backlog === 0) return { ok: true, reason: 'ok' };
  const limit = 2 * s.heartbeatMs;
  if (s.sink.lastSendAt === undefined) return { ok: false, reason: `${backlog} events waiting and nothing sent since start` };
  const age = s.now - s.sink.lastSendAt;
  if (age <= limit) return { ok: true, reason: 'ok' };
  return { ok: false, reason: `${backlog} events waiting and the last send was ${Math.round(age / 1000)} s ago (more than two heartbeats)` };
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (LOOPBACK_NAMES.has(h) || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

/** The host part of a Host header ("[::1]:9880" → "::1", "127.0.0.1:9880" → "127.0.0.1"). */
function hostOfHeader(value: string): string {
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end < 0 ? value : value.slice(1, end);
  }
  const colon = value.lastIndexOf(':');
  return colon < 0 ? value : value.slice(0, colon);
}

const SECURITY_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

export class MetricsServer {
  private readonly registry = new Registry();
  private current: AgentSnapshot | undefined;
  private server: Server | undefined;

  constructor(
    private readonly opts: MetricsServerOptions,
    private readonly deps: MetricsServerDeps,
  ) {
    this.define();
    if (opts.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client exports nodejs_active_*_total as gauges; promtool rightly flags "_total" on a
      // non-counter, and the must-show is a clean `promtool check metrics`. They go.
      for (const m of this.registry.getMetricsAsArray()) {
        const name = (m as { name?: unknown }).name;
        if (typeof name === 'string' && name.endsWith('_total') && !(m instanceof Counter)) this.registry.removeSingleMetric(name);
      }
    }
  }

  async start(): Promise<{ port: number }> {
    if (this.server) throw new Error('metrics server already started');
    const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, maxHeaderSize: 8192 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    // A scraper, a status command, a health check: a handful at a time is plenty.
    server.maxConnections = 32;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.host, port: this.opts.port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.deps.log?.error({ err }, 'metrics endpoint error'));
    this.server = server;
    return { port: (server.address() as AddressInfo).port };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** The Prometheus text for one snapshot (what GET /metrics answers). */
  async render(s: AgentSnapshot): Promise<string> {
    this.current = s;
    try {
      return await this.registry.metrics();
    } finally {
      this.current = undefined;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // The body, if any, is never read: close instead of draining it.
      res.shouldKeepAlive = false;
      this.reply(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    if (isLoopbackHost(this.opts.host) && !isLoopbackHost(hostOfHeader(req.headers.host ?? ''))) {
      this.reply(res, 403, 'text/plain; charset=utf-8', 'forbidden: the Host header must name a loopback address\n');
      return;
    }
    const path = (req.url ?? '/').split('?', 1)[0];
    switch (path) {
      case '/metrics': {
        const text = await this.render(this.deps.snapshot());
        this.reply(res, 200, this.registry.contentType, text);
        return;
      }
      case '/healthz': {
        const h = health(this.deps.snapshot());
        this.reply(res, h.ok ? 200 : 503, 'text/plain; charset=utf-8', h.reason + '\n');
        return;
      }
      case '/status':
        this.reply(res, 200, 'application/json; charset=utf-8', JSON.stringify(this.deps.snapshot()) + '\n');
        return;
      default:
        this.reply(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /healthz or /status\n');
    }
  }

  private reply(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
    const bytes = Buffer.from(body, 'utf8');
    res.writeHead(status, { ...SECURITY_HEADERS, ...extra, 'content-type': type, 'content-length': bytes.length });
    res.end(bytes);
  }

  private fail(res: ServerResponse, err: unknown): void {
    this.deps.log?.error({ err }, 'metrics endpoint could not answer');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.reply(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
  }

  private define(): void {
    // collect() runs with `this` bound to the metric, so the scrape's snapshot is reached through a closure.
    const current = (): AgentSnapshot | undefined => this.current;
    const registers = [this.registry];
    type Labels = Record<string, string>;
    type Put = (value: number | undefined, labels?: Labels) => void;

    const gauge = (name: string, help: string, labelNames: string[], fill: (s: AgentSnapshot, put: Put) => void): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          const s = current();
          let any = false;
          if (s) {
            fill(s, (v, labels) => {
              if (v === undefined || !Number.isFinite(v)) return;
              any = true;
              if (labels) this.set(labels, v);
              else this.set(v);
            });
          }
          // A labelless gauge starts at 0 after reset(); unknown is absent, not 0.
          if (!any && labelNames.length === 0) this.remove();
        },
      });
    };
    const counter = (name: string, help: string, labelNames: string[], fill: (s: AgentSnapshot, put: Put) => void): void => {
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          const s = current();
          if (!s) return;
          fill(s, (v, labels) => {
            // Counters.add never subtracts; a negative would make prom-client throw and lose the scrape.
            const n = v === undefined || !Number.isFinite(v) ? 0 : Math.max(0, v);
            if (labels) this.inc(labels, n);
            else this.inc(n);
          });
        },
      });
    };
    const fromCounter = (name: string, help: string, key: string): void => counter(name, `${help} (counter ${key})`, [], (s, put) => put(s.counters[key] ?? 0));

    gauge('logward_up', 'Whether the agent answers (always 1 when scraped).', [], (_s, put) => put(1));
    gauge('logward_build_info', 'Build information; the value is always 1.', ['version'], (s, put) => put(1, { version: s.version }));
    gauge('logward_start_time_seconds', 'When the agent started, in seconds since the epoch.', [], (s, put) => put(s.startedAt / 1000));

    counter('logward_lines_read_total', 'Lines (records) read, per input.', ['input'], (s, put) => {
      for (const i of s.inputs) put(i.linesRead, { input: i.id });
    });
    gauge('logward_input_lag_bytes', 'Bytes in the input files not read yet.', ['input'], (s, put) => {
      for (const i of s.inputs) put(i.lagBytes, { input: i.id });
    });
    gauge('logward_input_open_files', 'Files the input holds open.', ['input'], (s, put) => {
      for (const i of s.inputs) put(i.openFiles, { input: i.id });
    });
    gauge('logward_input_last_activity_timestamp_seconds', 'When the input last read a line, in seconds since the epoch.', ['input'], (s, put) => {
      for (const i of s.inputs) put(i.lastActivityAt === undefined ? undefined : i.lastActivityAt / 1000, { input: i.id });
    });

    fromCounter('logward_events_shipped_total', 'Events written to the destination; replays after a reconnect count again', 'frames_written');
    fromCounter('logward_events_neutralized_total', 'Events with characters neutralized (log injection)', 'events_neutralized');
    fromCounter('logward_events_redacted_total', 'Events with secrets masked', 'events_redacted');
    fromCounter('logward_events_invalid_total', 'Events that failed validation and were shipped as minimal events', 'events_invalid');
    fromCounter('logward_events_truncated_total', 'Events cut to a size limit', 'events_truncated');
    fromCounter('logward_events_dropped_total', 'Events dropped by the disk queue (when_full: drop_oldest)', 'queue_dropped_records');
    fromCounter('logward_internal_events_total', "The agent's own events (start, stop, alerts, heartbeats)", 'internal_events');
    fromCounter('logward_unread_released_bytes_total', 'Bytes of log files rotated away or deleted before they were read', 'bytes_unread_released');
    fromCounter('logward_sink_reconnects_total', 'Connections to the destination after the first', 'reconnects');
    fromCounter('logward_tls_failures_total', 'TLS handshakes or verifications that failed', 'tls_failures');

    gauge('logward_queue_bytes', 'Bytes in the disk queue.', [], (s, put) => put(s.queue?.bytes));
    gauge('logward_queue_records', 'Records in the disk queue (including the resend window).', [], (s, put) => put(s.queue?.records));
    gauge('logward_queue_backlog_records', 'Records written to the queue and not yet handed to the destination.', [], (s, put) =>
      put(s.queue ? backlogRecords(s.queue) : undefined),
    );
    gauge('logward_queue_blocked', 'Whether an append waits for space in the disk queue (1) or not (0).', [], (s, put) =>
      put(s.queue === undefined ? undefined : s.queue.blocked ? 1 : 0),
    );
    gauge('logward_sink_connected', 'Whether the agent is connected to the destination (1) or not (0).', [], (s, put) => put(s.sink?.connected ? 1 : 0));
    gauge('logward_last_send_timestamp_seconds', 'When the agent last wrote to the destination, in seconds since the epoch.', [], (s, put) =>
      put(s.sink?.lastSendAt === undefined ? undefined : s.sink.lastSendAt / 1000),
    );
    gauge('logward_clock_offset_seconds', 'Median offset of the host clock against the NTP servers (positive: host is behind).', [], (s, put) =>
      put(s.clock?.offsetMs === undefined ? undefined : s.clock.offsetMs / 1000),
    );
    gauge('logward_clock_drifting', 'Whether the clock offset is past monitoring.clock.max_offset (1) or not (0).', [], (s, put) =>
      put(s.clock === undefined ? undefined : s.clock.drifting ? 1 : 0),
    );

    counter('logward_rule_firings_total', 'Alert rule firings, per rule.', ['rule'], (s, put) => {
      for (const name in s.counters) {
        if (name.startsWith(RULE_FIRING_PREFIX)) put(s.counters[name], { rule: name.slice(RULE_FIRING_PREFIX.length) });
      }
    });
    counter('logward_internal_count_total', 'Every internal counter of the agent by name (mixed units: do not sum across names).', ['name'], (s, put) => {
      for (const name in s.counters) put(s.counters[name], { name });
    });
  }
}
