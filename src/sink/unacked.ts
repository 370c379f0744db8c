/**
 * Finding one TCP socket's unacknowledged send-queue bytes in Linux's
 * /proc/<pid>/net/tcp and tcp6 tables. Pure: building the row key and
 * scanning bytes; reading the file and judging the numbers is unacked-watch.ts.
 *
 * Table format (net/ipv4/tcp_ipv4.c get_tcp4_sock, net/ipv6/tcp_ipv6.c get_tcp6_sock):
 *   "  sl  local_address rem_address   st tx_queue rx_queue tr ..." header, then
 *   "   1: 0100007F:8688 0100007F:AA9D 01 0000000A:00000000 04:0000000B ..."
 * - An address is printed as the in-memory (network order) address words read
 *   as native 32-bit integers, "%08X" each: 127.0.0.1 is 0100007F on a
 *   little-endian host, 7F000001 on a big-endian one. IPv6 is four such
 *   words, so ::1 is 00000000000000000000000001000000 on little-endian.
 * - Ports are converted to host order first: "%04X" of the number.
 * - Hex digits are upper case.
 * - tx_queue (the part of the 5th field before ':') of a connected socket is
 *   write_seq - snd_una: bytes handed to the kernel and not yet acknowledged
 *   by the peer (sent or not).
 * - AF_INET sockets are listed in tcp, AF_INET6 ones (v4-mapped included,
 *   ::ffff:127.0.0.1 is 0000000000000000FFFF00000100007F) in tcp6.
 * - A local:port/remote:port pair is unique among live sockets of a network
 *   namespace; a TIME_WAIT row of an older connection can share it and is
 *   skipped (its tx_queue is 0 and it is not our socket).
 */

import net from 'node:net';
import os from 'node:os';

export type ByteOrder = 'LE' | 'BE';

