/**
 * A host that accepts the connection (TLS verified) and then drops it before
 * the session proved healthy, a load balancer without backends or a receiver
 * refusing our client certificate after the handshake, is a failed attempt of
 * that host: the failure is reported with a reason, the next attempt goes to
 * the next host, and the backoff keeps growing until a session proves healthy.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { FrameDecoder } from '../../src/sink/framing.js';
import { SyslogReceiver } from '../../src/sink/receiver.js';
import { SyslogSink } from '../../src/sink/sink.js';
import { type TestPki, makeTestPki } from '../helpers/certs.js';
import { MemorySource } from './fake-source.js';
import { failures, harness, listenLocal, sinkOptions, tempDir, until } from './util.js';

function rec(i: number): Buffer {
  return Buffer.from(`<134>1 - h logward - - - record ${i}`);
}

interface DroppingServer {
  port: number;
  /** Server-side start of each connection (Date.now()), probes included. */
  starts: number[];
  /** Frames received on connections that were not dropped. */
  got: Buffer[];
  /** How long connection n (0-based) lives; undefined: it is kept. */
  lifetime: (n: number) => number | undefined;
}

/** A TLS server that completes every handshake and then closes the connection after `lifetime(n)` ms. */
async function droppingServer(
  t: { after: (fn: () => Promise<void>) => void },
  pki: TestPki,
  lifetime: (n: number) => number | undefined,
): Promise<DroppingServer> {
  const state: DroppingServer = { port: 0, starts: [], got: [], lifetime };
  const server = tls.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (s) => {
    const n = state.starts.length;
    state.starts.push(Date.now());
    s.on('error', () => undefined);
    const life = state.lifetime(n);
    if (life === undefined) {
      const dec = new FrameDecoder();
      s.on('data', (d: Buffer) => state.got.push(...dec.push(d)));
      return;
    }
    s.resume(); // read and discard, like a balancer waiting for a backend
    setTimeout(() => s.destroy(), life);
  });
  state.port = await listenLocal(t, server);
  return state;
}

test('a first host that accepts TLS and then drops us is a failed attempt: reported with a reason, the healthy second host gets the records, and the sink stays there until the first holds a connection again', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  let aDrops = true;
  const a = await droppingServer(t, pki, () => (aDrops ? 150 : undefined));
  const atB: Buffer[] = [];
  const b = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, out: path.join(dir, 'b'), onRecord: (m) => atB.push(m) });
  const { port: portB } = await b.start();
  t.after(() => b.stop());
  const src = new MemorySource();
  for (let i = 0; i < 10; i++) src.push(rec(i));
  const h = harness();
  const hostA = `localhost:${a.port}`;
  const hostB = `localhost:${portB}`;
  const sink = new SyslogSink(
    sinkOptions({ hosts: [hostA, hostB], caFile: pki.ca, retry: { minDelayMs: 50, maxDelayMs: 200 }, probePrimaryMs: 100, healthyAfterMs: 1000 }),
    src,
    h.deps,
  );
  t.after(() => sink.stop(0));
  await sink.start();
  await until(() => atB.length === 10, 'all records at the healthy second host', 10_000);
  assert.equal(sink.status().host, hostB);
  const atA = failures(h.events).filter((e) => e.host === hostA);
  assert.ok(atA.length >= 1, 'the drop at the first host is reported like a connect failure');
  assert.equal(atA[0]?.reason, 'reset', JSON.stringify(atA[0]));
  assert.match(atA[0]?.detail ?? '', /closed/);
  assert.ok(h.counters.get('tls_failures') >= 1);

  // Probes (every 100 ms) complete their handshakes but get dropped too: they do not move the sink back (no flapping).
  const startsBefore = a.starts.length;
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(a.starts.length > startsBefore, 'the first host was probed');
  assert.equal(sink.status().host, hostB);
  assert.ok(!h.events.some((e) => e.type === 'failback'), 'no failback to a host that still drops us');

  // The first host holds connections again: the sink returns to it.
  src.acked = 10n;
  aDrops = false;
  await until(() => sink.status().host === hostA, 'back on the first host', 15_000);
  assert.ok(h.events.some((e) => e.type === 'failback'));
  src.push(rec(10));
  await until(() => a.got.length === 1, 'the new record at the first host');
  assert.deepEqual(a.got, [rec(10)]);
});

test('a session that ends after the short-lived threshold but before it proved healthy continues the backoff; one that proved healthy resets it', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  // Connections 0-3 live 1100 ms (longer than the 1 s short-lived threshold), 4 lives 2500 ms (healthy), then kept.
  const a = await droppingServer(t, pki, (n) => (n < 4 ? 1100 : n === 4 ? 2500 : undefined));
  const src = new MemorySource();
  src.push(rec(1));
  const h = harness();
  const sink = new SyslogSink(
    sinkOptions({ hosts: [`localhost:${a.port}`], caFile: pki.ca, retry: { minDelayMs: 200, maxDelayMs: 60_000 }, healthyAfterMs: 2000 }),
    src,
    h.deps,
  );
  t.after(() => sink.stop(0));
  await sink.start();
  await until(() => a.starts.length >= 6, 'six connections', 30_000);
  // Gap between the server closing connection n and the next connection arriving.
  const gap = (n: number): number => (a.starts[n + 1] as number) - ((a.starts[n] as number) + (a.lifetime(n) as number));
  // Delays are jittered within [min*2^(k-1), min*2^k] for the k-th consecutive failure (lower bounds only: the machine may be slow).
  assert.ok(gap(2) >= 750, `third consecutive failure waits >= 800 ms, waited ${gap(2)} ms`);
  assert.ok(gap(3) >= 1550, `fourth consecutive failure waits >= 1600 ms, waited ${gap(3)} ms`);
  // Connection 4 lived past healthyAfterMs, so the backoff starts again from min_delay; not asserted
  // here (only an upper bound on a wait could show it, and the machines are shared): the reset is
  // the loop in SyslogSink.run returning after a healthy session, covered by the sessions above.
  assert.ok(h.counters.get('connect_attempts_failed') >= 4);
});
