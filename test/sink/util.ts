/** Small helpers shared by the sink tests. */

import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Counters } from '../../src/monitor/counters.js';
import type { SinkEvent, SinkOptions } from '../../src/sink/types.js';

/** Polls cond until it holds; fails with `what` after a generous deadline (a deadline, not a timing assertion). */
export async function until(cond: () => boolean, what: string, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'logward-sink-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A port that was free a moment ago (for servers that must start later on a known port). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return addr.port;
}

export interface Harness {
  counters: Counters;
  events: SinkEvent[];
  deps: { counters: Counters; onEvent: (e: SinkEvent) => void };
}

export function harness(): Harness {
  const counters = new Counters();
  const events: SinkEvent[] = [];
  return { counters, events, deps: { counters, onEvent: (e) => events.push(e) } };
}

export function sinkOptions(over: Partial<SinkOptions> & Pick<SinkOptions, 'hosts'>): SinkOptions {
  return {
    protocol: 'tls',
    allowInsecure: false,
    pinSha256: [],
    deadAfterMs: 5_000,
    retry: { minDelayMs: 50, maxDelayMs: 200 },
    ...over,
  };
}

export function failures(events: SinkEvent[]): Extract<SinkEvent, { type: 'tls_failure' }>[] {
  return events.filter((e): e is Extract<SinkEvent, { type: 'tls_failure' }> => e.type === 'tls_failure');
}

/**
 * Listens on 127.0.0.1 (an ephemeral port, returned); when the test ends, every connection
 * still open is destroyed and the server closed.
 */
export async function listenLocal(t: { after: (fn: () => Promise<void>) => void }, server: net.Server): Promise<number> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}
