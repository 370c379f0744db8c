import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { makeQueue, readAll, rec, tempDir } from './helpers.js';

async function fill(dir: string, n: number) {
  const { q } = makeQueue(dir, { segmentBytes: 2048 });
  await q.open();
  for (let i = 0; i < n; i++) await q.append([rec(i, { identity: i % 2 ? 'file-b' : 'file-a' })]);
  await q.close();
  return readdirSync(dir).filter((f) => f.endsWith('.lwq')).sort();
}

test('a segment truncated mid-record and one with a flipped byte: every intact record kept, the cut reported', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const segs = await fill(dir, 40);
    assert.ok(segs.length >= 3, `want several segments, got ${segs.length}`);
    // Flip one payload byte of a record in the middle of the second segment.
    const second = join(dir, segs[1] as string);
    const buf = readFileSync(second);
    const flipAt = buf.indexOf('record ') + 12;
    const victim = Number(/record (\d+)/.exec(buf.subarray(buf.indexOf('record ')).toString('latin1', 0, 20))?.[1]);
    const nextRec = buf.indexOf('record ', flipAt);
    assert.ok(nextRec > 0, 'the flipped record must have a successor in its segment');
    buf[flipAt] = (buf[flipAt] ?? 0) ^ 0x01;
    writeFileSync(second, buf);
    // Cut the last segment in the middle of its last record.
    const last = join(dir, segs[segs.length - 1] as string);
    const lastSize = statSync(last).size;
    truncateSync(last, lastSize - 30);

    const h = makeQueue(dir, { segmentBytes: 2048 });
    const r = await h.q.open();
    assert.equal(r.rangesCut, 2);
    assert.ok(r.bytesCut > 30);
    assert.equal(r.recordsKept, 38);
    assert.equal(h.counters.get('queue_cut_ranges'), 2);
    assert.equal(statSync(last).size < lastSize - 30, true, 'the torn tail is cut from the file');
    const ids = (await readAll(h.q)).map((x) => Number(x.id));
    const expected = [...Array(39).keys()].filter((i) => i !== victim);
    assert.deepEqual(ids, expected, 'all but the damaged and the torn record');
    assert.equal(r.nextId, 40n, 'the state file says 40 were written: id 39 is never handed out again');
    // Appends continue cleanly after the cut.
    await h.q.append([rec(100)]);
    const after = await readAll(h.q, 39n);
    assert.equal(after[0]?.id, 40n);
    assert.deepEqual(after.map((x) => x.payload.toString().slice(0, 10)), ['record 100']);
    await h.q.close();

    const h2 = makeQueue(dir, { segmentBytes: 2048 });
    const r2 = await h2.q.open();
    assert.equal(r2.rangesCut, 1, 'only the interior damage is left (kept in place, skipped)');
    assert.equal(r2.recordsKept, 39);
    await h2.q.close();
  } finally {
    cleanup();
  }
});

test('source positions are recovered from the queue tail, per identity', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await fill(dir, 11);
    const h = makeQueue(dir);
    const r = await h.q.open();
    assert.deepEqual(r.lastPositions.get('file-a'), { end: 11000 });
    assert.deepEqual(r.lastPositions.get('file-b'), { end: 10000 });
    await h.q.close();
  } finally {
    cleanup();
  }
});

test('a segment with an unreadable header is set aside and counted, the others kept', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const segs = await fill(dir, 30);
    const first = join(dir, segs[0] as string);
    const b = readFileSync(first);
    b[0] = 0x00;
    writeFileSync(first, b);
    const h = makeQueue(dir, { segmentBytes: 2048 });
    const r = await h.q.open();
    assert.equal(r.corruptSegments, 1);
    assert.ok(readdirSync(dir).includes(`${segs[0]}.corrupt`));
    const recs = await readAll(h.q);
    assert.equal(recs[recs.length - 1]?.id, 29n);
    assert.equal(recs.length + 0, r.recordsKept);
    await h.q.close();
  } finally {
    cleanup();
  }
});

test('the queue directory is 0700 and its files 0600', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const qdir = join(dir, 'queue');
    await fill(qdir, 5);
    assert.equal(statSync(qdir).mode & 0o777, 0o700);
    for (const f of readdirSync(qdir)) assert.equal(statSync(join(qdir, f)).mode & 0o777, 0o600, f);
  } finally {
    cleanup();
  }
});

test('an unknown state file version is refused, not guessed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await fill(dir, 2);
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ v: 99 }));
    const h = makeQueue(dir);
    await assert.rejects(h.q.open(), /unknown state file version 99/);
  } finally {
    cleanup();
  }
});
