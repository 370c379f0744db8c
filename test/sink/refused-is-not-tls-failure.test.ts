/**
 * A destination that refuses the TCP connection was never asked for TLS: reporting it as a TLS
 * failure (the SIEM alert tls_verification_failed, "TLS connection … refused: refused") sends the
 * operator after certificates when the receiver is down or the port is wrong (operator audit).
 * That a refused certificate stays a tls_failure is tls-failures.test.ts's.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyslogSink } from '../../src/sink/sink.js';
import { makeTestPki } from '../helpers/certs.js';
import { MemorySource } from './fake-source.js';
import { failures, freePort, harness, sinkOptions, tempDir, until } from './util.js';

test('a refused TLS destination is a connect_failure "refused", not a TLS failure, and is not counted as one', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const port = await freePort(); // nothing listens there
  const src = new MemorySource();
  src.push(Buffer.from('<134>1 - h logward - - - one'));
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ hosts: [`127.0.0.1:${port}`], caFile: pki.ca }), src, h.deps);
  t.after(() => sink.stop(0));
  await sink.start();
  await until(() => h.counters.get('connect_failures') >= 2, 'two refused attempts');
  const refused = h.events.filter((e) => e.type === 'connect_failure');
  assert.ok(refused.length >= 2, JSON.stringify(h.events));
  assert.equal(refused[0]?.reason, 'refused');
  assert.equal(refused[0]?.host, `127.0.0.1:${port}`);
  assert.match(refused[0]?.detail ?? '', /ECONNREFUSED/);
  assert.deepEqual(failures(h.events), [], 'no tls_failure event');
  assert.equal(h.counters.get('tls_failures'), 0, 'logward_tls_failures_total does not count it');
});
