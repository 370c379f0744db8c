import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { SyslogReceiver } from '../../src/sink/receiver.js';
import { SyslogSink } from '../../src/sink/sink.js';
import { makeTestPki } from '../helpers/certs.js';
import { MemorySource } from './fake-source.js';
import { harness, listenLocal, sinkOptions, tempDir, until } from './util.js';

/**
 * A first host that accepts TLS and then stops reading (disk full, hung) is found dead after
 * dead_after; that time proves nothing about its health, so the next attempt goes to the
 * second host. Before, a dead session always outlived the healthy time and the sink went back
 * to the first host for ever.
 */
test('a first host that accepts TLS and then never reads is failed over: the second host gets the records', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  let aConns = 0;
  const a = tls.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (s) => {
    aConns++;
    s.on('error', () => undefined);
    s.pause(); // a receiver that stopped reading (disk full, hung)
  });
  const portA = await listenLocal(t, a);
  const atB: Buffer[] = [];
  const b = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, out: path.join(dir, 'b'), onRecord: (m) => atB.push(m) });
  const { port: portB } = await b.start();
  t.after(() => b.stop());
  const src = new MemorySource();
  const big = 'x'.repeat(10_000);
  for (let i = 0; i < 3000; i++) src.push(Buffer.from(`<134>1 - h logward - - - ${i} ${big}`));
  const h = harness();
  const sink = new SyslogSink(
    sinkOptions({ hosts: [`localhost:${portA}`, `localhost:${portB}`], caFile: pki.ca, deadAfterMs: 800, healthyAfterMs: 300, retry: { minDelayMs: 50, maxDelayMs: 200 } }),
    src,
    h.deps,
  );
  t.after(() => sink.stop(0));
  await sink.start();
  await until(() => atB.length > 0, 'records at the second host', 30_000);
  assert.ok(aConns >= 1 && h.events.some((e) => e.type === 'dead_connection'), 'the first host was tried and found dead');
  assert.ok(h.counters.get('connect_attempts_failed') >= 1, 'the dead session counted as a failed attempt');
});