export interface SocketTuple {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

export interface RowKey {
  /** Which table lists the socket. */
  table: 'tcp' | 'tcp6';
  /** "LOCAL:PORT REMOTE:PORT " as the kernel prints it (latin1 bytes): what a read searches for. */
  needle: Buffer;
  /** The same as a string: what a candidate line's fields are compared with. Built once per connection. */
  text: string;
}

export type ScanResult =
  /** The socket's row: its tx_queue. */
  | { found: true; txQueue: number }
  /** Not in the complete lines; `rest` is where the incomplete last line starts (keep it, append more). */
  | { found: false; rest: number };

const NL = 0x0a;
const TCP_TIME_WAIT = '06';
const TCP_LISTEN = '0A';

/** The 16 bytes of an IPv6 literal (zone ids dropped, embedded IPv4 tails and "::" allowed); undefined if invalid. */
export function ipv6Bytes(address: string): Uint8Array | undefined {
  const addr = address.replace(/%.*$/, '');
  if (!net.isIPv6(addr)) return undefined;
  let words: number[];
  const parseSide = (side: string): number[] | undefined => {
    if (side === '') return [];
    const out: number[] = [];
    const parts = side.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = ipv4Bytes(p);
        if (!v4) return undefined;
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else {
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const halves = addr.split('::');
  if (halves.length === 2) {
    const head = parseSide(halves[0] as string);
    const tail = parseSide(halves[1] as string);
    if (!head || !tail) return undefined;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseSide(addr);
    if (!all) return undefined;
    words = all;
  }
  if (words.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

/** The 4 bytes of a dotted IPv4 literal; undefined if invalid. */
export function ipv4Bytes(address: string): Uint8Array | undefined {
  if (!net.isIPv4(address)) return undefined;
  return Uint8Array.from(address.split('.').map(Number));
}

/** Network-order address bytes as the kernel prints them: each 32-bit word in host order, "%08X". */
export function kernelHexAddress(bytes: Uint8Array, order: ByteOrder): string {
  let out = '';
  for (let w = 0; w < bytes.length; w += 4) {
    const word = bytes.subarray(w, w + 4);
    const ordered = order === 'LE' ? [...word].reverse() : [...word];
    for (const b of ordered) out += b.toString(16).padStart(2, '0');
  }
  return out.toUpperCase();
}

function kernelHexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/** The 16 bytes of an address for the tcp6 table (IPv4 as v4-mapped). */
function asIpv6(address: string): Uint8Array | undefined {
  const v4 = ipv4Bytes(address);
  if (!v4) return ipv6Bytes(address);
  const b = new Uint8Array(16);
  b[10] = 0xff;
  b[11] = 0xff;
  b.set(v4, 12);
  return b;
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p > 0 && p <= 0xffff;
}

/**
 * Where a connected socket is listed and the text that identifies its row.
 * undefined when an address or port is missing or not an IP literal.
 */
export function rowKey(t: SocketTuple, order: ByteOrder = os.endianness()): RowKey | undefined {
  if (!validPort(t.localPort) || !validPort(t.remotePort)) return undefined;
  const v6 = !net.isIPv4(t.localAddress) || !net.isIPv4(t.remoteAddress);
  const conv = v6 ? asIpv6 : ipv4Bytes;
  const local = conv(t.localAddress);
  const remote = conv(t.remoteAddress);
  if (!local || !remote) return undefined;
  const text =
    `${kernelHexAddress(local, order)}:${kernelHexPort(t.localPort)} ` +
    `${kernelHexAddress(remote, order)}:${kernelHexPort(t.remotePort)} `;
  return { table: v6 ? 'tcp6' : 'tcp', needle: Buffer.from(text, 'latin1'), text };
}

/**
 * tx_queue of one table line if it is the row `needle` names (a live socket,
 * not TIME_WAIT or LISTEN); undefined for anything else, garbage included.
 */
export function txQueueOfLine(line: string, needle: string): number | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 5 || !/^\d+:$/.test(f[0] as string)) return undefined;
  if (`${f[1]} ${f[2]} ` !== needle) return undefined;
  const st = f[3] as string;
  if (st === TCP_TIME_WAIT || st === TCP_LISTEN) return undefined;
  const m = /^([0-9A-Fa-f]{1,8}):[0-9A-Fa-f]{1,8}$/.exec(f[4] as string);
  return m ? parseInt(m[1] as string, 16) : undefined;
}

/**
 * Look for the row in buf[0, end). Only complete lines are examined (all of
 * them when `final`, i.e. at end of file), so a caller streaming the table
 * keeps buf[rest, end) and appends the next read to it. Finds candidates with
 * Buffer.indexOf (memmem) and parses only those lines: a table of thousands
 * of sockets is never split into strings.
 */
export function scanTable(buf: Buffer, end: number, key: RowKey, final: boolean): ScanResult {
  const limit = final ? end : end === 0 ? 0 : buf.lastIndexOf(NL, end - 1) + 1;
  // A view: searches must not run on into the stale rest of a reused buffer (they did, and cost O(buffer) per read).
  const view = buf.subarray(0, limit);
  let from = 0;
  while (from < limit) {
    const hit = view.indexOf(key.needle, from);
    if (hit === -1) break;
    const lineStart = hit === 0 ? 0 : view.lastIndexOf(NL, hit - 1) + 1;
    let lineEnd = view.indexOf(NL, hit);
    if (lineEnd === -1) lineEnd = limit;
    const tx = txQueueOfLine(view.toString('latin1', lineStart, lineEnd), key.text);
    if (tx !== undefined) return { found: true, txQueue: tx };
    from = lineEnd + 1;
  }
  return { found: false, rest: limit };
}

/** The whole-text form (tests, small tables): tx_queue of the socket's row, or undefined. */
export function findTxQueue(table: string | Buffer, key: RowKey): number | undefined {
  const buf = typeof table === 'string' ? Buffer.from(table, 'latin1') : table;
  const r = scanTable(buf, buf.length, key, true);
  return r.found ? r.txQueue : undefined;
}
