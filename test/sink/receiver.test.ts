import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { SyslogReceiver, escapeLineBreaks } from '../../src/sink/receiver.js';
import { makeTestPki } from '../helpers/certs.js';
import { tempDir, until } from './util.js';

function send(port: number, ca: string, data: string): Promise<void> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: 'localhost', port, ca: readFileSync(ca) }, () => s.end(data));
    s.on('error', () => resolve());
    s.on('close', () => resolve());
  });
}

test('the receiver stores octet-counted and LF-framed records one per line, escaping line breaks inside a record', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const out = path.join(dir, 'out.log');
  const rx = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, out });
  const { port } = await rx.start();
  t.after(() => rx.stop());
  await send(port, pki.ca, '10 first\nline<13>1 - lf framed\n5 third');
  await until(() => rx.stats().records === 3, 'three records');
  await rx.stop();
  assert.equal(readFileSync(out, 'utf8'), 'first{U+000A}line\n<13>1 - lf framed\nthird\n');
  assert.equal(rx.stats().recordsEscaped, 1);
  assert.ok(escapeLineBreaks(Buffer.from('a\r\nb')).equals(Buffer.from('a{U+000D}{U+000A}b')));
});

test('a malformed frame closes that connection only; the receiver keeps serving others', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const rx = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, out: path.join(dir, 'o') });
  const { port } = await rx.start();
  t.after(() => rx.stop());
  await send(port, pki.ca, '5 good099999999999999999 x');
  await until(() => rx.stats().frameErrors === 1, "frame error counted");
  assert.equal(rx.stats().records, 1, "the good frame before the bad one is kept");
  await send(port, pki.ca, '5 after');
  await until(() => rx.stats().records === 2, 'the next connection is served');
});

test('with --ca the receiver requires a client certificate: a client without one stores nothing', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const rx = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, out: path.join(dir, 'o') });
  const { port } = await rx.start();
  t.after(() => rx.stop());
  await send(port, pki.ca, '5 hello');
  await until(() => rx.stats().tlsErrors >= 1, 'handshake refused');
  assert.equal(rx.stats().records, 0);
  assert.equal(rx.stats().bytes, 0);
});
