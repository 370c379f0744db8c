import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SyslogReceiver } from '../../src/sink/receiver.js';
import { SyslogSink } from '../../src/sink/sink.js';
import { makeCa, issue, makeTestPki } from '../helpers/certs.js';
import { writeFileSync } from 'node:fs';
import { MemorySource } from './fake-source.js';
import { failures, harness, sinkOptions, tempDir, until } from './util.js';

function payloads(): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 2000; i++) {
    out.push(Buffer.from(`<134>1 2024-05-20T10:13:20.123Z web01 logward 42 ECS [x@32473 seq="${i}"] {"message":"line ${i} é ✓"}`));
  }
  // A neutralized newline (visible token) and a JSON-escaped one, a 60 KiB message, multi-byte text at the end.
  out.push(Buffer.from('<134>1 - web01 logward - ECS - {"message":"a{U+000A}b","x":"c\\nd"}'));
  out.push(Buffer.concat([Buffer.from('<134>1 - web01 logward - ECS - '), Buffer.alloc(60 * 1024, 0x61)]));
  out.push(Buffer.from('<134>1 - web01 logward - CEF - CEF:0|v|p|1|c|n|5|msg=ünïcödé ✓ 𝄞'));
  return out;
}

test('every frame arrives byte-identical over verified TLS, in order, 60 KiB messages included', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const out = path.join(dir, 'received.log');
  const received: Buffer[] = [];
  const rx = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, out, onRecord: (m) => received.push(m) });
  const { port } = await rx.start();
  t.after(() => rx.stop());
  const src = new MemorySource();
  const sent = payloads();
  src.push(...sent);
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ hosts: [`localhost:${port}`], caFile: pki.ca }), src, h.deps);
  await sink.start();
  await until(() => received.length >= sent.length, 'all records received');
  assert.equal(sink.status().connected, true);
  assert.equal(sink.status().host, `localhost:${port}`);
  await sink.stop(2000);
  assert.deepEqual(received, sent);
  assert.equal(src.sent, BigInt(sent.length));
  assert.equal(failures(h.events).length, 0);
  assert.ok(h.events.some((e) => e.type === 'connected' && e.tlsVersion === 'TLSv1.3'));
  // The output file: one record per line, the same bytes.
  await rx.stop();
  const lines = readFileSync(out).toString('utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(lines, sent.map((b) => b.toString('utf8')));
  assert.ok(h.counters.get('frames_written') >= sent.length);
});

test('mutual TLS: the client certificate is presented and accepted; IP-literal hosts are checked against IP SANs', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const received: Buffer[] = [];
  const rx = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, onRecord: (m) => received.push(m), out: path.join(dir, 'o') });
  const { port } = await rx.start();
  t.after(() => rx.stop());
  const src = new MemorySource();
  src.push(Buffer.from('<134>1 - h a - - - one'), Buffer.from('<134>1 - h a - - - two'));
  const h = harness();
  const sink = new SyslogSink(
    sinkOptions({ hosts: [`127.0.0.1:${port}`], caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey, pinSha256: [pki.serverFingerprint256.replace(/:/g, '').toLowerCase()] }),
    src,
    h.deps,
  );
  await sink.start();
  await until(() => received.length === 2, 'two records');
  await sink.stop(1000);
  assert.deepEqual(received.map(String), ['<134>1 - h a - - - one', '<134>1 - h a - - - two']);
  assert.equal(rx.stats().tlsErrors, 0);
});

test('certificate files are re-read on every connect: a fixed client certificate takes effect without a restart', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const received: Buffer[] = [];
  const rx = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, onRecord: (m) => received.push(m), out: path.join(dir, 'o') });
  const { port } = await rx.start();
  t.after(() => rx.stop());
  // Start with a client certificate from a CA the receiver does not trust.
  const certFile = path.join(dir, 'agent.pem');
  const keyFile = path.join(dir, 'agent.key');
  copyFileSync(pki.otherClientCert, certFile);
  copyFileSync(pki.otherClientKey, keyFile);
  const src = new MemorySource();
  src.push(Buffer.from('<134>1 - h a - - - after rotation'));
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ hosts: [`localhost:${port}`], caFile: pki.ca, certFile, keyFile }), src, h.deps);
  await sink.start();
  t.after(() => sink.stop(0));
  await until(() => failures(h.events).length >= 2, 'two rejected attempts');
  assert.equal(received.length, 0);
  copyFileSync(pki.clientCert, certFile);
  copyFileSync(pki.clientKey, keyFile);
  await until(() => received.length >= 1, 'delivery after rotation');
  assert.equal(received[0]?.toString(), '<134>1 - h a - - - after rotation');
});

test('a server or client certificate that expires within 30 days raises cert_expiring once', async (t) => {
  const dir = tempDir(t);
  const ca = await makeCa();
  const soon = new Date(Date.now() + 10 * 24 * 3600 * 1000);
  const server = await issue(ca, { cn: 'localhost', dns: ['localhost'], usage: 'server', notAfter: soon });
  const client = await issue(ca, { cn: 'agent', usage: 'client', notAfter: soon });
  const f = (n: string, s: string): string => {
    const p = path.join(dir, n);
    writeFileSync(p, s);
    return p;
  };
  const rx = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: f('s.pem', server.cert), key: f('s.key', server.key), ca: f('ca.pem', ca.cert), out: path.join(dir, 'o') });
  const { port } = await rx.start();
  t.after(() => rx.stop());
  const src = new MemorySource();
  src.push(Buffer.from('<134>1 - h a - - - x'));
  const h = harness();
  const sink = new SyslogSink(
    sinkOptions({ hosts: [`localhost:${port}`], caFile: path.join(dir, 'ca.pem'), certFile: f('c.pem', client.cert), keyFile: f('c.key', client.key) }),
    src,
    h.deps,
  );
  await sink.start();
  await until(() => rx.stats().records === 1, 'record stored');
  await sink.stop(500);
  const warnings = h.events.filter((e) => e.type === 'cert_expiring');
  assert.deepEqual(warnings.map((e) => e.type === 'cert_expiring' && [e.which, e.days >= 8 && e.days <= 10]).sort(), [['client', true], ['server', true]]);
});
