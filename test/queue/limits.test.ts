import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { CrashFs, makeQueue, readAll, rec, tempDir, track } from './helpers.js';

const SMALL = { maxBytes: 8192, segmentBytes: 1024, internalHeadroomBytes: 1024 };

/** Acts as the sink: sends everything durable and acknowledges it (window 0). */
async function drain(q: ReturnType<typeof makeQueue>['q']): Promise<number> {
  const recs = await readAll(q, q.stats().sent);
  const last = recs[recs.length - 1];
  if (last) q.markSent(last.id + 1n);
  await q.tick();
  return recs.length;
}

test('when_full block with a tiny max_bytes: append stays pending, disk stays bounded, resumes after acknowledgements', async () => {
  const { dir, cleanup } = tempDir();
  const { q } = makeQueue(dir, { ...SMALL, whenFull: 'block' });
  try {
    await q.open();
    let i = 0;
    let blocked: { p: Promise<void>; done: () => boolean } | null = null;
    while (!blocked) {
      const t = track(q.append([rec(i++)]));
      while (!t.done() && !q.stats().blocked) await sleep(1);
      if (!t.done()) blocked = t;
      assert.ok(i < 200, 'the queue must fill up');
    }
    const filledAt = i;
    assert.ok(q.stats().bytes <= SMALL.maxBytes - SMALL.internalHeadroomBytes);
    await sleep(100);
    assert.equal(blocked.done(), false, 'append stays pending while full');
    // An internal record still goes in (headroom), and does not wait for the blocked one.
    await q.append([rec(9999, { internal: true })]);
    assert.equal(blocked.done(), false);
    // Acknowledging frees segments: the blocked append resolves and the producer goes on.
    let delivered = await drain(q);
    await blocked.p;
    for (let k = 0; k < 150; k++) {
      const t = track(q.append([rec(i++)]));
      while (!t.done()) {
        delivered += await drain(q);
        await sleep(1);
      }
      await t.p;
      assert.ok(q.stats().bytes <= SMALL.maxBytes, 'disk use never exceeds max_bytes');
    }
    delivered += await drain(q);
    assert.ok(filledAt > 5);
    assert.equal(BigInt(delivered), q.stats().written, 'the sink got every record exactly once');
    const all = await readAll(q, 0n);
    assert.equal(all.length, 0, 'everything was acknowledged and deleted');
    assert.equal(q.stats().written, BigInt(i + 1), 'every append got an id, none lost');
  } finally {
    await q.close();
    cleanup();
  }
});

test('drop_oldest: the drop count equals what is missing, internal records are never dropped', async () => {
  const { dir, cleanup } = tempDir();
  const { q, counters, alerts } = makeQueue(dir, { ...SMALL, whenFull: 'drop_oldest' });
  try {
    await q.open();
    const N = 300;
    let internals = 0;
    for (let i = 0; i < N; i++) {
      await q.append([rec(i)]);
      if (i % 40 === 0) {
        await q.append([rec(10_000 + i, { internal: true, identity: '_agent' })]);
        internals++;
      }
      assert.ok(q.stats().bytes <= SMALL.maxBytes);
    }
    const all = await readAll(q);
    const ordinary = all.filter((r) => !r.meta.internal);
    const internal = all.filter((r) => r.meta.internal);
    assert.equal(internal.length, internals, 'every internal record is still there');
    const dropped = counters.get('queue_dropped_records');
    assert.ok(dropped > 0);
    assert.equal(N - ordinary.length, dropped, 'drop count equals what is missing');
    assert.equal(q.stats().dropped, dropped);
    const alerted = alerts.filter((a) => a.kind === 'dropped').reduce((s, a) => s + (a.kind === 'dropped' ? a.records : 0), 0);
    assert.equal(alerted, dropped, 'each drop raised an alert with its count');
    // What is left is the newest ordinary records, in order.
    const nums = ordinary.map((r) => Number(/record (\d+)/.exec(r.payload.toString())?.[1]));
    assert.deepEqual(nums, [...Array(ordinary.length).keys()].map((k) => N - ordinary.length + k));
    // A reopen sees the same.
    await q.close();
    const h = makeQueue(dir, { ...SMALL, whenFull: 'drop_oldest' });
    const r = await h.q.open();
    assert.equal(r.recordsKept, all.length);
    await h.q.close();
  } finally {
    await q.close();
    cleanup();
  }
});

test('drop_oldest with only internal records left blocks instead of dropping them', async () => {
  const { dir, cleanup } = tempDir();
  const { q } = makeQueue(dir, { ...SMALL, whenFull: 'drop_oldest' });
  try {
    await q.open();
    let i = 0;
    while (q.stats().bytes < SMALL.maxBytes - 400) await q.append([rec(i++, { internal: true })]);
    const t = track(q.append([rec(i++)]));
    while (!t.done() && !q.stats().blocked) await sleep(1);
    await sleep(20);
    assert.equal(t.done(), false);
    assert.equal(q.stats().blocked, true);
    assert.equal((await readAll(q)).length, i - 1, 'no internal record dropped');
    await drain(q);
    await t.p;
  } finally {
    await q.close();
    cleanup();
  }
});

test('ENOSPC behaves like block, raises an alert and recovers by itself', async () => {
  const { dir, cleanup } = tempDir();
  const fs = new CrashFs();
  const { q, counters, alerts } = makeQueue(dir, { retryMinMs: 2 }, { fs });
  try {
    await q.open();
    await q.append([rec(0)]);
    fs.enospc = 4;
    await q.append([rec(1), rec(2)]);
    assert.equal(counters.get('queue_enospc'), 4);
    assert.deepEqual(alerts.map((a) => a.kind), ['disk_full', 'disk_recovered']);
    const all = await readAll(q);
    assert.deepEqual(all.map((r) => r.id), [0n, 1n, 2n]);
    await q.close();
    const h = makeQueue(dir);
    const r = await h.q.open();
    assert.equal(r.bytesCut, 0, 'no partial frame left behind');
    assert.equal(r.recordsKept, 3);
    await h.q.close();
  } finally {
    await q.close();
    cleanup();
  }
});

test('a record that can never fit is refused, not left pending forever', async () => {
  const { dir, cleanup } = tempDir();
  const { q } = makeQueue(dir, SMALL);
  try {
    await q.open();
    await assert.rejects(q.append([rec(0, { size: 9000 })]), /can never fit/);
  } finally {
    await q.close();
    cleanup();
  }
});

test('memory stays bounded during a long outage: 20 MiB through a 256 KiB queue keeps the heap flat', async () => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { dir, cleanup } = tempDir();
  const { q, counters } = makeQueue(dir, { maxBytes: 256 * 1024, segmentBytes: 16 * 1024, whenFull: 'drop_oldest', fsync: 'none' });
  try {
    await q.open();
    const push = async (from: number, n: number) => {
      for (let i = from; i < from + n; i += 10) {
        await q.append([...Array(10).keys()].map((k) => rec(i + k, { size: 1000 })));
      }
    };
    await push(0, 2000);
    gc();
    const base = process.memoryUsage().heapUsed;
    await push(2000, 20_000);
    gc();
    const grown = process.memoryUsage().heapUsed - base;
    assert.ok(grown < 8 * 1024 * 1024, `heap grew by ${Math.round(grown / 1024)} KiB`);
    assert.ok(q.stats().bytes <= 256 * 1024);
    assert.equal(counters.get('queue_dropped_records') + q.stats().records, 22_000);
  } finally {
    await q.close();
    cleanup();
  }
});
