/**
 * Power losses at the points where only an fsync keeps a promise (CrashFs loses whatever was not
 * fsynced: file data since the file's last fsync, directory entries since the directory's).
 * test/queue/crash.test.ts crashes at every step of whole runs; these aim at one fsync each, at a
 * moment where the runs above never happen to depend on it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { CrashFs, makeQueue, readAll, rec, tempDir } from './helpers.js';

const SMALL = { maxBytes: 8192, segmentBytes: 1024, internalHeadroomBytes: 1024, whenFull: 'drop_oldest' as const };

test('a drop_oldest rewrite is synced before it replaces the segment: a power loss after the rename keeps the unacknowledged internal record it carried', async () => {
  const { dir, cleanup } = tempDir('lw-power-');
  try {
    const fs = new CrashFs();
    // The crash comes at the first step after the rewrite's rename and the directory fsync that makes
    // the new name durable: the segment's records are then only as durable as the rewritten file.
    let phase: 'before' | 'renamed' | 'dir synced' = 'before';
    fs.crashOn = (op, path) => {
      if (phase === 'dir synced') return true;
      if (phase === 'before' && op === 'rename' && /\.lwq\.tmp$/.test(path)) phase = 'renamed';
      else if (phase === 'renamed' && op === 'fsync') phase = 'dir synced';
      return false;
    };
    const { q } = makeQueue(dir, SMALL, { fs });
    await q.open();
    // Never sent: the internal record stays unacknowledged in the oldest segment, which drop_oldest
    // rewrites without its ordinary records.
    await q.append([rec(0, { internal: true, identity: '_agent' })]);
    for (let i = 1; i < 500 && !fs.crashed; i++) await q.append([rec(i)]).catch((e: unknown) => assert.ok(e instanceof Error));
    assert.equal(phase, 'dir synced', 'the scenario reached a rewrite');
    await fs.down();
    await q.close().catch((e: unknown) => assert.ok(e instanceof Error));

    const h = makeQueue(dir, SMALL);
    await h.q.open();
    try {
      const internal = (await readAll(h.q)).filter((r) => r.meta.internal);
      assert.deepEqual(
        internal.map((r) => r.payload.toString().slice(0, 8)),
        ['record 0'],
        'the internal record survives the rewrite and the power loss',
      );
    } finally {
      await h.q.close();
    }
  } finally {
    cleanup();
  }
});

test('a queue directory made at the first start survives a power loss with the records appended into it', async () => {
  // The segments and the state are fsynced, and so is the queue directory; but a directory just made
  // is itself only an entry in its parent, which must be fsynced too, up to the first directory made.
  const { dir, cleanup } = tempDir('lw-power-');
  try {
    const fs = new CrashFs();
    const qdir = join(dir, 'state', 'queue');
    const { q } = makeQueue(qdir, {}, { fs });
    await q.open();
    for (let i = 0; i < 5; i++) await q.append([rec(i)]);
    fs.crashAt = fs.steps + 1;
    await q.append([rec(5)]).catch((e: unknown) => assert.ok(e instanceof Error));
    await fs.down();
    await q.close().catch((e: unknown) => assert.ok(e instanceof Error));

    const h = makeQueue(qdir, {});
    await h.q.open();
    try {
      const kept = (await readAll(h.q)).map((r) => r.payload.toString().slice(0, 8));
      assert.deepEqual(kept.slice(0, 5), ['record 0', 'record 1', 'record 2', 'record 3', 'record 4'], 'every append that resolved is on the disk');
    } finally {
      await h.q.close();
    }
  } finally {
    cleanup();
  }
});
