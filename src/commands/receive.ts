/**
 * `logward receive`: a small RFC 5425 receiver for testing a set-up (and for
 * tests and benchmarks that must run with Node alone). One record per line in
 * the output; runs until SIGTERM or SIGINT.
 */
import { SyslogReceiver } from '../sink/receiver.js';
import { parseListen } from './listen.js';

export interface ReceiveOptions {
  listen: string;
  cert: string;
  key: string;
  ca?: string;
  out?: string;
}

export async function runReceive(opts: ReceiveOptions, io: { stderr: NodeJS.WritableStream; signal: AbortSignal }): Promise<void> {
  const { host, port } = parseListen(opts.listen);
  const receiver = new SyslogReceiver({
    host,
    port,
    cert: opts.cert,
    key: opts.key,
    ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
    ...(opts.out !== undefined ? { out: opts.out } : {}),
  });
  const bound = await receiver.start();
  io.stderr.write(`logward receive: listening on ${host.includes(':') ? `[${host}]` : host}:${bound.port}${opts.ca ? ' (client certificates required)' : ''}\n`);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await receiver.stop();
  const s = receiver.stats();
  io.stderr.write(`logward receive: stopped; ${s.records} records from ${s.connections} connections, ${s.frameErrors} frame errors, ${s.tlsErrors} TLS errors\n`);
}
