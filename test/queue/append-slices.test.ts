/**
 * The pipeline appends a source batch in slices (src/queue/append-slices.ts).
 * These tests drive the slicing with a recording `append`, because what they
 * pin is the order of calls: which slice is built and handed over when.
 * test/queue/failed-group-followers.test.ts covers the queue's side (followers
 * of a failed group are rejected) with the real queue.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { appendInSlices } from '../../src/queue/append-slices.js';

interface Rec {
  readonly n: number;
  readonly size: number;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** A batch of `n` items, a log of what was built, and an append that answers each slice with `answer(k)`. */
function harness(n: number, size: number, answer: (k: number) => Promise<void>) {
  const built: number[] = [];
  const slices: number[][] = [];
  const build = (i: number): Rec => {
    built.push(i);
    return { n: i, size };
  };
  const append = (slice: Rec[]): Promise<void> => {
    slices.push(slice.map((r) => r.n));
    return answer(slices.length - 1);
  };
  return { items: range(n), built, slices, build, append };
}

test('slices keep the batch order and stop at the record limit or once the byte estimate reaches the limit', async () => {
  const byCount = harness(1200, 10, async () => {});
  await appendInSlices(byCount.items, byCount.build, byCount.append, { records: 512, bytes: 1 << 20 }, macrotask);
  assert.deepEqual(
    byCount.slices.map((s) => s.length),
    [512, 512, 176],
  );
  assert.deepEqual(byCount.slices.flat(), range(1200));

  // 300-byte records against 1000 bytes: the fourth record takes a slice over the limit and ends it.
  const bySize = harness(10, 300, async () => {});
  await appendInSlices(bySize.items, bySize.build, bySize.append, { records: 512, bytes: 1000 }, macrotask);
  assert.deepEqual(bySize.slices, [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
    [8, 9],
  ]);
});

test('no later slice is built or appended once a slice was rejected, and the batch fails with that rejection', async () => {
  const eio = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
  const h = harness(2000, 10, (k) => (k === 1 ? Promise.reject(eio) : Promise.resolve()));
  await assert.rejects(appendInSlices(h.items, h.build, h.append, { records: 500, bytes: 1 << 20 }, macrotask), eio);
  // Slice 1 was rejected while slice 0 was awaited; slice 2 must not follow it into the queue.
  assert.equal(h.slices.length, 2);
  assert.equal(h.built.length, 1000, 'nothing of slice 2 is even built');
});

test('a slice rejected while its predecessor is still being written stops the batch once the predecessor settles', async () => {
  const first = deferred();
  const eio = new Error('EIO: i/o error, write');
  const h = harness(1500, 10, (k) => (k === 0 ? first.promise : Promise.reject(eio)));
  const done = appendInSlices(h.items, h.build, h.append, { records: 500, bytes: 1 << 20 }, macrotask);
  for (let i = 0; i < 5; i++) await macrotask();
  // Two slices alive at most: slice 0 is being written, slice 1 waits behind it.
  assert.equal(h.slices.length, 2);
  first.resolve();
  await assert.rejects(done, eio);
  assert.equal(h.slices.length, 2);
});

test('at most two slices are alive: a third is built only after the first is durable', async () => {
  const answers = [deferred(), deferred(), deferred()];
  const h = harness(1500, 10, (k) => answers[k]!.promise);
  const done = appendInSlices(h.items, h.build, h.append, { records: 500, bytes: 1 << 20 }, macrotask);
  for (let i = 0; i < 5; i++) await macrotask();
  assert.equal(h.slices.length, 2);
  assert.equal(h.built.length, 1000);
  answers[0]!.resolve();
  for (let i = 0; i < 5; i++) await macrotask();
  assert.equal(h.slices.length, 3);
  answers[1]!.resolve();
  answers[2]!.resolve();
  await done;
  assert.deepEqual(h.slices.flat(), range(1500));
});

test('an empty batch appends nothing', async () => {
  const h = harness(0, 10, async () => {});
  await appendInSlices(h.items, h.build, h.append, { records: 500, bytes: 1 << 20 }, macrotask);
  assert.deepEqual(h.slices, []);
});
