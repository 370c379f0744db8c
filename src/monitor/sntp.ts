/**
 * SNTP client (RFC 4330 client rules, RFC 5905 packet and arithmetic): one
 * request, one reply, the clock offset and round-trip delay.
 *
 * Design notes and traps:
 * - One UDP socket per query, `connect()`ed to the resolved server address: the
 *   kernel then drops datagrams from any other address/port (off-path spoofing),
 *   an ICMP port-unreachable surfaces at once as ECONNREFUSED instead of a
 *   timeout, and the source port is ephemeral. The address check in the message
 *   handler stays as a second line. The socket is closed on every path.
 * - The request's transmit timestamp is 64 RANDOM bits, not our clock: the
 *   server echoes it as the origin timestamp, and a reply whose origin is not
 *   byte-for-byte what we sent is rejected (spoofed, replayed or stale). Our
 *   real T1 is kept locally with full precision, and random bits do not tell
 *   the network what our clock says.
 * - Timestamp arithmetic is done on 64-bit NTP values with BigInt: every
 *   difference is taken modulo 2^64 and read as signed (RFC 5905 §6), so
 *   offsets stay exact across the 2036 era rollover as long as the clocks are
 *   within 68 years of each other. Only the final millisecond value is a double.
 * - Local time (T1, T4) is the WALL clock (the thing being measured). The
 *   default `now` is performance.timeOrigin + performance.now() (sub-ms), but
 *   that is anchored at process start and does not follow a later step of the
 *   wall clock; when it disagrees with Date.now() by a millisecond or more the
 *   wall clock was stepped and Date.now() is used instead.
 * - Hostnames are resolved on every query: pool names change their addresses.
 * - Kiss-o'-Death replies are only believed after the origin check (a spoofed
 *   DENY would otherwise silence a server); the kiss code is on the error.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { LogwardError } from '../errors.js';

export interface SntpResult {
  /** "host:port" as configured ("[v6]:port" for IPv6 literals). */
  server: string;
  /** θ: > 0 means the LOCAL clock is BEHIND the server. */
  offsetMs: number;
  /** δ: round trip without the server's processing time. */
  delayMs: number;
  stratum: number;
  leap: number;
  /** Stratum 1: the source's ASCII id (GPS, PPS…); higher: the upstream IPv4 address. */
  refId: string;
  /** T4: local wall-clock ms when the reply arrived. */
  receivedAt: number;
}

export type SntpFailure =
  | 'timeout'
  | 'bad_origin'
  | 'kiss_of_death'
  | 'stratum'
  | 'unsynchronized'
  | 'bad_mode'
  | 'bad_version'
  | 'short'
  | 'bad_timestamp'
  | 'network'
  | 'dns'
  | 'aborted';

export class SntpError extends LogwardError {
  override readonly name = 'SntpError';
  constructor(
    readonly reason: SntpFailure,
    readonly server: string,
    readonly detail: string,
    /** Kiss code (RATE, DENY, RSTR…) when reason is kiss_of_death. */
    readonly kissCode?: string,
    options?: { cause?: unknown },
  ) {
    super(`NTP server ${server}: ${reason}: ${detail}`, options);
  }
}

export interface SntpOptions {
  timeoutMs?: number;
  /** Local wall clock in ms (sub-ms precision welcome). */
  now?: () => number;
  /** Aborts the query (monitor stop): rejects with reason "aborted". */
  signal?: AbortSignal;
}

export const NTP_PACKET_BYTES = 48;
/** Seconds from 1900-01-01 (NTP epoch) to 1970-01-01 (Unix epoch). */
export const NTP_UNIX_EPOCH_DELTA = 2_208_988_800;

const MASK64 = (1n << 64n) - 1n;
const EPOCH_DELTA_N = BigInt(NTP_UNIX_EPOCH_DELTA);
const TWO32 = 4_294_967_296;
const DEFAULT_TIMEOUT_MS = 3000;

