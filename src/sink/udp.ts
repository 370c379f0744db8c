/**
 * Legacy syslog over UDP (RFC 5426): exactly one message per datagram, no
 * framing bytes. Only with allow_insecure: true. No delivery guarantee, no
 * authentication, no congestion control: loss is undetectable here, which is
 * why the sequence numbers in the payload matter.
 *
 * node:dgram, not syslog-client: syslog-client builds its own RFC 3164/5424
 * header around a JS string and appends LF, while our payloads are already
 * complete, sealed RFC 5424 messages (as Buffers) that must go out
 * byte-identical; wrapping them would break the header and the HMAC chain.
 *
 * Size: a datagram carries at most 65,507 bytes over IPv4 and 65,527 over
 * IPv6. A longer message is cut on a UTF-8 character boundary, ends with
 * UDP_TRUNCATION_MARK so a reader sees it was cut, and is counted
 * (udp_truncated). Send errors (e.g. ECONNREFUSED from an ICMP unreachable on
 * the connected socket) are counted and the message is retried with backoff.
 * So is a failed queue read or wait (counted as source_errors and logged):
 * reading resumes from the same position, so nothing is lost or sent twice.
 */

import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import pRetry from 'p-retry';
import type { Counters } from '../monitor/counters.js';
import { emojiFormAt } from '../sanitize/neutralize.js';
import { backoffDelayMs, jitteredRetry, sleep } from './backoff.js';
import type { HostTarget } from './failover.js';
import type { FrameSource, SinkLogger } from './types.js';

export const UDP_MAX_IPV4 = 65_507;
export const UDP_MAX_IPV6 = 65_527;
export const UDP_TRUNCATION_MARK = Buffer.from('{truncated}', 'ascii');
/** U+200D, U+FE0E, U+FE0F in UTF-8, as 24-bit numbers. */
const ZWJ_UTF8 = 0xe2808d;
const VS15_UTF8 = 0xefb88e;
const VS16_UTF8 = 0xefb88f;

/**
 * The payload if it fits in max bytes; else its longest prefix that ends on a
 * UTF-8 character boundary and leaves room for `mark`, followed by `mark`.
 */
export function truncateUtf8(payload: Buffer, max: number, mark: Buffer = UDP_TRUNCATION_MARK): Buffer {
  if (payload.length <= max) return payload;
  let cut = Math.max(0, max - mark.length);
  // payload[cut] is the first byte left out; while it is a continuation byte, its character started before cut.
  while (cut > 0 && ((payload[cut] as number) & 0xc0) === 0x80) cut--;
  // A ZWJ or presentation selector the cut parted from its emoji would stand raw before the mark.
  for (;;) {
    const last = cut >= 3 ? payload.readUIntBE(cut - 3, 3) : -1;
    if (last !== ZWJ_UTF8 && last !== VS15_UTF8 && last !== VS16_UTF8) break;
    // The tail as text (a character cut at its start decodes as U+FFFD, which is no emoji).
    const tail = payload.toString('utf8', Math.max(0, cut - 32), cut);
    if (last !== ZWJ_UTF8 && emojiFormAt(tail, tail.length - 1)) break;
    cut -= 3;
  }
  return Buffer.concat([payload.subarray(0, cut), mark]);
}

export interface UdpSenderOptions {
  maxBatchBytes: number;
  retry: { minDelayMs: number; maxDelayMs: number };
}

export class UdpSender {
  private socket: dgram.Socket | undefined;
  private stopping = false;
  private stopDeadline = Infinity;
  private loop: Promise<void> | undefined;
  /** Aborted by stop(): ends a wait for data or a backoff after a queue error at once. */
  private readonly stopRequested = new AbortController();
  /** Aborted when stop()'s grace ran out: ends the retries of opening and sending. */
  private readonly abort = new AbortController();
  private maxDatagram = UDP_MAX_IPV4;
  lastSendAt: number | undefined;

  constructor(
    private readonly target: HostTarget,
    private readonly source: FrameSource,
    private readonly counters: Counters,
    private readonly opts: UdpSenderOptions,
    private readonly log?: SinkLogger,
  ) {}

  get connected(): boolean {
    return this.socket !== undefined;
  }

