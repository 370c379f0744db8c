/**
 * mkdirDurable: a directory made for the queue must still be there after a power loss, which takes
 * an fsync of every parent whose entries changed (test/queue/power-loss.test.ts shows the loss).
 * The seam below records the fsyncs of the real file system and injects the errors root cannot
 * provoke here (a parent it may not read).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { mkdirDurable, nodeFs, type QueueFs } from '../../src/queue/fs.js';
import { tempDir } from './helpers.js';

function recording(openError?: string): { fs: QueueFs; synced: string[] } {
  const synced: string[] = [];
  const dirs = new Map<number, string>();
  const fs: QueueFs = {
    ...nodeFs,
    open: async (p, flags, mode) => {
      if (flags === 'r' && openError !== undefined) throw Object.assign(new Error(`${openError}: open ${p}`), { code: openError });
      const fd = await nodeFs.open(p, flags, mode);
      if (flags === 'r') dirs.set(fd, p);
      return fd;
    },
    fsync: async (fd) => {
      const d = dirs.get(fd);
      if (d !== undefined) synced.push(d);
      return nodeFs.fsync(fd);
    },
  };
  return { fs, synced };
}

test('every parent of a directory made is synced, from the nearest up to the parent of the first made, and no further', async () => {
  const { dir, cleanup } = tempDir('lw-mkdir-');
  try {
    const { fs, synced } = recording();
    const target = join(dir, 'a', 'b', 'queue');
    await mkdirDurable(fs, target, 0o700);
    assert.ok(existsSync(target));
    assert.deepEqual(synced, [join(dir, 'a', 'b'), join(dir, 'a'), dir]);
  } finally {
    cleanup();
  }
});

test('a directory that exists already costs no fsync', async () => {
  const { dir, cleanup } = tempDir('lw-mkdir-');
  try {
    const { fs, synced } = recording();
    await mkdirDurable(fs, dir, 0o700);
    assert.deepEqual(synced, []);
  } finally {
    cleanup();
  }
});

test('a parent the agent may not read (EACCES) does not stop it: the directory is made', async () => {
  const { dir, cleanup } = tempDir('lw-mkdir-');
  try {
    const target = join(dir, 'state');
    await mkdirDurable(recording('EACCES').fs, target, 0o700);
    assert.ok(existsSync(target));
  } finally {
    cleanup();
  }
});

test('an I/O error while syncing a parent is not swallowed', async () => {
  const { dir, cleanup } = tempDir('lw-mkdir-');
  try {
    await assert.rejects(mkdirDurable(recording('EIO').fs, join(dir, 'state'), 0o700), /EIO/);
  } finally {
    cleanup();
  }
});
