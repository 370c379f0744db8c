/**
 * SyslogSink: keeps one connection to the best reachable destination and
 * pumps the queue into it.
 *
 * Connection management:
 * - Each attempt walks `hosts` in order (failover.ts); all failing means one
 *   failed attempt, and attempts are spaced by p-retry (jittered exponential
 *   backoff between retry.minDelayMs and retry.maxDelayMs).
 * - A connection that fails shortly after it was made (a TLS 1.3 client
 *   certificate rejection arrives as an alert just after 'secureConnect', see
 *   tls.ts) counts as a failed attempt too, so a rejecting peer cannot make
 *   the sink spin. A connection that worked for a while and then dropped
 *   starts a fresh backoff.
 * - On a secondary host, PrimaryProbe checks the first host; when it is back
 *   the session ends at a batch boundary and the next attempt starts at the top.
 * - Every new connection resumes from source.replayPosition(): the queue's
 *   resend window is replayed, so a silently failed connection loses nothing
 *   younger than the window.
 * - A connection is dead when a write does not drain, or (Linux) when bytes
 *   it wrote stay unacknowledged by the peer, for dead_after; it is destroyed
 *   and replayed like any failed connection (session.ts, unacked-watch.ts).
 * - No plaintext fallback: tcp/udp exist only when the configuration says
 *   allow_insecure, never as a reaction to a TLS failure.
 */

import pRetry, { AbortError } from 'p-retry';
import { ConfigError } from '../errors.js';
import { CertExpiryWatch } from './cert-expiry.js';
import { ConnectFailure, classifyConnectError } from './classify.js';
import { type HostTarget, PrimaryProbe, connectInOrder, parseHosts } from './failover.js';
import { type SessionEnd, StreamSession } from './session.js';
import { createTcpConnector } from './tcp.js';
import { type StreamConnection, type StreamConnector, createTlsConnector } from './tls.js';
import { UdpSender } from './udp.js';
import { UnackedReader } from './unacked-watch.js';
import type { FrameSource, SinkDeps, SinkOptions, SinkStatus } from './types.js';

/**
 * Payload bytes per read from the queue and per socket write. Each batch costs
 * a queue read (promises, a descriptor check) and a TLS write call whatever its
 * size, so a bigger batch sends more per call; 256 KiB stays far below what a
 * connection buffers anyway (see StreamSession: at most one batch beyond the
 * high-water mark).
 */
export const DEFAULT_MAX_BATCH_BYTES = 256 * 1024;
const CONFIG_PATH = 'output.destination';

export class SyslogSink {
  private readonly targets: HostTarget[];
  private readonly connector: StreamConnector | undefined;
  private readonly udp: UdpSender | undefined;
  private readonly unacked: UnackedReader | undefined;
  private readonly expiry: CertExpiryWatch;
  private readonly maxBatchBytes: number;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private session: StreamSession | undefined;
  private current: HostTarget | undefined;
  private probe: PrimaryProbe | undefined;
  private stopping = false;
  private stopDeadline = Infinity;
  private sessions = 0;
  private lastSendAt: number | undefined;

  constructor(
    private readonly opts: SinkOptions,
    private readonly source: FrameSource,
    private readonly deps: SinkDeps,
  ) {
    if (opts.protocol !== 'tls' && !opts.allowInsecure) {
      throw new ConfigError(
        `${CONFIG_PATH}.protocol`,
        `${opts.protocol} sends logs unencrypted and unauthenticated; it needs ${CONFIG_PATH}.allow_insecure: true`,
      );
    }
    if (opts.protocol === 'tls' && !opts.caFile && !opts.systemCa) {
      throw new ConfigError(`${CONFIG_PATH}.ca`, 'a CA file is required for tls');
    }
    if (!(opts.deadAfterMs > 0)) throw new ConfigError(`${CONFIG_PATH}.dead_after`, 'must be positive');
    if (!(opts.retry.minDelayMs >= 0 && opts.retry.maxDelayMs >= opts.retry.minDelayMs)) {
      throw new ConfigError('output.retry', 'min_delay must be >= 0 and <= max_delay');
    }
    this.targets = parseHosts(opts.hosts, opts.protocol, `${CONFIG_PATH}.hosts`);
    this.maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.expiry = new CertExpiryWatch(deps.onEvent);
    if (opts.protocol === 'udp') {
      this.udp = new UdpSender(
        this.targets[0] as HostTarget,
        source,
        deps.counters,
        { maxBatchBytes: this.maxBatchBytes, retry: opts.retry },
        deps.log,
      );
    } else {
      this.unacked = new UnackedReader(deps.counters, deps.log);
      this.connector =
        opts.protocol === 'tls' ? createTlsConnector(opts, this.expiry) : createTcpConnector(opts.deadAfterMs);
    }
  }

