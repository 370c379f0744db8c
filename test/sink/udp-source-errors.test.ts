/**
 * UDP: a queue that fails to read (or to wait for data) now and then must not
 * stop the sender for good; each failure is counted and logged, and reading is
 * retried with backoff from the same position (nothing lost, nothing twice).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { SyslogSink } from '../../src/sink/sink.js';
import type { SinkLogger } from '../../src/sink/types.js';
import { MemorySource } from './fake-source.js';
import { harness, sinkOptions, until } from './util.js';

class FlakySource extends MemorySource {
  readFailures = 0;
  waitFailures = 0;

  override async readFrom(position: bigint, maxBytes: number): Promise<{ id: bigint; payload: Buffer }[]> {
    if (this.readFailures > 0) {
      this.readFailures--;
      throw Object.assign(new Error('EIO: transient read error'), { code: 'EIO' });
    }
    return super.readFrom(position, maxBytes);
  }

  override waitForData(position: bigint): Promise<void> {
    if (this.waitFailures > 0) {
      this.waitFailures--;
      return Promise.reject(Object.assign(new Error('EIO: transient wait error'), { code: 'EIO' }));
    }
    return super.waitForData(position);
  }
}

function captureLog(): { log: SinkLogger; errors: { obj: object; msg: string }[] } {
  const errors: { obj: object; msg: string }[] = [];
  const none = (): void => undefined;
  return { errors, log: { debug: none, info: none, warn: none, error: (obj, msg) => errors.push({ obj, msg }) } };
}

function rec(s: string): Buffer {
  return Buffer.from(`<134>1 - h a - - - ${s}`);
}

test('udp: queue read and wait errors are counted, logged and retried; every record is sent exactly once', async (t) => {
  const got: Buffer[] = [];
  const rx = dgram.createSocket('udp4');
  rx.on('message', (m) => got.push(m));
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  t.after(() => rx.close());
  const src = new FlakySource();
  src.readFailures = 2;
  src.push(rec('one'));
  const h = harness();
  const { log, errors } = captureLog();
  const sink = new SyslogSink(
    sinkOptions({ protocol: 'udp', allowInsecure: true, hosts: [`127.0.0.1:${rx.address().port}`], retry: { minDelayMs: 20, maxDelayMs: 100 } }),
    src,
    { ...h.deps, log },
  );
  t.after(() => sink.stop(0));
  await sink.start();
  await until(() => got.length === 1, 'the first record after two failed reads');
  assert.equal(h.counters.get('source_errors'), 2);
  assert.equal(errors.length, 2, JSON.stringify(errors));
  assert.match(errors[0]?.msg ?? '', /queue/);

  // The wait for new data fails once (the record is not there yet, so the sender waits).
  src.waitFailures = 1;
  await new Promise((r) => setTimeout(r, 100));
  src.push(rec('two'));
  await until(() => got.length === 2, 'the second record after a failed wait');
  src.readFailures = 1;
  src.push(rec('three'));
  await until(() => got.length === 3, 'the third record after another failed read');
  assert.deepEqual(got, [rec('one'), rec('two'), rec('three')]);
  assert.equal(h.counters.get('source_errors'), 4);
  assert.equal(sink.status().connected, true);
  assert.equal(src.sent, 3n);
});

test('udp: stop() during the backoff after a queue error ends the sender at once', async (t) => {
  const rx = dgram.createSocket('udp4');
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  t.after(() => rx.close());
  const src = new FlakySource();
  src.readFailures = Infinity;
  src.push(rec('never'));
  const h = harness();
  // A backoff and a grace (60 s) far beyond the wait for stop() below: stop() can only end in time by
  // cutting the backoff short. (Not so long that a failing run never exits: the sender's read after
  // the backoff sees the stop.)
  const longest = 60_000;
  const sink = new SyslogSink(
    sinkOptions({ protocol: 'udp', allowInsecure: true, hosts: [`127.0.0.1:${rx.address().port}`], retry: { minDelayMs: longest, maxDelayMs: longest } }),
    src,
    h.deps,
  );
  await sink.start();
  await until(() => h.counters.get('source_errors') === 1, 'the first failed read');
  let stopped = false;
  const stopping = sink.stop(longest).then(() => {
    stopped = true;
  });
  await until(() => stopped, 'stop() returned without waiting out the backoff or the grace');
  await stopping;
  assert.equal(h.counters.get('source_errors'), 1, 'the failure during stop is not retried');
  assert.equal(sink.status().connected, false);
});
