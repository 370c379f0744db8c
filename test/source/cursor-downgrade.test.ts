/**
 * Review of 8244bb8. The journal cursor moved from checkpoints/<input>.cursor.json to
 * checkpoints/journal/<input>.json, the old file removed. An agent rolled back to the version before
 * (a bad release) finds no cursor: its journald input starts from start_at, and saves its cursor under
 * the old name as it goes. Upgraded again, this version found its own cursor, the one it saved before
 * the rollback, and never looked at the old name: the journal was read again from there, everything
 * the older agent had shipped meanwhile sent twice (and a file input `<input>.cursor` loading first
 * then wrote its registry over the newer cursor). An old-name cursor saved after the new one (only an
 * older agent writes that name) is the newer: it is taken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Checkpointer } from '../../src/source/checkpoint.js';
import { CursorStore } from '../../src/source/cursor-store.js';
import { tempDir } from './file-fixture.js';

const oldName = (state: string, input: string): string => join(state, 'checkpoints', `${input}.cursor.json`);

/** What the version before this one writes (cursor-store.ts at 8244bb8^), at wall-clock time `at`. */
function olderAgentWrites(state: string, input: string, cursor: string, at: Date): void {
  mkdirSync(join(state, 'checkpoints'), { recursive: true, mode: 0o700 });
  writeFileSync(oldName(state, input), JSON.stringify({ v: 1, input, cursor, updatedAt: at.toISOString() }) + '\n', { mode: 0o600 });
}

test('upgrade, rollback, upgrade again: the journald input resumes the cursor the rolled-back agent saved, not the one from before the rollback', async () => {
  const { dir, cleanup } = tempDir();
  try {
    olderAgentWrites(dir, 'x', 's=1;i=7', new Date(Date.now() - 3600_000));
    // The upgrade: the cursor moved, the journal read on.
    const upgraded = new CursorStore(dir, 'x');
    assert.equal(await upgraded.load(), 's=1;i=7');
    upgraded.commit('s=1;i=20');
    await upgraded.flush();
    assert.equal(existsSync(oldName(dir, 'x')), false);
    // The rollback: the older agent reads the journal on (from start_at) and saves its cursor under the old name.
    olderAgentWrites(dir, 'x', 's=1;i=90', new Date(Date.now() + 1000));
    // Upgraded again.
    assert.equal(await new CursorStore(dir, 'x').load(), 's=1;i=90', 'what the older agent shipped is not read again');
    assert.equal(await new CursorStore(dir, 'x').load(), 's=1;i=90', 'and kept under the new name');
    assert.equal(existsSync(oldName(dir, 'x')), false, 'the old name left to a file input');
  } finally {
    cleanup();
  }
});

test('upgrade, rollback, upgrade again, the file input x.cursor loading first: the newer cursor is moved before its registry is written over it', async () => {
  const { dir, cleanup } = tempDir();
  try {
    olderAgentWrites(dir, 'x', 's=1;i=7', new Date(Date.now() - 3600_000));
    const upgraded = new CursorStore(dir, 'x');
    assert.equal(await upgraded.load(), 's=1;i=7');
    upgraded.commit('s=1;i=20');
    await upgraded.flush();
    olderAgentWrites(dir, 'x', 's=1;i=90', new Date(Date.now() + 1000));
    const cp = new Checkpointer({ stateDir: dir, inputId: 'x.cursor', expiryMs: 86_400_000 });
    assert.equal(await cp.load(), false);
    cp.advance('fp1', 10, { path: '/var/log/app.log', dev: '2049', inode: '77' });
    await cp.stop(); // written over the old name
    assert.equal(await new CursorStore(dir, 'x').load(), 's=1;i=90');
  } finally {
    cleanup();
  }
});

test('an old-name cursor left by an unlink a crash cut short (the same cursor, saved no later) is not taken over a newer one', async () => {
  const { dir, cleanup } = tempDir();
  try {
    olderAgentWrites(dir, 'x', 's=1;i=7', new Date(Date.now() - 3600_000));
    const store = new CursorStore(dir, 'x');
    assert.equal(await store.load(), 's=1;i=7');
    store.commit('s=1;i=20');
    await store.flush();
    // What a kill -9 between the new write and the unlink leaves (the old file, as it was).
    olderAgentWrites(dir, 'x', 's=1;i=7', new Date(Date.now() - 3600_000));
    assert.equal(await new CursorStore(dir, 'x').load(), 's=1;i=20');
    // And a damaged old file next to a good new one is no reason to refuse the start.
    writeFileSync(oldName(dir, 'x'), '{"v":1,');
    assert.equal(await new CursorStore(dir, 'x').load(), 's=1;i=20');
  } finally {
    cleanup();
  }
});
