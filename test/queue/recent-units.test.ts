/**
 * The reader takes the units the writer just wrote from memory (DiskQueue.recent):
 * what it hands out must be exactly what is on disk, stay intact however much is
 * written afterwards, and never outlive a rewrite of its segment.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { DiskQueue } from '../../src/queue/disk-queue.js';
import { makeQueue, tempDir } from './helpers.js';

function payload(i: number): Buffer {
  return Buffer.from(`record ${i} `.padEnd(80 + (i % 300), String.fromCharCode(97 + (i % 26))));
}

/** Reads everything from `from` on in sink-sized batches, through readPayloads. */
async function readAllPayloads(q: DiskQueue, from: bigint, batch: number): Promise<{ id: bigint; payload: Buffer }[]> {
  const out: { id: bigint; payload: Buffer }[] = [];
  let p = from;
  for (;;) {
    const r = await q.readPayloads(p, batch);
    if (r.length === 0) return out;
    out.push(...r);
    p = (r[r.length - 1] as { id: bigint }).id + 1n;
  }
}

test('a reader right behind the writer gets every record, byte for byte what a reopened queue reads from disk', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const h = makeQueue(dir, { segmentBytes: 64 * 1024 });
    await h.q.open();
    const got: { id: bigint; payload: Buffer }[] = [];
    let i = 0;
    // Appends of varied sizes, each followed by a sink-like read of what became durable.
    for (let round = 0; round < 60; round++) {
      const n = 1 + ((round * 37) % 90);
      await h.q.append(Array.from({ length: n }, () => ({ payload: payload(i++), meta: { input: 'in', identity: 'f', end: i } })));
      got.push(...(await readAllPayloads(h.q, got.length === 0 ? 0n : (got[got.length - 1] as { id: bigint }).id + 1n, 4096)));
    }
    assert.equal(got.length, i);
    // Views handed out earlier are still intact after everything written since.
    got.forEach((r, k) => assert.ok(r.payload.equals(payload(k)), `record ${k}`));
    await h.q.close();

    const again = makeQueue(dir, { segmentBytes: 64 * 1024 });
    await again.q.open();
    const disk = await readAllPayloads(again.q, 0n, 1 << 20);
    assert.deepEqual(
      disk.map((r) => [r.id, r.payload.toString()]),
      got.map((r) => [r.id, r.payload.toString()]),
    );
    assert.equal(again.counters.get('queue_read_corrupt'), 0);
    await again.q.close();
  } finally {
    cleanup();
  }
});

test('after a drop_oldest rewrite the reader sees the rewritten segment, not the units written before it', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const h = makeQueue(dir, { maxBytes: 8192, segmentBytes: 1024, internalHeadroomBytes: 1024, whenFull: 'drop_oldest' });
    await h.q.open();
    const appended: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const p = Buffer.from(`record ${i} `.padEnd(60, '.'));
      appended.push(p);
      await h.q.append([{ payload: p, meta: { input: 'in', identity: 'f' } }]);
      // Read what is there now (partly from memory): every record is one that was appended, in order.
      const r = await readAllPayloads(h.q, 0n, 512);
      const nums = r.map((x) => Number(/record (\d+)/.exec(x.payload.toString())?.[1]));
      for (let k = 1; k < nums.length; k++) assert.ok((nums[k] as number) > (nums[k - 1] as number));
      for (const x of r) assert.ok(appended.some((a) => a.equals(x.payload)));
    }
    assert.ok(h.counters.get('queue_dropped_records') > 0, 'the test did make the queue drop');
    assert.equal(h.counters.get('queue_read_corrupt'), 0);
    await h.q.close();
  } finally {
    cleanup();
  }
});