  start(): void {
    this.loop = this.run().catch((err: unknown) => {
      if (!this.stopping) this.log?.error({ err, host: this.target.label }, 'udp sender stopped on an error');
    });
  }

  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.stopDeadline = Date.now() + graceMs;
    this.stopRequested.abort(new Error('sink stopped'));
    const timer = setTimeout(() => this.abort.abort(new Error('sink stopped')), graceMs);
    try {
      await this.loop;
    } finally {
      clearTimeout(timer);
      this.socket?.close();
      this.socket = undefined;
    }
  }

  private retryOptions() {
    return jitteredRetry(this.opts.retry, this.abort.signal);
  }

  /** A queue read or wait failed: count, log, and back off (cut short by stop()). */
  private async sourceFailed(err: unknown, consecutive: number): Promise<void> {
    this.counters.add('source_errors');
    const delayMs = backoffDelayMs(consecutive, this.opts.retry);
    this.log?.error({ err, host: this.target.label, retryInMs: delayMs }, 'reading the queue failed; retrying');
    const stop = this.stopRequested.signal;
    await sleep(delayMs, stop).catch((sleepErr: unknown) => {
      if (!stop.aborted) throw sleepErr;
    });
  }

  /** Resolves when a record after position may be there, or at once on stop(); rejects when the source's wait failed. */
  private waitForData(position: bigint): Promise<void> {
    const stop = this.stopRequested.signal;
    return new Promise<void>((resolve, reject) => {
      const onStop = (): void => resolve();
      stop.addEventListener('abort', onStop, { once: true });
      if (stop.aborted) onStop();
      this.source
        .waitForData(position)
        .finally(() => stop.removeEventListener('abort', onStop))
        .then(resolve, reject);
    });
  }

  private async open(): Promise<dgram.Socket> {
    const { host, port } = this.target;
    const addr = net.isIP(host) ? { address: host, family: net.isIP(host) } : await lookup(host);
    const socket = dgram.createSocket(addr.family === 6 ? 'udp6' : 'udp4');
    this.maxDatagram = addr.family === 6 ? UDP_MAX_IPV6 : UDP_MAX_IPV4;
    socket.on('error', (err) => {
      this.counters.add('udp_send_errors');
      this.log?.warn({ err, host: this.target.label }, 'udp socket error');
    });
    await new Promise<void>((resolve) => socket.connect(port, addr.address, resolve));
    return socket;
  }

  private send(socket: dgram.Socket, payload: Buffer): Promise<void> {
    return new Promise((resolve, reject) => socket.send(payload, (err) => (err ? reject(err) : resolve())));
  }

  private async run(): Promise<void> {
    const socket = await pRetry(() => this.open(), this.retryOptions());
    this.socket = socket;
    let position = this.source.rewind?.() ?? this.source.replayPosition();
    let sourceFailures = 0;
    for (;;) {
      if (this.stopping && Date.now() >= this.stopDeadline) return;
      let batch: { id: bigint; payload: Buffer }[];
      try {
        batch = await this.source.readFrom(position, this.opts.maxBatchBytes);
      } catch (err) {
        if (this.stopping) return;
        await this.sourceFailed(err, ++sourceFailures);
        continue;
      }
      if (batch.length === 0) {
        if (this.stopping) return;
        try {
          await this.waitForData(position);
        } catch (err) {
          if (!this.stopping) await this.sourceFailed(err, ++sourceFailures);
        }
        continue;
      }
      sourceFailures = 0;
      for (const rec of batch) {
        let payload = rec.payload;
        if (payload.length > this.maxDatagram) {
          payload = truncateUtf8(payload, this.maxDatagram);
          this.counters.add('udp_truncated');
          this.log?.warn({ id: String(rec.id), bytes: rec.payload.length, max: this.maxDatagram }, 'udp message truncated');
        }
        await pRetry(async () => {
          try {
            await this.send(socket, payload);
          } catch (err) {
            this.counters.add('udp_send_errors');
            throw err;
          }
        }, this.retryOptions());
        position = rec.id;
      }
      this.source.markSent(position);
      this.lastSendAt = Date.now();
      this.counters.add('frames_written', batch.length);
    }
  }
}
