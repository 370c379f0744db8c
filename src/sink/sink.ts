/**
 * SyslogSink: keeps one connection to the best reachable destination and
 * pumps the queue into it.
 *
 * Connection management:
 * - Each attempt walks `hosts` in order (failover.ts); all failing means one
 *   failed attempt. p-retry runs the attempts (counting consecutive failures,
 *   ended by stop()) and each failure sleeps backoff.ts's delay: exponential
 *   between retry.minDelayMs and retry.maxDelayMs, jittered at every attempt,
 *   also at the cap (jitteredRetry).
 * - A session must prove its host healthy by lasting healthyMs() (default
 *   max(10 s, min_delay)). One that ends sooner (the peer closed, a TLS 1.3
 *   client certificate rejection arriving as an alert after 'secureConnect'
 *   (tls.ts), a dead connection) is a failed attempt of that host: the
 *   closure is reported like a connect failure (tls_failure/connect_failure
 *   with a reason; connect_failure, even over TLS, when the host could not be
 *   reached: isNoConnection), the backoff continues, and the next attempt starts at the
 *   next host, so a host that accepts and drops us cannot keep the sink from
 *   a healthy one, nor make it spin. A session that proved healthy and then
 *   dropped starts a fresh backoff from the first host.
 * - On a secondary host, PrimaryProbe checks the first host; when it is back
 *   the session ends at a batch boundary and the next attempt starts at the
 *   top. After the first host dropped a session, "back" also means the probe
 *   connection stayed open for healthyMs(), or the sink would flap between a
 *   dropping first host and the healthy second one at every probe.
 * - Every new connection resumes from source.rewind() (replayPosition() for a
 *   source without it): the queue's resend window is replayed, so a silently
 *   failed connection loses nothing younger than the window. rewind() is also
 *   called as soon as a session ends (except on stop), so that the marks of a
 *   dead connection cannot age into acknowledgements during the backoff.
 * - A connection is dead when a write does not drain, or (Linux) when bytes
 *   it wrote stay unacknowledged by the peer, for dead_after; it is destroyed
 *   and replayed like any failed connection (session.ts, unacked-watch.ts).
 * - No plaintext fallback: tcp/udp exist only when the configuration says
 *   allow_insecure, never as a reaction to a TLS failure.
 */