  async start(): Promise<void> {
    if (this.loop) return;
    if (this.opts.protocol !== 'tls') {
      this.deps.onEvent({ type: 'insecure_transport', protocol: this.opts.protocol });
      this.deps.log?.warn({ protocol: this.opts.protocol }, 'insecure transport: logs leave this host unencrypted');
    }
    if (this.udp) {
      this.udp.start();
      this.loop = Promise.resolve();
      return;
    }
    this.loop = this.run();
  }

  /** Send what can be sent within graceMs, close with close_notify, and stop retrying. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.stopDeadline = Date.now() + graceMs;
    this.probe?.stop();
    if (this.udp) {
      await this.udp.stop(graceMs);
      return;
    }
    this.session?.requestStop(this.stopDeadline);
    // Ends a backoff wait at once; a session in progress still drains (p-retry awaits it).
    this.abort.abort(new Error('sink stopped'));
    await this.loop;
  }

  status(): SinkStatus {
    if (this.udp) {
      return {
        connected: this.udp.connected,
        host: this.targets[0]?.label,
        lastSendAt: this.udp.lastSendAt,
        reconnects: 0,
      };
    }
    return {
      connected: this.session !== undefined,
      ...(this.current ? { host: this.current.label } : {}),
      ...(this.lastSendAt === undefined ? {} : { lastSendAt: this.lastSendAt }),
      reconnects: Math.max(0, this.sessions - 1),
      ...(this.session ? { bufferedBytes: this.session.bufferedBytes } : {}),
    };
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await pRetry(() => this.attempt(), {
          retries: Infinity,
          minTimeout: this.opts.retry.minDelayMs,
          maxTimeout: this.opts.retry.maxDelayMs,
          factor: 2,
          randomize: true,
          signal: this.abort.signal,
          onFailedAttempt: () => this.deps.counters.add('connect_attempts_failed'),
        });
      } catch (err) {
        if (this.stopping) return;
        // Only a bug gets here (p-retry gives up on TypeErrors); log it and keep the sink alive.
        this.deps.counters.add('sink_errors');
        this.deps.log?.error({ err }, 'sink loop failed; restarting it');
        await new Promise((r) => setTimeout(r, this.opts.retry.maxDelayMs).unref());
      }
    }
  }

  /** One attempt: connect to the best host and run a session on it until it ends. */
  private async attempt(): Promise<void> {
    const connector = this.connector as StreamConnector;
    const { conn, index } = await connectInOrder(
      this.targets,
      connector,
      (t, f) => this.reportFailure(t, f),
      (t, err) => this.toFailure(t, err, false),
    );
    if (this.stopping && Date.now() >= this.stopDeadline) {
      conn.socket.destroy();
      throw new AbortError('sink stopped');
    }
    const startedAt = Date.now();
    const end = await this.runSession(conn, index);
    if (this.stopping || end.kind === 'stopped' || end.kind === 'failback') return;
    if (end.kind === 'source_error') {
      this.deps.counters.add('source_errors');
      this.deps.log?.error({ err: end.error }, 'reading the queue failed; retrying');
      throw new ConnectFailure(conn.target.label, 'other', `queue read failed: ${end.error?.message ?? 'unknown'}`);
    }
    if (end.kind !== 'closed') return;
    if (end.error) {
      const { reason, detail } = classifyConnectError(end.error, true);
      if (reason === 'client_cert_rejected') {
        // TLS 1.3: the server refused our certificate after our side of the handshake was done.
        const failure = new ConnectFailure(conn.target.label, reason, detail, { cause: end.error });
        this.reportFailure(conn.target, failure);
        throw failure;
      }
    }
    if (Date.now() - startedAt < this.shortLivedMs()) {
      // Dropped right after it was made: back off instead of reconnecting in a tight loop.
      throw new ConnectFailure(
        conn.target.label,
        'reset',
        end.error ? `closed right after connecting: ${end.error.message}` : 'closed by the peer right after connecting',
      );
    }
  }

