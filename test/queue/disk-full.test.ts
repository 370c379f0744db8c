/**
 * A disk filled by the queue itself: what fills it are acknowledged segments,
 * and deleting them needs the state file written first (it must name the
 * cursors and the last seq/chain of what goes). On a full disk that write
 * fails too; the queue must still free its own space and recover by itself,
 * and a crash at any step of that must restart cleanly.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import type { AppendRecord, DiskQueueOptions } from '../../src/queue/disk-queue.js';
import { Sealer } from '../../src/seal/session.js';
import { CrashFs, TEST_KEY, assembleByHand, makeQueue, parts, readAll, rec, tempDir, type QueueHarness, track } from './helpers.js';

const DISK = 64 * 1024;
const OPTS: Partial<DiskQueueOptions> = { maxBytes: 1024 * 1024, segmentBytes: 8192, retryMinMs: 20 };

/** Appends (one record each) until one append waits for the disk (disk_full); returns it. */
async function fillDisk(h: QueueHarness, append: () => Promise<void>): Promise<{ p: Promise<void>; done: () => boolean }> {
  for (let i = 0; i < 1000; i++) {
    const t = track(append());
    while (!t.done() && !h.alerts.some((a) => a.kind === 'disk_full')) await sleep(1);
    if (!t.done()) return t;
    await t.p;
  }
  throw new Error('the disk never filled up');
}

/** The sink: sends and acknowledges everything durable (resend window 0). */
async function deliverAll(h: QueueHarness): Promise<void> {
  const recs = await readAll(h.q, h.q.stats().sent);
  const last = recs[recs.length - 1];
  if (last) h.q.markSent(last.id + 1n);
}

async function tickUntil(h: QueueHarness, done: () => boolean): Promise<void> {
  for (let k = 0; k < 100 && !done(); k++) {
    await h.q.tick();
    await sleep(5);
  }
}

test('a disk full of acknowledged segments: the reserve makes room for the state file, the segments go, the blocked append goes through by itself', async () => {
  const { dir, cleanup } = tempDir();
  const fs = new CrashFs();
  fs.capacity = { dir, bytes: DISK };
  // No background ticks: a periodic state write failing on the full disk and removing its temp
  // file frees a block at a random moment, and the state file then fits without the reserve.
  const h = makeQueue(dir, { ...OPTS, fsyncIntervalMs: 60_000 }, { fs });
  try {
    await h.q.open();
    assert.equal(statSync(join(dir, 'space.reserve')).size, 16 * 1024, 'the reserve is made at open');
    let i = 0;
    const blocked = await fillDisk(h, () => h.q.append([rec(i++, { size: 900 })]));
    // The append that waits may have left a block free (a 900-byte record can need two); the
    // state file fits in one, and then the reserve is not needed: take that block away too.
    fs.capacity = { dir, bytes: fs.diskUsed() };
    await deliverAll(h);
    await tickUntil(h, blocked.done);
    await blocked.p;
    assert.equal(h.counters.get('queue_reserve_used'), 1);
    assert.deepEqual([...new Set(h.alerts.map((a) => a.kind))], ['disk_full', 'disk_recovered'], 'one alert and its recovery, no error per tick');
    assert.equal(h.counters.get('queue_errors'), 0);
    assert.ok(existsSync(join(dir, 'space.reserve')), 'the reserve is back once space was freed');
    assert.ok(fs.diskUsed() <= DISK);
    // It goes on: the rest of the records arrive in order.
    for (let k = 0; k < 20; k++) await h.q.append([rec(i++, { size: 900 })]);
    const ids = (await readAll(h.q, h.q.stats().sent)).map((r) => r.id);
    assert.deepEqual(ids, [...Array(21).keys()].map((k) => BigInt(i - 21 + k)));
  } finally {
    await h.q.close();
    cleanup();
  }
});

