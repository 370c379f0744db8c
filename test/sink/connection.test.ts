/**
 * Connection management against real sockets: failover and return, backpressure
 * with bounded memory, dead connections replayed, drain on stop.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { FrameDecoder } from '../../src/sink/framing.js';
import { SyslogReceiver } from '../../src/sink/receiver.js';
import { SyslogSink } from '../../src/sink/sink.js';
import { makeTestPki } from '../helpers/certs.js';
import { MemorySource } from './fake-source.js';
import { freePort, harness, sinkOptions, tempDir, until } from './util.js';

function rec(i: number, pad = 0): Buffer {
  return Buffer.from(`<134>1 - h logward - - - record ${i} ${'p'.repeat(pad)}`);
}

test('fails over to the second host, and moves back to the first when it is back', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const primaryPort = await freePort();
  const atA: Buffer[] = [];
  const atB: Buffer[] = [];
  const b = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, out: path.join(dir, 'b'), onRecord: (m) => atB.push(m) });
  const { port: portB } = await b.start();
  t.after(() => b.stop());
  const src = new MemorySource();
  src.push(rec(1), rec(2));
  const h = harness();
  const sink = new SyslogSink(
    sinkOptions({ hosts: [`localhost:${primaryPort}`, `localhost:${portB}`], caFile: pki.ca, probePrimaryMs: 100 }),
    src,
    h.deps,
  );
  t.after(() => sink.stop(0));
  await sink.start();
  await until(() => atB.length === 2, 'records at the second host');
  assert.equal(sink.status().host, `localhost:${portB}`);
  assert.ok(h.events.some((e) => e.type === 'connect_failure' && e.reason === 'refused' && e.host === `localhost:${primaryPort}`));
  src.acked = 2n; // the queue acknowledged them (outside the resend window)
  const a = new SyslogReceiver({ host: '127.0.0.1', port: primaryPort, cert: pki.serverCert, key: pki.serverKey, out: path.join(dir, 'a'), onRecord: (m) => atA.push(m) });
  await a.start();
  t.after(() => a.stop());
  await until(() => sink.status().host === `localhost:${primaryPort}`, 'back on the first host');
  assert.ok(h.events.some((e) => e.type === 'failback'));
  src.push(rec(3));
  await until(() => atA.length === 1, 'new record at the first host');
  assert.deepEqual(atA, [rec(3)]);
  assert.deepEqual(atB, [rec(1), rec(2)]);
});

test('backpressure: a receiver that stops reading stalls the sink with bounded memory, and everything arrives later', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const got: Buffer[] = [];
  const sockets: tls.TLSSocket[] = [];
  const server = tls.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (s) => {
    sockets.push(s);
    const dec = new FrameDecoder();
    s.on('data', (d: Buffer) => got.push(...dec.push(d)));
    s.pause(); // a receiver that does not read
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
  const port = (server.address() as { port: number }).port;
  const total = 40_000; // ~40 MB: far more than socket buffers hold
  const src = new MemorySource();
  const all: Buffer[] = [];
  for (let i = 0; i < total; i++) all.push(rec(i, 1000));
  src.pushAll(all);
  const h = harness();
  const maxBatchBytes = 64 * 1024;
  const sink = new SyslogSink(sinkOptions({ hosts: [`localhost:${port}`], caFile: pki.ca, deadAfterMs: 60_000, maxBatchBytes }), src, h.deps);
  t.after(() => sink.stop(0));
  await sink.start();
  // Wait until the sink stops advancing: the reads from the queue plateau.
  let last = -1n;
  let stablePolls = 0;
  await until(() => {
    const now = src.sent;
    stablePolls = now === last && now > 0n ? stablePolls + 1 : 0;
    last = now;
    return stablePolls >= 10;
  }, 'the sink stalls', 30_000);
  const status = sink.status();
  assert.ok(src.sent < BigInt(total), `the sink stopped reading the queue (sent ${src.sent} of ${total})`);
  assert.ok((status.bufferedBytes ?? 0) <= maxBatchBytes + 64 * 1024, `buffered ${status.bufferedBytes}`);
  assert.equal(status.connected, true);
  for (const s of sockets) s.resume();
  await until(() => got.length === total, 'everything after the receiver reads again', 60_000);
  assert.ok(got.every((g, i) => g.equals(all[i] as Buffer)));
  assert.equal(h.counters.get('connections_dead'), 0);
});

test('dead_after: a peer that accepts but never reads is destroyed, and the next connection replays from the replay position', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  let connections = 0;
  const got: Buffer[] = [];
  const sockets: tls.TLSSocket[] = [];
  const server = tls.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (s) => {
    connections++;
    sockets.push(s);
    s.on('error', () => undefined);
    if (connections === 1) {
      s.pause(); // first connection: never reads
      return;
    }
    const dec = new FrameDecoder();
    s.on('data', (d: Buffer) => got.push(...dec.push(d)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
  const port = (server.address() as { port: number }).port;
  const total = 20_000;
  const all: Buffer[] = [];
  for (let i = 0; i < total; i++) all.push(rec(i, 1000));
  const src = new MemorySource(); // replay position stays 0: nothing was acknowledged
  src.pushAll(all);
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ hosts: [`localhost:${port}`], caFile: pki.ca, deadAfterMs: 400 }), src, h.deps);
  t.after(() => sink.stop(0));
  await sink.start();
  await until(() => got.length >= total, 'everything delivered on the second connection', 60_000);
  assert.equal(h.counters.get('connections_dead'), 1);
  assert.ok(h.events.some((e) => e.type === 'dead_connection'));
  assert.equal(connections, 2);
  assert.ok(src.replayCalls >= 2, 'each connection asked for the replay position');
  // The second connection started again from the replay position: the complete stream, in order.
  assert.deepEqual(got.slice(0, total), all);
});

test('stop(grace) sends what is queued, then closes; nothing is sent after stop', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const received: Buffer[] = [];
  const rx = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, out: path.join(dir, 'o'), onRecord: (m) => received.push(m) });
  const { port } = await rx.start();
  t.after(() => rx.stop());
  const src = new MemorySource();
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ hosts: [`localhost:${port}`], caFile: pki.ca }), src, h.deps);
  await sink.start();
  await until(() => sink.status().connected, 'connected');
  const all: Buffer[] = [];
  for (let i = 0; i < 5000; i++) all.push(rec(i, 100));
  src.pushAll(all);
  await sink.stop(10_000);
  assert.equal(sink.status().connected, false);
  assert.equal(src.sent, 5000n);
  await until(() => received.length === 5000, 'drained records stored');
  src.push(rec(9999));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(received.length, 5000);
  assert.ok(h.events.some((e) => e.type === 'disconnected' && e.reason === 'stopped'));
});

test('bytes the receiver sends back are counted and discarded, never interpreted', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const got: Buffer[] = [];
  const server = tls.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (s) => {
    s.write('12 <13>1 - cmd\n'.repeat(10)); // something that looks like commands or frames
    const dec = new FrameDecoder();
    s.on('data', (d: Buffer) => got.push(...dec.push(d)));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const src = new MemorySource();
  src.push(rec(1));
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ hosts: [`localhost:${port}`], caFile: pki.ca }), src, h.deps);
  await sink.start();
  await until(() => got.length === 1 && h.counters.get('bytes_received_discarded') === 150, 'record sent, reply discarded');
  await sink.stop(1000);
  assert.deepEqual(got, [rec(1)]);
});
