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
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { FrameDecoder } from '../../src/sink/framing.js';
import { SyslogReceiver } from '../../src/sink/receiver.js';
import { SyslogSink } from '../../src/sink/sink.js';
import type { SinkLogger } from '../../src/sink/types.js';
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

test('after a session that proved healthy the next failure waits the initial delay again; after short sessions the delay keeps growing', async (t) => {
  // Session lifetimes are measured on the test's clock: the server moves it on by connection n's
  // lifetime when n's first bytes arrive (so after the sink started timing it), then drops n.
  // Short, short, short, healthy (exactly healthyAfterMs), short, short; the seventh is kept.
  const healthyAfterMs = 1000;
  const lifetimes = [0, 0, 0, healthyAfterMs, 0, 0];
  let clock = 0;
  let accepted = 0;
  const server = net.createServer((s) => {
    const n = accepted++;
    s.on('error', () => undefined);
    const life = lifetimes[n];
    if (life === undefined) {
      s.resume();
      return;
    }
    s.once('data', () => {
      clock += life;
      s.destroy();
    });
  });
  const port = await listenLocal(t, server);
  const retries: { attempt: number; retryInMs: number }[] = [];
  const none = (): void => undefined;
  const log: SinkLogger = {
    debug: none,
    warn: none,
    error: none,
    info: (o) => {
      if ('retryInMs' in o) retries.push(o as { attempt: number; retryInMs: number });
    },
  };
  const src = new MemorySource();
  src.push(rec(1));
  const h = harness();
  const minDelayMs = 20;
  const sink = new SyslogSink(
    sinkOptions({ protocol: 'tcp', allowInsecure: true, hosts: [`127.0.0.1:${port}`], retry: { minDelayMs, maxDelayMs: 60_000 }, healthyAfterMs }),
    src,
    { ...h.deps, log, now: () => clock },
  );
  t.after(() => sink.stop(0));
  await sink.start();
  await until(() => accepted > lifetimes.length && sink.status().connected, 'the seventh connection, kept');
  // The k-th consecutive failure waits within [min * 2^(k-1), min * 2^k]: the healthy fourth session
  // started the count again, and the two short ones after it counted on from there.
  assert.deepEqual(
    retries.map((r) => r.attempt),
    [1, 2, 3, 1, 2],
  );
  for (const { attempt, retryInMs } of retries) {
    assert.ok(retryInMs >= minDelayMs * 2 ** (attempt - 1) && retryInMs <= minDelayMs * 2 ** attempt, `failure ${attempt} waits ${retryInMs} ms`);
  }
  assert.equal(h.counters.get('connect_attempts_failed'), 5);
  assert.equal(h.events.filter((e) => e.type === 'connect_failure').length, 5, 'each short session is reported as a failed attempt');
});