import type net from 'node:net';
import pRetry, { AbortError } from 'p-retry';
import { ConfigError } from '../errors.js';
import { jitteredRetry, sleep } from './backoff.js';
import { CertExpiryWatch } from './cert-expiry.js';
import { discardIncoming } from './discard.js';
import { ConnectFailure, classifyConnectError, isNoConnection } from './classify.js';
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
  /** Where the next connectInOrder walk starts: after a host whose session failed, else 0. */
  private nextStart = 0;
  /** The last session on the first host ended before it proved healthy (the probe must then hold its connection). */
  private primaryDropped = false;

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
        opts.protocol === 'tls'
          ? createTlsConnector(opts, this.expiry, deps.counters)
          : createTcpConnector(opts.deadAfterMs);
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
    // The live session's last write counts at once: a connection can ship for hours, and status,
    // /healthz and the last-send metric must not say "never" meanwhile (found by an operator audit).
    const lastSendAt = this.session?.lastSendAt ?? this.lastSendAt;
    return {
      connected: this.session !== undefined,
      ...(this.current ? { host: this.current.label } : {}),
      ...(lastSendAt === undefined ? {} : { lastSendAt }),
      reconnects: Math.max(0, this.sessions - 1),
      ...(this.session ? { bufferedBytes: this.session.bufferedBytes } : {}),
    };
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        // Resolves only when a session ended after proving healthy (or on failback/stop): the
        // next failure then starts a fresh backoff; every other end keeps this one growing.
        await pRetry(
          () => this.attempt(),
          jitteredRetry(this.opts.retry, this.abort.signal, (ctx, retryInMs) => {
            this.deps.counters.add('connect_attempts_failed');
            this.deps.log?.info({ attempt: ctx.attemptNumber, retryInMs }, 'no working connection; trying again after the backoff');
          }),
        );
      } catch (err) {
        if (this.stopping) return;
        // Only a bug gets here (p-retry gives up on TypeErrors); log it and keep the sink alive.
        this.deps.counters.add('sink_errors');
        this.deps.log?.error({ err }, 'sink loop failed; restarting it');
        // An abort (stop) ends the wait early; the loop condition then ends the loop.
        await sleep(this.opts.retry.maxDelayMs, this.abort.signal).catch(() => undefined);
      }
    }
  }

  /**
   * One attempt: connect to the best host and run a session on it until it
   * ends. Returns when the session proved healthy (or was ended on purpose);
   * throws, i.e. a failed attempt that continues the backoff, otherwise.
   */
  private async attempt(): Promise<void> {
    const connector = this.connector as StreamConnector;
    const { conn, index } = await connectInOrder(
      this.targets,
      connector,
      (t, f) => this.reportFailure(t, f),
      (t, err) => this.toFailure(t, err, false),
      this.nextStart,
    );
    if (this.stopping && Date.now() >= this.stopDeadline) {
      conn.socket.destroy();
      throw new AbortError('sink stopped');
    }
    const now = this.deps.now ?? Date.now;
    const startedAt = now();
    const end = await this.runSession(conn, index);
    const livedMs = now() - startedAt;
    if (this.stopping || end.kind === 'stopped') return;
    // The next connection resumes at the acknowledged cursor anyway (session.ts); forgetting this
    // one's unacknowledged marks now, not after the backoff, keeps them from aging into
    // acknowledgements while no connection is alive (a backoff can outlast the resend window).
    this.source.rewind?.();
    if (end.kind === 'failback') {
      this.nextStart = 0;
      return;
    }
    if (end.kind === 'source_error') {
      // The queue failed, not the host: back off, and come back to the same host.
      this.deps.counters.add('source_errors');
      this.deps.log?.error({ err: end.error }, 'reading the queue failed; retrying');
      throw new ConnectFailure(conn.target.label, 'other', `queue read failed: ${end.error?.message ?? 'unknown'}`);
    }
    // 'closed' or 'dead'. TLS 1.3: the server refused our certificate after our side of the handshake was done.
    const rejected =
      end.kind === 'closed' && end.error !== undefined && classifyConnectError(end.error, true).reason === 'client_cert_rejected';
    // A dead connection took deadAfterMs to be found dead: only what it lived before that proves
    // anything (dead_after is longer than the healthy time by default, so a stalled first host
    // would otherwise always count as healthy and never be failed over; found by review).
    const provenMs = end.kind === 'dead' ? livedMs - this.opts.deadAfterMs : livedMs;
    if (!rejected && provenMs >= this.healthyMs()) {
      // The host proved healthy; this is a new incident: fresh backoff, best host first.
      this.nextStart = 0;
      if (index === 0) this.primaryDropped = false;
      return;
    }
    // A failed attempt of this host: the next attempt starts at the next host (the walk wraps around).
    this.nextStart = index + 1;
    if (index === 0) this.primaryDropped = true;
    const failure = this.sessionFailure(conn.target, end, livedMs);
    // A dead connection was reported as dead_connection already.
    if (end.kind === 'closed') this.reportFailure(conn.target, failure);
    throw failure;
  }

  /** Why a session that did not prove healthy ended, as a connect failure of its host. */
  private sessionFailure(t: HostTarget, end: SessionEnd, livedMs: number): ConnectFailure {
    const proof = `a session must last ${this.healthyMs()} ms to count as working`;
    if (end.kind === 'dead') {
      const what = end.deadCause === 'unacked' ? 'acknowledged nothing written' : 'stopped draining';
      return new ConnectFailure(t.label, 'timeout', `the connection ${what} for ${this.opts.deadAfterMs} ms, ${livedMs} ms after it was made; ${proof}`);
    }
    if (end.error) {
      const { reason, detail } = classifyConnectError(end.error, true);
      return new ConnectFailure(t.label, reason, `${detail}, ${livedMs} ms after the connection was made; ${proof}`, {
        cause: end.error,
      });
    }
    return new ConnectFailure(t.label, 'reset', `the peer closed the connection ${livedMs} ms after it was made; ${proof}`);
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

  /**
   * How long a session must last before its end counts as a new incident
   * (fresh backoff, first host first) rather than a failed attempt of its
   * host. 10 s is far beyond connect + handshake + a TLS 1.3 certificate
   * rejection (which arrives within a round trip or two) and beyond what a
   * balancer without backends takes to give up, so those are caught; and a
   * peer that closes every session just after it still gets at most one
   * connection per 10 s plus min_delay, a bounded rate, not a tight loop.
   * Never below min_delay, so a proven session cannot reconnect faster than
   * the configured minimum.
   */
  private healthyMs(): number {
    return this.opts.healthyAfterMs ?? Math.max(10_000, this.opts.retry.minDelayMs);
  }

  private startProbe(session: StreamSession, on: HostTarget): void {
    const primary = this.targets[0] as HostTarget;
    const connector = this.connector as StreamConnector;
    const interval = this.opts.probePrimaryMs ?? Math.max(1000, this.opts.retry.maxDelayMs);
    this.probe = new PrimaryProbe(
      interval,
      async (signal) => {
        const probe = await connector(primary);
        probe.socket.on('error', (err: Error) => this.deps.log?.debug({ err }, 'probe socket error'));
        try {
          // It accepted and then dropped a session before: back only if it holds a connection too.
          if (this.primaryDropped) await this.holdOpen(probe.socket, primary, this.healthyMs(), signal);
        } finally {
          probe.socket.end();
          setTimeout(() => probe.socket.destroy(), 1000).unref();
        }
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

  /** Resolves when the peer kept the (idle) connection open for ms; rejects when it closed or failed it. */
  private holdOpen(socket: net.Socket, t: HostTarget, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const startedAt = Date.now();
      const done = (err?: unknown): void => {
        clearTimeout(timer);
        stopDiscarding();
        socket.off('error', onError);
        socket.off('end', onClose);
        socket.off('close', onClose);
        signal.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onError = (err: Error): void => done(this.toFailure(t, err, true));
      const onClose = (): void =>
        done(new ConnectFailure(t.label, 'reset', `the peer closed the probe connection after ${Date.now() - startedAt} ms`));
      const onAbort = (): void => done(signal.reason ?? new Error('probe stopped'));
      const stopDiscarding = discardIncoming(socket, this.deps.counters);
      const timer = setTimeout(() => done(), ms);
      socket.on('error', onError);
      socket.once('end', onClose);
      socket.once('close', onClose);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
    });
  }

  private toFailure(t: HostTarget, err: unknown, handshakeDone: boolean): ConnectFailure {
    if (err instanceof ConnectFailure) return err;
    const { reason, detail } = classifyConnectError(err, handshakeDone);
    return new ConnectFailure(t.label, reason, detail, { cause: err });
  }

  private reportFailure(t: HostTarget, f: ConnectFailure): void {
    this.deps.counters.add('connect_failures');
    // A host that refused, did not answer or could not be reached is a network problem: calling it a
    // TLS failure sends the operator after certificates instead of the network (found by an audit).
    if (this.opts.protocol === 'tls' && !isNoConnection(f.reason)) {
      this.deps.counters.add('tls_failures');
      this.deps.onEvent({ type: 'tls_failure', host: t.label, reason: f.reason, detail: f.detail });
    } else {
      this.deps.onEvent({ type: 'connect_failure', host: t.label, reason: f.reason, detail: f.detail });
    }
    this.deps.log?.warn({ host: t.label, reason: f.reason, detail: f.detail }, 'connection attempt failed');
  }
}