test('no reserve (the disk was full before the queue started): the older acknowledged segments go without the state file, the newest once it can be written', async () => {
  const { dir, cleanup } = tempDir();
  const fs = new CrashFs();
  fs.capacity = { dir, bytes: DISK };
  // No periodic persist: the state on disk stays older than the segments.
  const h = makeQueue(dir, { ...OPTS, reserveBytes: 0, fsyncIntervalMs: 60_000 }, { fs });
  try {
    await h.q.open();
    let i = 0;
    const blocked = await fillDisk(h, () => h.q.append([rec(i++, { size: 900 })]));
    const before = h.q.stats();
    await deliverAll(h);
    await h.q.tick(); // the state cannot be written: every acknowledged segment but the newest goes
    assert.ok(h.q.stats().segments >= 1 && h.q.stats().segments < before.segments, `${before.segments} -> ${h.q.stats().segments} segments`);
    await tickUntil(h, blocked.done);
    await blocked.p;
    await deliverAll(h);
    await h.q.tick();
    assert.equal(h.q.stats().segments, 0, 'the state written, every acknowledged segment is gone');
    assert.equal(h.q.stats().written, BigInt(i));
    await h.q.close();
    const again = makeQueue(dir, OPTS);
    const r = await again.q.open();
    await again.q.close();
    assert.equal(r.nextId, BigInt(i), 'ids go on where they were');
  } finally {
    await h.q.close();
    cleanup();
  }
});

test('a disk smaller than one segment, filled while the destination was away: once it takes everything, the resend window lets go and the waiting append goes through', async () => {
  // The window's byte part kept the last records of the one segment there was: the segment was never
  // fully acknowledged, never deleted, and the group waiting for space waited for ever.
  const { dir, cleanup } = tempDir();
  const fs = new CrashFs();
  fs.capacity = { dir, bytes: DISK };
  let now = 0;
  const h = makeQueue(dir, { ...OPTS, segmentBytes: 4 * DISK, resendWindow: { bytes: 4 * DISK, ageMs: 1000 }, fsyncIntervalMs: 60_000 }, { fs, now: () => now });
  try {
    await h.q.open();
    let i = 0;
    const blocked = await fillDisk(h, () => h.q.append([rec(i++, { size: 900 })]));
    assert.equal(h.q.stats().segments, 1, 'one segment holds the whole backlog');
    await deliverAll(h);
    now += 1001; // older than the window's age; not followed by its bytes, which will never come
    await tickUntil(h, blocked.done);
    assert.ok(blocked.done(), 'the append waiting for space went through');
    await blocked.p;
    assert.equal(h.q.stats().acked, BigInt(i - 1), 'everything delivered before it is acknowledged');
    assert.ok(fs.diskUsed() <= DISK);
  } finally {
    await h.q.close();
    cleanup();
  }
});

interface Seen {
  /** Seqs whose append resolved (durable), and every handed-out seq's chain. */
  resolved: bigint[];
  chains: Map<bigint, string>;
  /** fs.steps when the crash was armed (the freeing part starts). */
  armedAt: number;
  /** Everything below is acknowledged (the sink delivered it) when the freeing part starts. */
  acked: bigint;
}

/** A sealed run on a full disk: fill it, deliver everything, then free space by ticking (where the crash comes, at step crashIn). */
async function fullDiskRun(dir: string, fs: CrashFs, reserveBytes: number, crashIn: number): Promise<Seen> {
  const seen: Seen = { resolved: [], chains: new Map(), armedAt: 0, acked: 0n };
  let t = 0;
  const h = makeQueue(dir, { ...OPTS, reserveBytes, fsyncIntervalMs: 60_000 }, { fs, now: () => (t += 10) });
  try {
    const r = await h.q.open();
    const sealer = new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: r.sealState, reserveBlock: 8 });
    h.q.attachSequence(sealer);
    let n = 0;
    const append = (): Promise<void> => {
      const line = n++;
      let seq: bigint | undefined;
      const record: AppendRecord = {
        seal: () => {
          const s = sealer.seal(parts(`line ${line} ${'x'.repeat(900)}`));
          seen.chains.set(s.seq, s.chain);
          seq = s.seq;
          return s;
        },
        size: 1000,
        meta: { input: 'in', identity: 'f', end: (line + 1) * 1000 },
      };
      const p = h.q.append([record]);
      void p.then(
        () => seq !== undefined && seen.resolved.push(seq),
        () => undefined,
      );
      return p;
    };
    const blocked = await fillDisk(h, append);
    await deliverAll(h);
    seen.acked = h.q.stats().sent; // the next tick acknowledges it all (resend window 0)
    seen.armedAt = fs.steps;
    fs.crashAt = fs.steps + crashIn;
    await tickUntil(h, blocked.done);
    await blocked.p;
    await deliverAll(h);
    seen.acked = h.q.stats().sent;
    await h.q.tick();
  } catch (e) {
    if (!fs.crashed) throw e;
  } finally {
    await h.q.close().catch((e: unknown) => assert.ok(fs.crashed, String(e)));
  }
  return seen;
}

