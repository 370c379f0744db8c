/**
 * "Last send" is the last write the socket accepted on ANY connection, the live one included.
 * An operator audit found `logward status` printing "last send never" and /healthz answering 503
 * "nothing sent since start" while a healthy connection was shipping: the sink only learnt a
 * session's last write when the session ended.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { health } from '../../src/monitor/metrics.js';
import type { AgentSnapshot } from '../../src/monitor/snapshot.js';
import { SyslogReceiver } from '../../src/sink/receiver.js';
import { SyslogSink } from '../../src/sink/sink.js';
import { makeTestPki } from '../helpers/certs.js';
import { MemorySource } from './fake-source.js';
import { harness, listenLocal, sinkOptions, tempDir, until } from './util.js';

function rec(i: number, pad = 0): Buffer {
  return Buffer.from(`<134>1 - h logward - - - record ${i} ${'p'.repeat(pad)}`);
}

test('status() carries the last write of the connection that is still open, and each new write moves it', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const got: Buffer[] = [];
  const rx = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, out: path.join(dir, 'o'), onRecord: (m) => got.push(m) });
  const { port } = await rx.start();
  t.after(() => rx.stop());
  const src = new MemorySource();
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ hosts: [`localhost:${port}`], caFile: pki.ca }), src, h.deps);
  t.after(() => sink.stop(0));
  await sink.start();
  await until(() => sink.status().connected, 'connected');
  assert.equal(sink.status().lastSendAt, undefined, 'nothing written yet: no last send');

  const beforeFirst = Date.now();
  src.push(rec(1), rec(2));
  await until(() => got.length === 2, 'the first records at the receiver');
  const first = sink.status();
  assert.equal(first.connected, true);
  assert.equal(h.events.filter((e) => e.type === 'disconnected').length, 0, 'still the first connection');
  assert.ok(first.lastSendAt !== undefined && first.lastSendAt >= beforeFirst, `last send ${first.lastSendAt} is the write just made`);

  const beforeSecond = Date.now();
  src.push(rec(3));
  await until(() => got.length === 3, 'the next record at the receiver');
  const second = sink.status().lastSendAt;
  assert.ok(second !== undefined && second >= beforeSecond, `last send ${second} moved to the newer write`);
});

test('/healthz during a burst the receiver has not read yet: the live connection wrote, so it is healthy', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const server = tls.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (s) => {
    s.pause(); // a receiver busy elsewhere: the burst stays queued behind the socket's buffers
  });
  const port = await listenLocal(t, server);
  const total = 20_000; // ~20 MB: far more than loopback socket buffers hold
  const src = new MemorySource();
  const all: Buffer[] = [];
  for (let i = 0; i < total; i++) all.push(rec(i, 1000));
  src.pushAll(all);
  const h = harness();
  // dead_after far away: this test is about a connection that is healthy, only behind.
  const sink = new SyslogSink(sinkOptions({ hosts: [`localhost:${port}`], caFile: pki.ca, deadAfterMs: 600_000, maxBatchBytes: 64 * 1024 }), src, h.deps);
  t.after(() => sink.stop(0));
  await sink.start();
  await until(() => src.sent > 0n, 'the first writes');

  const status = sink.status();
  const now = Date.now();
  const snapshot: AgentSnapshot = {
    agentId: 'a',
    version: '0',
    startedAt: now,
    now,
    counters: h.counters.snapshot(),
    inputs: [],
    queue: { bytes: 0, records: total, written: String(total), sent: String(src.sent), acked: '0', dropped: 0, blocked: false },
    sink: { connected: status.connected, reconnects: status.reconnects, ...(status.lastSendAt !== undefined ? { lastSendAt: status.lastSendAt } : {}) },
    recentAlerts: [],
    heartbeatMs: 60_000,
  };
  assert.ok(src.sent < BigInt(total), 'events still wait behind the unread socket');
  assert.equal(status.connected, true);
  assert.deepEqual(health(snapshot), { ok: true, reason: 'ok' });
});
