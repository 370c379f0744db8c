/**
 * Destinations in order of preference.
 *
 * Every connection attempt walks the list from the first host; the first that
 * completes a verified connection wins, so after any reconnect the sink is on
 * the best host that is up. Exception: a host whose session ended before it
 * proved healthy (it accepted us and then dropped us: a balancer without
 * backends, a receiver refusing our certificate after the handshake) failed
 * that attempt, so the next walk starts at the host after it and comes to it
 * last; otherwise the sink would reconnect to it forever while the next host
 * idles. While on a secondary, a PrimaryProbe makes a full
 * (verified) connection to the first host now and then; a TCP-level success
 * is not enough, since a primary with an expired certificate is not "back",
 * and after the first host dropped a session the probe must also hold its
 * connection open for a while (sink.ts). When the probe succeeds it closes
 * its own connection and tells the sink to move; the sink then reconnects
 * from the top and replays its resend window.
 */

import net from 'node:net';
import { ConfigError } from '../errors.js';
import type { ConnectFailure } from './classify.js';
import type { SinkProtocol } from './types.js';

export interface HostTarget {
  /** Name or IP literal (no brackets). */
  readonly host: string;
  readonly port: number;
  /** The entry as configured, for logs and events. */
  readonly label: string;
}

const DEFAULT_PORT: Readonly<Record<SinkProtocol, number>> = { tls: 6514, tcp: 601, udp: 514 };

/** "host:port", "[v6]:port", or a bare host/IPv4/IPv6 (then the protocol's default port). */
export function parseHostEntry(entry: string, protocol: SinkProtocol, configPath: string): HostTarget {
  const text = entry.trim();
  let host: string;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) {
    host = bracket[1] as string;
    portText = bracket[2];
  } else if (net.isIPv6(text)) {
    host = text;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon === -1) {
      host = text;
    } else {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    }
  }
  if (host === '' || /\s/.test(host)) throw new ConfigError(configPath, `not a host: ${JSON.stringify(entry)}`);
  let port = DEFAULT_PORT[protocol];
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new ConfigError(configPath, `not a port: ${JSON.stringify(entry)}`);
  }
  return { host, port, label: entry };
}

export function parseHosts(entries: readonly string[], protocol: SinkProtocol, configPath: string): HostTarget[] {
  if (entries.length === 0) throw new ConfigError(configPath, 'at least one host is required');
  return entries.map((e, i) => parseHostEntry(e, protocol, `${configPath}[${i}]`));
}

/**
 * Try each target in order, starting at index `start` and wrapping around
 * (so every target is tried once); return the first connection and its index
 * in `targets`. Every failure is reported; when all fail, the last failure is
 * thrown.
 */
export async function connectInOrder<C>(
  targets: readonly HostTarget[],
  connect: (t: HostTarget) => Promise<C>,
  onFailure: (t: HostTarget, err: ConnectFailure) => void,
  toFailure: (t: HostTarget, err: unknown) => ConnectFailure,
  start = 0,
): Promise<{ conn: C; index: number }> {
  let last: ConnectFailure | undefined;
  const n = targets.length;
  const first = n === 0 ? 0 : ((start % n) + n) % n;
  for (let k = 0; k < n; k++) {
    const index = (first + k) % n;
    const t = targets[index] as HostTarget;
    try {
      return { conn: await connect(t), index };
    } catch (err) {
      last = toFailure(t, err);
      onFailure(t, last);
    }
  }
  throw last ?? new Error('no targets');
}

/** Periodically checks whether the first host is back, while the sink sits on another. */
export class PrimaryProbe {
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private stopped = false;
  /** Aborts the probe in progress (a probe may hold its connection open for a while). */
  private inProgress: AbortController | undefined;

  constructor(
    private readonly intervalMs: number,
    /**
     * Makes a full verified connection and closes it; rejects when the primary
     * is not usable. The signal is aborted when the probe is stopped.
     */
    private readonly probe: (signal: AbortSignal) => Promise<void>,
    private readonly onBack: () => void,
    private readonly onStillDown: (err: unknown) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.inProgress?.abort(new Error('probe stopped'));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.probing) return;
    this.probing = true;
    const ac = new AbortController();
    this.inProgress = ac;
    try {
      await this.probe(ac.signal);
      if (!this.stopped) {
        this.stopped = true;
        this.onBack();
      }
    } catch (err) {
      if (!this.stopped) this.onStillDown(err);
      this.schedule();
    } finally {
      this.probing = false;
      if (this.inProgress === ac) this.inProgress = undefined;
    }
  }
}