for (const reserveBytes of [16 * 1024, 0]) {
  test(`a crash at any step of freeing a full disk (${reserveBytes ? 'with' : 'without'} the reserve) restarts cleanly: no seq reused, the last durable seq and chain kept, nothing unacknowledged lost`, async () => {
    // Count the steps of the freeing part once (it varies a little with the writer's retries), then crash at each.
    const probe = tempDir();
    const pfs = new CrashFs();
    pfs.capacity = { dir: probe.dir, bytes: DISK };
    const armedAt = (await fullDiskRun(probe.dir, pfs, reserveBytes, 1_000_000)).armedAt;
    probe.cleanup();
    const steps = pfs.steps - armedAt;
    const kinds = pfs.log.slice(armedAt);
    assert.ok(kinds.includes('unlink') && kinds.includes('rename'), `the freeing part deletes segments and writes the state: ${kinds.join(',')}`);
    for (let k = 1; k <= steps + 2; k++) {
      const { dir, cleanup } = tempDir();
      try {
        const fs = new CrashFs();
        fs.capacity = { dir, bytes: DISK };
        const seen = await fullDiskRun(dir, fs, reserveBytes, k);
        const h = makeQueue(dir, OPTS);
        try {
          const r = await h.q.open();
          const maxHanded = [...seen.chains.keys()].reduce((a, b) => (b > a ? b : a), -1n);
          const maxResolved = seen.resolved.reduce((a, b) => (b > a ? b : a), -1n);
          const what = `crash at step ${k} of ${steps}`;
          assert.ok(r.sealState.nextSeq > maxHanded, `${what}: next seq ${r.sealState.nextSeq} could reuse ${maxHanded}`);
          assert.ok(r.sealState.lastSeq >= maxResolved, `${what}: last seq ${r.sealState.lastSeq} is before a durable ${maxResolved}`);
          assert.equal(r.sealState.lastChain, seen.chains.get(r.sealState.lastSeq), `${what}: the chain of seq ${r.sealState.lastSeq}`);
          const present = new Set((await readAll(h.q)).map((x) => x.id));
          // The acknowledged cursor on disk may be older than the segments deleted without the state: never newer.
          assert.ok(h.q.replayPosition() <= seen.acked, `${what}: more acknowledged than was`);
          for (const s of seen.resolved) if (s >= seen.acked) assert.ok(present.has(s), `${what}: durable, unacknowledged seq ${s} lost`);
          assert.ok(r.nextId > maxResolved, `${what}: ids never repeat`);
        } finally {
          await h.q.close();
        }
      } finally {
        cleanup();
      }
    }
  });
}

test('a full disk whose only acknowledged data is the active segment: the segment is rolled and deleted, and the waiting append goes through', async () => {
  const { dir, cleanup } = tempDir();
  const fs = new CrashFs();
  fs.capacity = { dir, bytes: DISK };
  const h = makeQueue(dir, { ...OPTS, segmentBytes: 1024 * 1024, fsyncIntervalMs: 60_000 }, { fs });
  try {
    await h.q.open();
    let i = 0;
    const blocked = await fillDisk(h, () => h.q.append([rec(i++, { size: 900 })]));
    assert.equal(h.q.stats().segments, 1, 'one segment: the active one');
    await deliverAll(h);
    await tickUntil(h, blocked.done);
    assert.ok(blocked.done(), 'the blocked append went through');
    await blocked.p;
  } finally {
    await h.q.close();
    cleanup();
  }
});
