/**
 * The resend window's byte part replays what a silently dead connection lost; only real lack of
 * space gives it up (the queue at its limit, or a request that has waited for a full disk for the
 * window's age). A passing ENOSPC gives up nothing. (Found by review.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { CrashFs, makeQueue, readAll, rec, tempDir, track } from './helpers.js';

test('one ENOSPC on an idle tick (nothing waits for space, the disk has room again) does not give up the resend window byte part', async () => {
  const { dir, cleanup } = tempDir();
  const fs = new CrashFs();
  let now = 0;
  const h = makeQueue(dir, { resendWindow: { bytes: 1024 * 1024, ageMs: 1000 }, fsyncIntervalMs: 10, reserveBytes: 0 }, { fs, now: () => now });
  try {
    await h.q.open();
    for (let i = 0; i < 10; i++) await h.q.append([rec(i)]);
    const recs = await readAll(h.q);
    h.q.markSent((recs[recs.length - 1]?.id ?? 0n) + 1n); // written to a socket whose peer is (silently) gone
    now += 20;
    fs.enospc = 1; // the periodic state write hits a full disk once (another process' burst, a few ms)
    await h.q.tick();
    assert.ok(h.alerts.some((a) => a.kind === 'disk_full'), 'the ENOSPC was seen');
    // The disk has room again; nothing is waiting for space. Time passes.
    now += 5000;
    await h.q.tick();
    // Only 10 small records were sent: all inside the 1 MiB byte part of the window.
    assert.equal(h.q.replayPosition(), 0n, 'nothing is acknowledged: a reconnect must send the 10 records again');
    assert.equal(h.q.rewind(), 0n);
    assert.equal((await readAll(h.q, 0n)).length, 10, 'the records are still on disk');
  } finally {
    await h.q.close();
    cleanup();
  }
});

test('a transient ENOSPC on an append (retried a few ms later) does not give up the resend window byte part', async () => {
  const { dir, cleanup } = tempDir();
  const fs = new CrashFs();
  let now = 0;
  const h = makeQueue(dir, { resendWindow: { bytes: 1024 * 1024, ageMs: 1000 }, fsyncIntervalMs: 60_000, reserveBytes: 0, retryMinMs: 50 }, { fs, now: () => now });
  try {
    await h.q.open();
    for (let i = 0; i < 10; i++) await h.q.append([rec(i)]);
    const recs = await readAll(h.q);
    h.q.markSent((recs[recs.length - 1]?.id ?? 0n) + 1n);
    now += 5000; // sent 5 s ago, older than the age part, well inside the byte part
    fs.enospc = 1;
    const p = h.q.append([rec(10)]);
    while (!h.alerts.some((a) => a.kind === 'disk_full')) await sleep(1);
    await h.q.tick(); // a tick while the append waits for its retry
    await p;
    assert.equal(h.q.replayPosition(), 0n, 'a few ms of ENOSPC acknowledged 10 records no one confirmed');
  } finally {
    await h.q.close();
    cleanup();
  }
});

test("a disk full for the window's age, retried all along, does give up the byte part: the wait counts from the first ENOSPC, not the last retry", async () => {
  const { dir, cleanup } = tempDir();
  const fs = new CrashFs();
  let now = 0;
  const h = makeQueue(dir, { resendWindow: { bytes: 1024 * 1024, ageMs: 1000 }, fsyncIntervalMs: 60_000, reserveBytes: 0, retryMinMs: 5 }, { fs, now: () => now });
  try {
    await h.q.open();
    for (let i = 0; i < 10; i++) await h.q.append([rec(i)]);
    const recs = await readAll(h.q);
    const sent = (recs[recs.length - 1]?.id ?? 0n) + 1n;
    h.q.markSent(sent); // delivered; only the byte part of the window keeps them
    fs.enospc = 1_000_000;
    const p = h.q.append([rec(10)]);
    while (!h.alerts.some((a) => a.kind === 'disk_full')) await sleep(1);
    // Four retries, 300 ms of the queue's clock apart: 1.2 s of waiting in all, none of it 1 s long.
    for (let k = 0; k < 4; k++) {
      now += 300;
      const steps = fs.steps;
      while (fs.steps === steps) await sleep(1);
    }
    await h.q.tick();
    assert.equal(h.q.replayPosition(), sent, 'a disk full for longer than the window age keeps the window (and the wait) for ever');
    fs.enospc = 0;
    await p;
  } finally {
    await h.q.close();
    cleanup();
  }
});

test('an ENOSPC long gone does not count toward the next one: a new full disk waits the window age again', async () => {
  const { dir, cleanup } = tempDir();
  const fs = new CrashFs();
  let now = 0;
  const h = makeQueue(dir, { resendWindow: { bytes: 1024 * 1024, ageMs: 1000 }, fsyncIntervalMs: 60_000, reserveBytes: 0, retryMinMs: 5 }, { fs, now: () => now });
  try {
    await h.q.open();
    fs.enospc = 1; // a first, passing ENOSPC: the retry writes
    await h.q.append([rec(0)]);
    for (let i = 1; i < 10; i++) await h.q.append([rec(i)]);
    const recs = await readAll(h.q);
    h.q.markSent((recs[recs.length - 1]?.id ?? 0n) + 1n);
    now += 5000;
    fs.enospc = 1; // hours later, another passing ENOSPC
    const p = h.q.append([rec(10)]);
    const alerts = h.alerts.filter((a) => a.kind === 'disk_full').length;
    while (h.alerts.filter((a) => a.kind === 'disk_full').length === alerts) await sleep(1);
    await h.q.tick(); // while that append waits for its retry
    await p;
    assert.equal(h.q.replayPosition(), 0n, 'the first ENOSPC, long over, made the second one give up the window at once');
  } finally {
    await h.q.close();
    cleanup();
  }
});

test('a queue at its limit acknowledges by age alone only past pressureAgeMs: what a silently dead peer got in that time is replayed', async () => {
  const { dir, cleanup } = tempDir();
  let now = 0;
  const h = makeQueue(
    dir,
    { maxBytes: 8192, segmentBytes: 1024, internalHeadroomBytes: 1024, whenFull: 'block', resendWindow: { bytes: 1024 * 1024, ageMs: 1000, pressureAgeMs: 4000 } },
    { now: () => now },
  );
  try {
    await h.q.open();
    let i = 0;
    let waiting: ReturnType<typeof track> | null = null;
    while (waiting === null) {
      const t = track(h.q.append([rec(i++)]));
      while (!t.done() && !h.q.stats().blocked) await sleep(1);
      if (!t.done()) waiting = t;
      assert.ok(i < 200, 'the queue must fill up');
    }
    const recs = await readAll(h.q);
    h.q.markSent((recs[recs.length - 1]?.id ?? 0n) + 1n); // written to a peer that is (silently) gone
    now += 2500; // older than the age part, younger than the time the sink may need to find the peer dead
    await h.q.tick();
    assert.equal(h.q.replayPosition(), 0n, 'acknowledged after the age part alone: the dead-peer check had not had its time');
    assert.equal(waiting.done(), false);
    now += 2000; // past pressureAgeMs: the connection would have been found dead by now, and it was not
    await h.q.tick();
    assert.equal(h.q.replayPosition(), recs[recs.length - 1]!.id + 1n, 'acknowledged by age alone under pressure');
    await waiting.p;
  } finally {
    await h.q.close();
    cleanup();
  }
});
