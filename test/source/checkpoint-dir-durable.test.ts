/**
 * <state_dir>/checkpoints is shared by the file checkpoints and the journal cursors. Its entry in the
 * state directory is on the disk only once the state directory is fsynced. Records every directory
 * fsync of the process (node:fs and node:fs/promises, patched through syncBuiltinESMExports).
 */
import assert from 'node:assert/strict';
import fsCjs from 'node:fs';
import fspCjs from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';

import { Checkpointer } from '../../src/source/checkpoint.js';
import { CursorStore } from '../../src/source/cursor-store.js';
import { tempDir } from '../queue/helpers.js';

function recordDirSyncs(): { synced: string[]; restore: () => void } {
  const synced: string[] = [];
  const fdPath = new Map<number, string>();
  const o = { open: fsCjs.open, fsync: fsCjs.fsync, popen: fspCjs.open };
  (fsCjs as { open: unknown }).open = (p: string, flags: unknown, mode: unknown, cb: (e: Error | null, fd: number) => void) =>
    o.open(p, flags as string, mode as number, (e, fd) => {
      if (!e && flags === 'r') fdPath.set(fd, p);
      cb(e, fd);
    });
  (fsCjs as { fsync: unknown }).fsync = (fd: number, cb: (e: Error | null) => void) =>
    o.fsync(fd, (e) => {
      const p = fdPath.get(fd);
      if (!e && p !== undefined) synced.push(p);
      cb(e);
    });
  (fspCjs as { open: unknown }).open = async (p: string, flags?: string, mode?: number) => {
    const fh = await o.popen(p, flags, mode);
    if (flags === 'r') {
      const sync = fh.sync.bind(fh);
      fh.sync = async () => {
        await sync();
        synced.push(p);
      };
    }
    return fh;
  };
  syncBuiltinESMExports();
  return {
    synced,
    restore: () => {
      (fsCjs as { open: unknown }).open = o.open;
      (fsCjs as { fsync: unknown }).fsync = o.fsync;
      (fspCjs as { open: unknown }).open = o.popen;
      syncBuiltinESMExports();
    },
  };
}

test('a journal cursor written on a first start: the checkpoints directory it made is synced into the state directory', async () => {
  const { dir, cleanup } = tempDir('lw-cp-');
  const rec = recordDirSyncs();
  try {
    const store = new CursorStore(dir, 'journal');
    store.commit('s=abc;i=1');
    await store.flush();
    assert.ok(rec.synced.includes(join(dir, 'checkpoints')), `the cursor's rename is synced: ${rec.synced.join(', ')}`);
    assert.ok(rec.synced.includes(dir), `the new checkpoints directory's entry is never synced (a power loss takes it, cursor and all): ${rec.synced.join(', ')}`);
  } finally {
    rec.restore();
    cleanup();
  }
});

test('journald and file inputs together: the file checkpoints stay durable whichever input made the directory first', async () => {
  const { dir, cleanup } = tempDir('lw-cp-');
  const rec = recordDirSyncs();
  try {
    const store = new CursorStore(dir, 'journal');
    store.commit('s=abc;i=1');
    await store.flush(); // the journal input's first commit made <state>/checkpoints
    const cp = new Checkpointer({ stateDir: dir, inputId: 'app', expiryMs: 86_400_000 });
    cp.advance('file:1', 10, { path: '/var/log/app.log', dev: '1', inode: '2', size: 10 });
    await cp.flush();
    assert.ok(rec.synced.includes(dir), `the checkpoints directory's entry in ${dir} was never synced: ${rec.synced.join(', ')}`);
  } finally {
    rec.restore();
    cleanup();
  }
});

test('control: the file checkpoints alone sync the directory they made (the recorder sees mkdirDurable)', async () => {
  const { dir, cleanup } = tempDir('lw-cp-');
  const rec = recordDirSyncs();
  try {
    const cp = new Checkpointer({ stateDir: dir, inputId: 'app', expiryMs: 86_400_000 });
    cp.advance('file:1', 10, { path: '/var/log/app.log', dev: '1', inode: '2', size: 10 });
    await cp.flush();
    assert.ok(rec.synced.includes(dir), rec.synced.join(', '));
  } finally {
    rec.restore();
    cleanup();
  }
});
