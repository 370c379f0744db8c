/**
 * A source that implements rewind() is asked for the start position of every
 * new connection's stream (TLS/TCP sessions and the UDP sender) instead of
 * replayPosition(), and the stream resumes after the position it returns.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import path from 'node:path';
import { SyslogReceiver } from '../../src/sink/receiver.js';
import { SyslogSink } from '../../src/sink/sink.js';
import { makeTestPki } from '../helpers/certs.js';
import { MemorySource } from './fake-source.js';
import { harness, sinkOptions, tempDir, until } from './util.js';

class RewindingSource extends MemorySource {
  rewindCalls = 0;

  rewind(): bigint {
    this.rewindCalls++;
    return this.acked;
  }
}

function rec(i: number): Buffer {
  return Buffer.from(`<134>1 - h logward - - - record ${i}`);
}

test('tls: every connection starts at rewind(), not replayPosition(), when the source has it', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const got: Buffer[] = [];
  const rx = new SyslogReceiver({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, out: path.join(dir, 'o'), onRecord: (m) => got.push(m) });
  const { port } = await rx.start();
  t.after(() => rx.stop());
  const src = new RewindingSource();
  src.push(rec(1), rec(2), rec(3));
  src.acked = 1n; // record 1 was acknowledged: the stream resumes after it
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ hosts: [`localhost:${port}`], caFile: pki.ca }), src, h.deps);
  t.after(() => sink.stop(0));
  await sink.start();
  await until(() => got.length === 2, 'records after the rewound position');
  assert.deepEqual(got, [rec(2), rec(3)]);
  assert.equal(src.rewindCalls, 1);
  assert.equal(src.replayCalls, 0);
});

test('udp: the sender starts at rewind(), not replayPosition(), when the source has it', async (t) => {
  const got: Buffer[] = [];
  const rx = dgram.createSocket('udp4');
  rx.on('message', (m) => got.push(m));
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  t.after(() => rx.close());
  const src = new RewindingSource();
  src.push(rec(1), rec(2));
  src.acked = 1n;
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ protocol: 'udp', allowInsecure: true, hosts: [`127.0.0.1:${rx.address().port}`] }), src, h.deps);
  t.after(() => sink.stop(0));
  await sink.start();
  await until(() => got.length === 1, 'the record after the rewound position');
  assert.deepEqual(got, [rec(2)]);
  assert.equal(src.rewindCalls, 1);
  assert.equal(src.replayCalls, 0);
});
