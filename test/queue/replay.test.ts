import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';

import { makeQueue, readAll, rec, tempDir } from './helpers.js';

test('the acknowledged cursor trails what was sent by the resend window (bytes and age), and is what a restart replays', async () => {
  const { dir, cleanup } = tempDir();
  let now = 1_000_000;
  const opts = { resendWindow: { bytes: 1000, ageMs: 6000 }, segmentBytes: 2048 };
  const { q } = makeQueue(dir, opts, { now: () => now });
  try {
    await q.open();
    for (let i = 0; i < 50; i++) await q.append([rec(i)]);
    const sentBytes: Buffer[] = [];
    let p = 0n;
    for (let b = 0; b < 5; b++) {
      const recs = await q.readFrom(p, 1000); // records are 109-110 bytes: 10 of them
      assert.equal(recs.length, 10);
      for (const r of recs) sentBytes.push(r.payload);
      p = (recs[recs.length - 1]?.id ?? 0n) + 1n;
      q.markSent(p);
      now += 1000;
    }
    assert.equal(q.stats().sent, 50n);
    await q.tick();
    assert.equal(q.replayPosition(), 0n, 'nothing older than the age window yet');
    now += 10_000;
    await q.tick();
    assert.equal(q.replayPosition(), 40n, 'the last 1000+ bytes stay in the window');
    assert.equal(q.stats().acked, 40n);
    // A reconnect resumes at the acknowledged cursor: the window is sent again, same bytes.
    const again = await q.readFrom(q.replayPosition(), 1 << 20);
    assert.deepEqual(again.map((r) => r.payload), sentBytes.slice(40));
    await q.close();

    const h = makeQueue(dir, opts, { now: () => now });
    await h.q.open();
    assert.equal(h.q.replayPosition(), 40n, 'the acknowledged cursor is persisted');
    const replay = await readAll(h.q, h.q.replayPosition());
    assert.deepEqual(replay.map((r) => r.id), [...Array(10).keys()].map((k) => BigInt(40 + k)));
    assert.deepEqual(replay.map((r) => r.payload), sentBytes.slice(40), 'replay after reopen yields the same bytes');
    await h.q.close();
  } finally {
    cleanup();
  }
});

test('a recent send stays in the window however many bytes follow it', async () => {
  const { dir, cleanup } = tempDir();
  let now = 0;
  const { q } = makeQueue(dir, { resendWindow: { bytes: 10, ageMs: 30_000 } }, { now: () => now });
  try {
    await q.open();
    for (let i = 0; i < 20; i++) await q.append([rec(i)]);
    const recs = await q.readFrom(0n, 1 << 20);
    q.markSent(10n);
    q.markSent(20n);
    now += 29_999;
    await q.tick();
    assert.equal(q.replayPosition(), 0n);
    now += 2;
    await q.tick();
    assert.equal(q.replayPosition(), 10n, 'the newest send is kept: bytes after it are 0');
    assert.equal(recs.length, 20);
  } finally {
    await q.close();
    cleanup();
  }
});

test('fully acknowledged segments are deleted by the reader side, the others kept', async () => {
  const { dir, cleanup } = tempDir();
  const { q } = makeQueue(dir, { segmentBytes: 1024 });
  try {
    await q.open();
    for (let i = 0; i < 40; i++) await q.append([rec(i)]);
    const before = readdirSync(dir).filter((f) => f.endsWith('.lwq')).length;
    assert.ok(before >= 4);
    q.markSent(20n);
    await q.tick();
    const after = readdirSync(dir).filter((f) => f.endsWith('.lwq')).length;
    assert.ok(after < before && after >= 2, `${before} -> ${after}`);
    const left = await readAll(q, 0n);
    assert.ok((left[0]?.id ?? 99n) <= 20n, 'nothing unacknowledged was deleted');
    assert.equal(left[left.length - 1]?.id, 39n);
  } finally {
    await q.close();
    cleanup();
  }
});

test('waitForData resolves once a durable record at the position exists; reads never return records not yet durable', async () => {
  const { dir, cleanup } = tempDir();
  const { q } = makeQueue(dir);
  try {
    await q.open();
    let woke = false;
    const w = q.waitForData(0n).then(() => (woke = true));
    assert.deepEqual(await q.readFrom(0n, 100), []);
    assert.equal(woke, false);
    await q.append([rec(0)]);
    await w;
    assert.equal(woke, true);
    assert.equal((await q.readFrom(0n, 100)).length, 1);
  } finally {
    await q.close();
    cleanup();
  }
});

test('concurrent appends share one fsync (group commit) and each resolves only after it', async () => {
  const { dir, cleanup } = tempDir();
  const { q, counters } = makeQueue(dir);
  try {
    await q.open();
    await q.append([rec(0)]);
    const base = counters.get('queue_fsyncs');
    await Promise.all([...Array(50).keys()].map((i) => q.append([rec(i + 1)])));
    const used = counters.get('queue_fsyncs') - base;
    assert.ok(used >= 1 && used < 50, `${used} fsyncs for 50 concurrent appends`);
    assert.equal(q.stats().written, 51n);
  } finally {
    await q.close();
    cleanup();
  }
});
