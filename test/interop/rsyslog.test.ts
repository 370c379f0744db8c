/**
 * Interop with a REAL rsyslog TLS receiver (imtcp + gtls): every event sent
 * through SyslogSink is stored exactly once, byte-identical. We count what
 * rsyslog wrote to its file, never what the sender believes it sent.
 * LOGWARD_STRESS=1 raises the default 100,000 events to 1,000,000.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyslogSink } from '../../src/sink/sink.js';
import { makeTestPki } from '../helpers/certs.js';
import { MemorySource } from '../sink/fake-source.js';
import { failures, freePort, harness, sinkOptions, tempDir } from '../sink/util.js';
import { RsyslogReceiver, rsyslogMissing } from './rsyslog-fixture.js';

const missing = rsyslogMissing();
const COUNT = process.env.LOGWARD_STRESS === '1' ? 1_000_000 : 100_000;

/** COUNT ordinary events, plus neutralized/escaped newlines and 60 KiB messages spread through them. */
function events(): Buffer[] {
  const out: Buffer[] = [];
  const big = 'x'.repeat(60 * 1024);
  for (let i = 0; i < COUNT; i++) {
    let msg: string;
    if (i % 10_000 === 5) msg = `<134>1 2024-05-20T10:13:20.123Z web01 logward 4242 ECS [logward@32473 seq="${i}"] {"message":"${big}"}`;
    else if (i % 1000 === 7) msg = `<38>1 2024-05-20T10:13:20.123Z web01 logward 4242 ECS [logward@32473 seq="${i}"] {"message":"forged{U+000A}<38>1 fake line","stack":"a\\nb"}`;
    else msg = `<134>1 2024-05-20T10:13:20.123Z web01 logward 4242 ECS [logward@32473 seq="${i}"] {"message":"GET /index.html 200 é ✓","n":${i}}`;
    out.push(Buffer.from(msg, 'utf8'));
  }
  return out;
}

async function shipAndCompare(t: { after: (fn: () => unknown) => void }, mutual: boolean): Promise<void> {
  const dir = tempDir(t, 'logward-rsyslog-');
  const pki = await makeTestPki(dir);
  const port = await freePort();
  const rs = new RsyslogReceiver({
    dir,
    port,
    ca: pki.ca,
    cert: pki.serverCert,
    key: pki.serverKey,
    ...(mutual ? { permittedPeers: ['logward-agent'] } : {}),
  });
  await rs.start();
  t.after(() => rs.stop('SIGKILL'));
  const sent = events();
  const src = new MemorySource();
  src.pushAll(sent);
  const h = harness();
  const sink = new SyslogSink(
    sinkOptions({
      hosts: [`localhost:${port}`],
      caFile: pki.ca,
      ...(mutual ? { certFile: pki.clientCert, keyFile: pki.clientKey } : {}),
      deadAfterMs: 30_000,
    }),
    src,
    h.deps,
  );
  t.after(() => sink.stop(0));
  await sink.start();
  await rs.waitForStored(sent.length, 120_000);
  await sink.stop(5_000);
  await rs.stop('SIGTERM');
  assert.deepEqual(failures(h.events), []);
  assert.equal(h.counters.get('reconnects'), 0, 'one connection, so exactly-once is expected');
  const stored = rs.storedRecords();
  assert.equal(stored.length, sent.length, 'each event stored exactly once');
  // Compare as multisets (rsyslog may run several workers), then check nothing differs by a byte.
  const key = (b: Buffer): string => b.toString('latin1');
  const want = new Map<string, number>();
  for (const b of sent) want.set(key(b), (want.get(key(b)) ?? 0) + 1);
  for (const b of stored) {
    const k = key(b);
    const n = want.get(k);
    assert.ok(n !== undefined && n > 0, `stored record not sent (or stored twice): ${k.slice(0, 200)}`);
    want.set(k, n - 1);
  }
  assert.ok([...want.values()].every((n) => n === 0));
  assert.ok(stored.some((b) => b.length > 60 * 1024), '60 KiB records stored whole');
}

test(`rsyslog (gtls, server-authenticated TLS) stores ${COUNT} events exactly once, byte-identical`, { skip: missing, timeout: 300_000 }, async (t) => {
  await shipAndCompare(t, false);
});

test(`rsyslog with mutual TLS (x509/name) stores ${COUNT} events exactly once, byte-identical`, { skip: missing, timeout: 300_000 }, async (t) => {
  await shipAndCompare(t, true);
});

test('rsyslog with mutual TLS refuses a client certificate from another CA: nothing stored, the sink reports it and retries', { skip: missing, timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, 'logward-rsyslog-');
  const pki = await makeTestPki(dir);
  const port = await freePort();
  const rs = new RsyslogReceiver({ dir, port, ca: pki.ca, cert: pki.serverCert, key: pki.serverKey, permittedPeers: ['logward-agent'] });
  await rs.start();
  t.after(() => rs.stop('SIGKILL'));
  const src = new MemorySource();
  src.push(Buffer.from('<134>1 - web01 logward - - - must not be stored'));
  const h = harness();
  const sink = new SyslogSink(
    sinkOptions({ hosts: [`localhost:${port}`], caFile: pki.ca, certFile: pki.otherClientCert, keyFile: pki.otherClientKey }),
    src,
    h.deps,
  );
  t.after(() => sink.stop(0));
  await sink.start();
  const end = Date.now() + 30_000;
  while (failures(h.events).length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.ok(failures(h.events).length >= 3, `three failed attempts, got ${JSON.stringify(h.events)}`);
  await sink.stop(0);
  await rs.stop('SIGTERM');
  assert.equal(rs.storedCount(), 0);
  assert.ok(failures(h.events).every((f) => f.reason === 'client_cert_rejected'), JSON.stringify(failures(h.events)));
  assert.equal(src.sent, 0n, 'nothing was written on a rejected connection');
});
