/**
 * `logward receive`: a small RFC 5425 receiver for tests, benchmarks and
 * operators checking a path.
 *
 * - node:tls server, TLS 1.2+; with `ca`, client certificates are required and
 *   verified (mutual TLS), otherwise none is asked for.
 * - Accepts octet counting (RFC 5425/6587) and LF framing (RFC 6587), per
 *   frame (framing.ts). A malformed frame closes that connection with a logged
 *   error; the server carries on.
 * - Writes one record per line to `out` (appending) or stdout. Our sender's
 *   records never contain CR or LF (neutralized, then escaped by each
 *   encoder), but a foreign sender's may; they are written as {U+000A} and
 *   {U+000D} (the agent's visible-token form) and counted, so a record can
 *   never turn into two lines.
 * - Never sends application data back (RFC 5425 is one way).
 * - Output backpressure pauses the sockets that produce it, so a slow disk
 *   slows the senders instead of filling memory.
 */

import { createWriteStream, readFileSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import type { Writable } from 'node:stream';
import { FrameDecoder } from './framing.js';
import type { SinkLogger } from './types.js';

export interface ReceiverOptions {
  host: string;
  /** 0 picks a free port (see start()). */
  port: number;
  /** Server certificate and key files (PEM). */
  cert: string;
  key: string;
  /** CA file: when given, client certificates are required and verified against it. */
  ca?: string;
  /** Output file (appended to); stdout when absent. */
  out?: string;
  /** Called with every record, after it was handed to the output. */
  onRecord?: (msg: Buffer) => void;
  /** Largest message accepted (default 1 MiB). */
  maxFrameBytes?: number;
  log?: SinkLogger;
}

export interface ReceiverStats {
  /** Records written to the output. */
  records: number;
  /** Records whose CR/LF had to be escaped. */
  recordsEscaped: number;
  connections: number;
  frameErrors: number;
  tlsErrors: number;
  bytes: number;
}

const LF = 0x0a;
const CR = 0x0d;
const NEWLINE = Buffer.from('\n');
const LF_TOKEN = Buffer.from('{U+000A}');
const CR_TOKEN = Buffer.from('{U+000D}');

/** The record with CR and LF replaced by visible tokens (unchanged when it has none). */
export function escapeLineBreaks(msg: Buffer): Buffer {
  if (msg.indexOf(LF) === -1 && msg.indexOf(CR) === -1) return msg;
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < msg.length; i++) {
    const b = msg[i];
    if (b === LF || b === CR) {
      parts.push(msg.subarray(from, i), b === LF ? LF_TOKEN : CR_TOKEN);
      from = i + 1;
    }
  }
  parts.push(msg.subarray(from));
  return Buffer.concat(parts);
}

export class SyslogReceiver {
  private server: tls.Server | undefined;
  private output: Writable | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly counts: ReceiverStats = {
    records: 0,
    recordsEscaped: 0,
    connections: 0,
    frameErrors: 0,
    tlsErrors: 0,
    bytes: 0,
  };

  constructor(private readonly opts: ReceiverOptions) {}

  stats(): ReceiverStats {
    return { ...this.counts };
  }

  async start(): Promise<{ port: number }> {
    const { opts } = this;
    const server = tls.createServer({
      cert: readFileSync(opts.cert),
      key: readFileSync(opts.key),
      minVersion: 'TLSv1.2',
      ...(opts.ca ? { ca: readFileSync(opts.ca), requestCert: true, rejectUnauthorized: true } : {}),
    });
    this.output = opts.out ? createWriteStream(opts.out, { flags: 'a', mode: 0o600 }) : process.stdout;
    server.on('secureConnection', (socket) => this.accept(socket));
    server.on('tlsClientError', (err, socket) => {
      this.counts.tlsErrors++;
      opts.log?.warn({ err, remote: socket.remoteAddress }, 'TLS handshake with a client failed');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => opts.log?.error({ err }, 'receiver server error'));
    const addr = server.address();
    return { port: typeof addr === 'object' && addr ? addr.port : opts.port };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    const out = this.output;
    this.output = undefined;
    if (out && out !== process.stdout) await new Promise<void>((resolve) => out.end(resolve));
  }

  private accept(socket: tls.TLSSocket): void {
    this.counts.connections++;
    this.sockets.add(socket);
    const decoder = new FrameDecoder({ maxFrameBytes: this.opts.maxFrameBytes ?? 1024 * 1024 });
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', (err) => this.opts.log?.warn({ err, remote }, 'receiver connection error'));
    socket.on('data', (chunk: Buffer) => {
      this.counts.bytes += chunk.length;
      const records = decoder.push(chunk);
      if (records.length > 0) this.store(records, socket);
      if (decoder.error) {
        this.counts.frameErrors++;
        this.opts.log?.error({ err: decoder.error, remote }, 'malformed syslog frame; closing the connection');
        socket.destroy();
      }
    });
  }

  private store(records: Buffer[], socket: net.Socket): void {
    const out = this.output;
    if (!out) return;
    const parts: Buffer[] = [];
    for (const r of records) {
      const line = escapeLineBreaks(r);
      if (line !== r) this.counts.recordsEscaped++;
      parts.push(line, NEWLINE);
    }
    const ok = out.write(Buffer.concat(parts));
    this.counts.records += records.length;
    if (this.opts.onRecord) for (const r of records) this.opts.onRecord(r);
    if (!ok) {
      socket.pause();
      out.once('drain', () => socket.resume());
    }
  }
}