/** "host:port", with brackets around IPv6 literals. */
export function serverLabel(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Wall clock in ms with sub-ms precision while the wall clock has not been stepped since start. */
export function wallClockMs(): number {
  const precise = performance.timeOrigin + performance.now();
  const coarse = Date.now();
  // Date.now() truncates; a consistent precise value lies in [coarse, coarse + 1).
  return precise >= coarse - 0.5 && precise < coarse + 1.5 ? precise : coarse;
}

/**
 * Era-extended NTP time (not reduced to 64 bits) for a Unix time in ms:
 * (seconds since 1900) << 32 | fraction.
 */
function unixMsToNtpFull(ms: number): bigint {
  const secs = Math.floor(ms / 1000);
  const remMs = ms - secs * 1000;
  let frac = Math.round((remMs * TWO32) / 1000);
  let s = BigInt(secs) + EPOCH_DELTA_N;
  if (frac >= TWO32) {
    frac -= TWO32;
    s += 1n;
  }
  return (s << 32n) + BigInt(frac);
}

/** 64-bit NTP timestamp (seconds since 1900 mod 2^32, 32-bit fraction) for a Unix time in ms. */
export function unixMsToNtp(ms: number): bigint {
  return unixMsToNtpFull(ms) & MASK64;
}

/**
 * Unix ms for a 64-bit NTP timestamp. With `pivotMs` the era is the one that
 * puts the result nearest the pivot (RFC 5905); without, RFC 4330's rule:
 * seconds MSB set = era 0 (1968–2036), clear = era 1 (2036–2104).
 */
export function ntpToUnixMs(ts: bigint, pivotMs?: number): number {
  let full: bigint;
  if (pivotMs !== undefined) {
    const pivot = unixMsToNtpFull(pivotMs);
    full = pivot + BigInt.asIntN(64, ts - (pivot & MASK64));
  } else {
    full = ts & MASK64;
    if ((full >> 63n) === 0n) full += 1n << 64n;
  }
  const secs = full >> 32n;
  const frac = full & 0xffffffffn;
  return Number(secs - EPOCH_DELTA_N) * 1000 + (Number(frac) * 1000) / TWO32;
}

/** a − b in ms, modulo 2^64 and read as signed (exact while |a − b| < 68 years). */
export function ntpDiffMs(a: bigint, b: bigint): number {
  return (Number(BigInt.asIntN(64, a - b)) * 1000) / TWO32;
}

/** RFC 5905 on-wire offset θ and delay δ from the four timestamps (64-bit NTP values). */
export function offsetAndDelay(t1: bigint, t2: bigint, t3: bigint, t4: bigint): { offsetMs: number; delayMs: number } {
  const a = BigInt.asIntN(64, t2 - t1);
  const b = BigInt.asIntN(64, t3 - t4);
  const offsetMs = (Number(a + b) * 1000) / (2 * TWO32);
  const delayMs = (Number(BigInt.asIntN(64, t4 - t1) - BigInt.asIntN(64, t3 - t2)) * 1000) / TWO32;
  return { offsetMs, delayMs };
}

/** 48-byte client request: LI 0, VN 4, mode 3, the given 8 bytes as transmit timestamp. */
export function buildRequest(transmit: Buffer): Buffer {
  if (transmit.length !== 8) throw new RangeError('transmit timestamp must be 8 bytes');
  const b = Buffer.alloc(NTP_PACKET_BYTES);
  b[0] = (0 << 6) | (4 << 3) | 3;
  transmit.copy(b, 40);
  return b;
}

export interface NtpReply {
  leap: number;
  version: number;
  mode: number;
  stratum: number;
  refId: string;
  /** Receive (T2) and transmit (T3) timestamps, 64-bit NTP values. */
  receive: bigint;
  transmit: bigint;
}

/** Reference ID as text: ASCII for stratum 0 (kiss code) and 1 (source), dotted IPv4 above. */
export function refIdText(b: Buffer, stratum: number): string {
  const id = b.subarray(12, 16);
  if (stratum <= 1) {
    let s = '';
    for (const c of id) {
      if (c === 0) break;
      // Printable ASCII only: this text ends up in messages and logs.
      if (c < 0x20 || c > 0x7e) return `0x${id.toString('hex')}`;
      s += String.fromCharCode(c);
    }
    return s;
  }
  return `${id[0]}.${id[1]}.${id[2]}.${id[3]}`;
}

/** Validates a reply against the request's transmit bytes; throws SntpError naming the first failed check. */
export function parseReply(b: Buffer, sentTransmit: Buffer, server: string): NtpReply {
  if (b.length < NTP_PACKET_BYTES) throw new SntpError('short', server, `reply of ${b.length} bytes (need ${NTP_PACKET_BYTES})`);
  const b0 = b[0]!;
  const leap = b0 >> 6;
  const version = (b0 >> 3) & 7;
  const mode = b0 & 7;
  const stratum = b[1]!;
  if (mode !== 4) throw new SntpError('bad_mode', server, `reply mode ${mode} (expected 4, server)`);
  if (version !== 3 && version !== 4) throw new SntpError('bad_version', server, `reply version ${version} (expected 3 or 4)`);
  if (!b.subarray(24, 32).equals(sentTransmit)) {
    throw new SntpError('bad_origin', server, 'origin timestamp does not match the request (spoofed, replayed or stale reply)');
  }
  if (stratum === 0) {
    const code = refIdText(b, 0);
    throw new SntpError('kiss_of_death', server, `kiss-o'-death ${code}`, code);
  }
  if (stratum >= 16) throw new SntpError('stratum', server, `stratum ${stratum}: server is not synchronized`);
  if (leap === 3) throw new SntpError('unsynchronized', server, 'leap indicator 3: server clock is not synchronized');
  const receive = b.readBigUInt64BE(32);
  const transmit = b.readBigUInt64BE(40);
  if (transmit === 0n || receive === 0n) throw new SntpError('bad_timestamp', server, 'zero receive or transmit timestamp');
  if (BigInt.asIntN(64, transmit - receive) < 0n) throw new SntpError('bad_timestamp', server, 'transmit timestamp before receive timestamp');
  return { leap, version, mode, stratum, refId: refIdText(b, stratum), receive, transmit };
}

/** One SNTP exchange with host:port. Rejects only with SntpError. */
export async function sntpQuery(host: string, port: number, opts: SntpOptions = {}): Promise<SntpResult> {
  const server = serverLabel(host, port);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = opts.now ?? wallClockMs;
  const signal = opts.signal;
  if (signal?.aborted) throw new SntpError('aborted', server, 'query aborted before it started');

  return new Promise<SntpResult>((resolve, reject) => {
    let socket: dgram.Socket | undefined;
    let done = false;
    const finish = (err: SntpError | undefined, result?: SntpResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (socket) {
        const s = socket;
        socket = undefined;
        s.removeAllListeners('message');
        // close() throws if the socket is already closed; nothing else to release then.
        try {
          s.close();
        } catch (e) {
          if (!(e instanceof Error && 'code' in e && e.code === 'ERR_SOCKET_DGRAM_NOT_RUNNING')) throw e;
        }
      }
      if (err) reject(err);
      else resolve(result!);
    };
    const onAbort = (): void => finish(new SntpError('aborted', server, 'query aborted'));
    // The timeout covers name resolution too: getaddrinfo can hang for long.
    const timer = setTimeout(() => finish(new SntpError('timeout', server, `no valid reply within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });

    const resolveAddress = net.isIP(host) !== 0 ? Promise.resolve({ address: host, family: net.isIP(host) }) : lookup(host);
    resolveAddress.then(
      ({ address, family }) => {
        if (done) return;
        try {
          exchange(address, family);
        } catch (e) {
          // dgram throws synchronously for bad arguments (port out of range…).
          finish(new SntpError('network', server, e instanceof Error ? e.message : String(e), undefined, { cause: e }));
        }
      },
      (e: unknown) => {
        const msg = e instanceof Error ? e.message : String(e);
        finish(new SntpError('dns', server, `cannot resolve ${host}: ${msg}`, undefined, { cause: e }));
      },
    );

    function exchange(address: string, family: number): void {
      const s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      socket = s;
      const transmit = randomBytes(8);
      const request = buildRequest(transmit);
      let t1 = 0;
      s.on('error', (e) => finish(new SntpError('network', server, e.message, undefined, { cause: e })));
      s.on('message', (msg, rinfo) => {
        if (rinfo.address !== address || rinfo.port !== port) return;
        const t4 = now();
        try {
          const r = parseReply(msg, transmit, server);
          const { offsetMs, delayMs } = offsetAndDelay(unixMsToNtp(t1), r.receive, r.transmit, unixMsToNtp(t4));
          finish(undefined, { server, offsetMs, delayMs, stratum: r.stratum, leap: r.leap, refId: r.refId, receivedAt: t4 });
        } catch (e) {
          if (e instanceof SntpError) finish(e);
          else finish(new SntpError('network', server, `unexpected: ${String(e)}`, undefined, { cause: e }));
        }
      });
      s.connect(port, address, () => {
        if (done) return;
        t1 = now();
        s.send(request, (e) => {
          if (e) finish(new SntpError('network', server, `send failed: ${e.message}`, undefined, { cause: e }));
        });
      });
    }
  });
}