  private async runSession(conn: StreamConnection, index: number): Promise<SessionEnd> {
    const session = new StreamSession(conn.socket, this.source, this.deps.counters, {
      maxBatchBytes: this.maxBatchBytes,
      deadAfterMs: this.opts.deadAfterMs,
      ...(this.unacked ? { unacked: this.unacked } : {}),
    });
    this.session = session;
    this.current = conn.target;
    this.sessions++;
    if (this.sessions > 1) this.deps.counters.add('reconnects');
    this.deps.counters.add('connections');
    this.deps.onEvent({
      type: 'connected',
      host: conn.target.label,
      protocol: this.opts.protocol,
      ...(conn.tlsVersion ? { tlsVersion: conn.tlsVersion } : {}),
    });
    this.deps.log?.info({ host: conn.target.label, tls: conn.tlsVersion }, 'connected');
    if (this.stopping) session.requestStop(this.stopDeadline);
    if (index > 0 && !this.stopping) this.startProbe(session, conn.target);
    let end: SessionEnd;
    try {
      end = await session.run();
    } finally {
      this.probe?.stop();
      this.probe = undefined;
      if (session.lastSendAt !== undefined) this.lastSendAt = session.lastSendAt;
      this.session = undefined;
      this.current = undefined;
    }
    if (end.kind === 'dead') {
      const cause = end.deadCause ?? 'no_drain';
      this.deps.onEvent({ type: 'dead_connection', host: conn.target.label, stalledMs: this.opts.deadAfterMs, cause });
      this.deps.log?.warn(
        { host: conn.target.label, deadAfterMs: this.opts.deadAfterMs, cause },
        cause === 'unacked'
          ? 'the destination acknowledged nothing written; connection destroyed'
          : 'connection stopped draining; destroyed',
      );
    }
    const reason = end.error ? `${end.kind}: ${end.error.message}` : end.kind;
    this.deps.onEvent({ type: 'disconnected', host: conn.target.label, reason });
    this.deps.log?.info({ host: conn.target.label, reason }, 'disconnected');
    return end;
  }

  private shortLivedMs(): number {
    return Math.max(1000, this.opts.retry.minDelayMs);
  }

  private startProbe(session: StreamSession, on: HostTarget): void {
    const primary = this.targets[0] as HostTarget;
    const connector = this.connector as StreamConnector;
    const interval = this.opts.probePrimaryMs ?? Math.max(1000, this.opts.retry.maxDelayMs);
    this.probe = new PrimaryProbe(
      interval,
      async () => {
        const probe = await connector(primary);
        probe.socket.on('error', (err: Error) => this.deps.log?.debug({ err }, 'probe socket error after success'));
        probe.socket.end();
        setTimeout(() => probe.socket.destroy(), 1000).unref();
      },
      () => {
        this.deps.counters.add('failbacks');
        this.deps.onEvent({ type: 'failback', from: on.label, to: primary.label });
        this.deps.log?.info({ from: on.label, to: primary.label }, 'first host is back; moving to it');
        session.requestFailback();
      },
      (err) => {
        this.deps.counters.add('primary_probe_failures');
        this.deps.log?.debug({ err, host: primary.label }, 'first host still unavailable');
      },
    );
    this.probe.start();
  }

  private toFailure(t: HostTarget, err: unknown, handshakeDone: boolean): ConnectFailure {
    if (err instanceof ConnectFailure) return err;
    const { reason, detail } = classifyConnectError(err, handshakeDone);
    return new ConnectFailure(t.label, reason, detail, { cause: err });
  }

  private reportFailure(t: HostTarget, f: ConnectFailure): void {
    this.deps.counters.add('connect_failures');
    if (this.opts.protocol === 'tls') {
      this.deps.counters.add('tls_failures');
      this.deps.onEvent({ type: 'tls_failure', host: t.label, reason: f.reason, detail: f.detail });
    } else {
      this.deps.onEvent({ type: 'connect_failure', host: t.label, reason: f.reason, detail: f.detail });
    }
    this.deps.log?.warn({ host: t.label, reason: f.reason, detail: f.detail }, 'connection attempt failed');
  }
}
