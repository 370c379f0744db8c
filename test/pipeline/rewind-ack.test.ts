/**
 * The real queue behind the real sink, against a receiver that completes the
 * TLS handshake, reads everything and stores nothing (a post-handshake client
 * certificate rejection, a load balancer with no backend), then closes. The
 * sink counts each such connection as failed and backs off; what it sent on
 * them must never be acknowledged, however long the backoff outlasts the
 * resend window's age: the acknowledged cursor may only move on marks made by
 * the connection that is alive.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';

import { queueFrames } from '../../src/pipeline.js';
import { SyslogSink } from '../../src/sink/sink.js';
import { makeTestPki } from '../helpers/certs.js';
import { makeQueue } from '../queue/helpers.js';
import { harness, sinkOptions, tempDir, until } from '../sink/util.js';

test('records sent on connections a receiver closed without storing them are never acknowledged, even after a backoff longer than the resend window', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  let connections = 0;
  let bytesDiscarded = 0;
  const server = tls.createServer(
    { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey), ca: readFileSync(pki.ca), minVersion: 'TLSv1.2' },
    (s) => {
      connections++;
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => (bytesDiscarded += d.length));
      setTimeout(() => s.destroy(), 150);
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;

  // A small, short window: 64 KiB and 300 ms; the backoff between connections (1 s) outlasts it.
  // Removed by the last hook below, after the queue is closed (hooks run in the order they are added).
  const qdir = mkdtempSync(join(tmpdir(), 'logward-rewind-q-'));
  const { q } = makeQueue(qdir, { resendWindow: { bytes: 64 * 1024, ageMs: 300 } });
  await q.open();
  for (let i = 0; i < 2000; i++) {
    await q.append([{ payload: Buffer.from(`<134>1 - h logward - - - record ${i} ${'p'.repeat(1000)}`), meta: { input: 'in', identity: 'f', end: i } }]);
  }
  const h = harness();
  const sink = new SyslogSink(
    sinkOptions({ hosts: [`localhost:${port}`], caFile: pki.ca, retry: { minDelayMs: 1000, maxDelayMs: 1000 }, maxBatchBytes: 32 * 1024 }),
    queueFrames(q),
    h.deps,
  );
  const ticker = setInterval(() => void q.tick(), 25);
  t.after(async () => {
    clearInterval(ticker);
    await sink.stop(0);
    await q.close();
    rmSync(qdir, { recursive: true, force: true });
  });
  await sink.start();
  await until(() => connections >= 3 && bytesDiscarded > 256 * 1024, 'three connections that took and discarded data', 30_000);
  // Let the ticks run over the last backoff too.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(q.replayPosition(), 0n, 'nothing was stored, so nothing may be acknowledged');
  assert.equal(q.stats().acked, 0n);
});
