/**
 * Every way a TLS connection can be wrong: nothing may reach the receiver's
 * application layer, the reason must be clear, and the sink must stay up and
 * retry, delivering everything once the way is open.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { SyslogReceiver } from '../../src/sink/receiver.js';
import { SyslogSink } from '../../src/sink/sink.js';
import type { SinkEvent, SinkOptions } from '../../src/sink/types.js';
import { type TestPki, makeTestPki } from '../helpers/certs.js';
import { MemorySource } from './fake-source.js';
import { failures, harness, sinkOptions, tempDir, until } from './util.js';

const SECRET = 'secret-payload-that-must-not-leak';

function records(): Buffer[] {
  return [1, 2, 3].map((i) => Buffer.from(`<134>1 - h logward - - - ${SECRET} ${i}`));
}

interface Case {
  name: string;
  reason: string;
  receiver: (pki: TestPki) => { cert: string; key: string; ca?: string };
  sink: (pki: TestPki, port: number) => Partial<SinkOptions> & Pick<SinkOptions, 'hosts'>;
}

const cases: Case[] = [
  {
    name: 'an expired server certificate',
    reason: 'expired',
    receiver: (p) => ({ cert: p.expiredCert, key: p.expiredKey }),
    sink: (p, port) => ({ hosts: [`localhost:${port}`], caFile: p.ca }),
  },
  {
    name: 'a server certificate from an unknown CA',
    reason: 'unknown_ca',
    receiver: (p) => ({ cert: p.otherServerCert, key: p.otherServerKey }),
    sink: (p, port) => ({ hosts: [`localhost:${port}`], caFile: p.ca }),
  },
  {
    name: 'a server certificate for another host name',
    reason: 'hostname_mismatch',
    receiver: (p) => ({ cert: p.wrongNameCert, key: p.wrongNameKey }),
    sink: (p, port) => ({ hosts: [`localhost:${port}`], caFile: p.ca }),
  },
  {
    name: 'server_name overriding the host entry with a name the certificate lacks',
    reason: 'hostname_mismatch',
    receiver: (p) => ({ cert: p.serverCert, key: p.serverKey }),
    sink: (p, port) => ({ hosts: [`127.0.0.1:${port}`], serverName: 'siem.example.com', caFile: p.ca }),
  },
  {
    name: 'a valid certificate that matches no pin',
    reason: 'pin_mismatch',
    receiver: (p) => ({ cert: p.serverCert, key: p.serverKey }),
    sink: (p, port) => ({ hosts: [`localhost:${port}`], caFile: p.ca, pinSha256: ['AA:'.repeat(31) + 'AA'] }),
  },
  {
    name: 'a TLS 1.3 server that rejects the client certificate after the handshake',
    reason: 'client_cert_rejected',
    receiver: (p) => ({ cert: p.serverCert, key: p.serverKey, ca: p.ca }),
    sink: (p, port) => ({ hosts: [`localhost:${port}`], caFile: p.ca, certFile: p.otherClientCert, keyFile: p.otherClientKey }),
  },
];

for (const c of cases) {
  test(`${c.name}: nothing is delivered, reason ${c.reason}, the sink retries`, async (t) => {
    const dir = tempDir(t);
    const pki = await makeTestPki(dir);
    const rx = new SyslogReceiver({ host: '127.0.0.1', port: 0, out: path.join(dir, 'out'), ...c.receiver(pki) });
    const { port } = await rx.start();
    t.after(() => rx.stop());
    const src = new MemorySource();
    src.push(...records());
    const h = harness();
    const sink = new SyslogSink(sinkOptions(c.sink(pki, port)), src, h.deps);
    t.after(() => sink.stop(0));
    await sink.start();
    await until(() => failures(h.events).length >= 3, 'three failed attempts');
    const f = failures(h.events);
    assert.deepEqual(new Set(f.map((e) => e.reason)), new Set([c.reason]), JSON.stringify(f[0]));
    assert.ok((f[0]?.detail ?? '').length > 0);
    assert.equal(rx.stats().records, 0, 'no record reached the receiver');
    assert.equal(rx.stats().bytes, 0, 'no application byte reached the receiver');
    assert.equal(h.counters.get('tls_failures'), f.length);
    assert.equal(src.sent, 0n, 'nothing was written to any socket');
    assert.equal(sink.status().connected, false);
    assert.ok(!h.events.some((e) => e.type === 'connected'));
  });
}

test('a plaintext server on the port sees only a TLS ClientHello, never a record (it answers: not_tls; it waits: handshake_timeout)', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  for (const answers of [true, false]) {
    const seen: Buffer[] = [];
    const plain = net.createServer((s) => {
      s.on('data', (d) => seen.push(d));
      s.on('error', () => undefined);
      if (answers) s.write('<13>1 - plain syslog server here\n');
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const port = (plain.address() as net.AddressInfo).port;
    const src = new MemorySource();
    src.push(...records());
    const h = harness();
    const sink = new SyslogSink(sinkOptions({ hosts: [`localhost:${port}`], caFile: pki.ca, deadAfterMs: 300 }), src, h.deps);
    await sink.start();
    await until(() => failures(h.events).length >= 2, 'two failed attempts');
    await sink.stop(0);
    await new Promise<void>((r) => plain.close(() => r()));
    const f = failures(h.events);
    assert.equal(f[0]?.reason, answers ? 'not_tls' : 'handshake_timeout', JSON.stringify(f[0]));
    const bytes = Buffer.concat(seen);
    assert.ok(bytes.length > 0);
    assert.equal(bytes[0], 0x16, 'first byte is a TLS handshake record');
    assert.equal(bytes.indexOf(SECRET), -1, 'the payload never went out in plaintext');
    assert.equal(src.sent, 0n);
  }
});

test('a refused connection is reported as refused and retried with backoff', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const src = new MemorySource();
  src.push(...records());
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ hosts: [`127.0.0.1:${port}`], caFile: pki.ca }), src, h.deps);
  t.after(() => sink.stop(0));
  await sink.start();
  const refused = (): SinkEvent[] => h.events.filter((e) => e.type === 'connect_failure' && e.reason === 'refused');
  await until(() => refused().length >= 3, 'three refused attempts');
  assert.deepEqual(failures(h.events), [], 'a refused connection is not a TLS failure');
  // The way opens: a good receiver on the same port gets everything that waited.
  const received: Buffer[] = [];
  const rx = new SyslogReceiver({ host: '127.0.0.1', port, cert: pki.serverCert, key: pki.serverKey, out: path.join(dir, 'o'), onRecord: (m) => received.push(m) });
  await rx.start();
  t.after(() => rx.stop());
  await until(() => received.length === 3, 'all three records after the receiver came up');
  assert.deepEqual(received, records());
});

test('tcp and udp are refused without allow_insecure, and tls without a CA file', () => {
  const h = harness();
  const src = new MemorySource();
  for (const protocol of ['tcp', 'udp'] as const) {
    assert.throws(() => new SyslogSink(sinkOptions({ hosts: ['127.0.0.1:601'], protocol }), src, h.deps), /allow_insecure/);
  }
  assert.throws(() => new SyslogSink(sinkOptions({ hosts: ['127.0.0.1:6514'] }), src, h.deps), /output\.destination\.ca/);
  assert.throws(() => new SyslogSink(sinkOptions({ hosts: [], caFile: '/x' }), src, h.deps), /hosts/);
  assert.throws(() => new SyslogSink(sinkOptions({ hosts: ['a:99999'], caFile: '/x' }), src, h.deps), /hosts\[0\]/);
});
