/**
 * The state of a file input and of a journald input never share a file. Input ids may hold '.', and
 * the journal cursor of input `x` was <state>/checkpoints/x.cursor.json, the very name of the
 * registry of a file input `x.cursor`: each overwrote the other, and the next start refused what it
 * found (the file input its registry, the journald input its cursor). Cursors now live in
 * checkpoints/journal/. What an older version left keeps working: an old cursor is taken when its
 * own contents say it is that input's, and never when the file is the other input's registry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Checkpointer } from '../../src/source/checkpoint.js';
import { CursorStore } from '../../src/source/cursor-store.js';
import { Collector, lines, options, tempDir, waitFor } from './file-fixture.js';

const body = (ls: string[]): string => ls.join('\n') + '\n';
const meta = { path: '/var/log/app.log', dev: '2049', inode: '77' };

/** Where this version keeps the journal cursor of input `input` (docs/source.md, State files). */
const cursorFile = (state: string, input: string): string => join(state, 'checkpoints', 'journal', `${input}.json`);
/** Where older versions kept it: also the registry's name of a file input `<input>.cursor`. */
const oldCursorFile = (state: string, input: string): string => join(state, 'checkpoints', `${input}.cursor.json`);

/** A cursor file as the versions before this one wrote it (cursor-store.ts: JSON and a newline). */
function oldCursor(state: string, input: string, cursor: string): string {
  const file = oldCursorFile(state, input);
  mkdirSync(join(state, 'checkpoints'), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify({ v: 1, input, cursor, updatedAt: '2026-11-01T00:00:00.000Z' }) + '\n', { mode: 0o600 });
  return file;
}

test('a file input named x.cursor and a journald input named x keep their state apart: nothing read again, the cursor kept', async () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'logs'));
    const live = join(dir, 'logs', 'app.log');
    const a = lines('a', 0, 100);
    const b = lines('b', 0, 10);
    writeFileSync(live, body(a));
    const opts = options(dir, { inputId: 'x.cursor' });
    const first = new Collector();
    const src = first.source(opts);
    await src.start();
    const journal = new CursorStore(opts.stateDir, 'x');
    try {
      await waitFor(() => first.records.length === 100, 'the file read');
      // Both inputs commit while running: the last write took the shared name.
      journal.commit('s=1;i=42');
      await journal.flush();
    } finally {
      await src.stop();
    }
    journal.commit('s=1;i=43');
    await journal.flush();

    appendFileSync(live, body(b));
    const second = new Collector();
    const again = second.source(opts);
    await again.start();
    try {
      await waitFor(() => second.records.length >= 10, 'the lines written while away');
    } finally {
      await again.stop();
    }
    assert.deepEqual(second.records.map((r) => r.bytes.toString()), b, 'resumed where it stopped: nothing read again');
    assert.equal(await new CursorStore(opts.stateDir, 'x').load(), 's=1;i=43', 'the cursor kept beside the registry');
    assert.notEqual(again.checkpointer.file, journal.file);
  } finally {
    cleanup();
  }
});

test('an agent upgraded in place: its journald input resumes the cursor the older version saved, moved to the new name', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const old = oldCursor(dir, 'x', 's=1;i=7');
    const store = new CursorStore(dir, 'x');
    assert.equal(await store.load(), 's=1;i=7');
    assert.equal(store.file, cursorFile(dir, 'x'));
    assert.equal((JSON.parse(readFileSync(cursorFile(dir, 'x'), 'utf8')) as { cursor: string }).cursor, 's=1;i=7', 'saved under the new name');
    assert.equal(existsSync(old), false, 'the old name is left to a file input');
    assert.equal(await new CursorStore(dir, 'x').load(), 's=1;i=7', 'and found there by the next start');
  } finally {
    cleanup();
  }
});

test('an agent upgraded in place: the registry of a file input named x.cursor, at the name an older journal cursor had, is kept and resumed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cp = new Checkpointer({ stateDir: dir, inputId: 'x.cursor', expiryMs: 86_400_000 });
    assert.equal(cp.file, oldCursorFile(dir, 'x'), 'the name the two inputs shared');
    cp.advance('fp1', 1234, meta);
    await cp.stop();
    // The journald input x, first started after the upgrade (or reading the journal from start_at):
    // that registry is no cursor of its, and stays the file input's.
    assert.equal(await new CursorStore(dir, 'x').load(), undefined, "x's first run");
    const again = new Checkpointer({ stateDir: dir, inputId: 'x.cursor', expiryMs: 86_400_000 });
    assert.equal(await again.load(), true);
    assert.equal(again.get('fp1')?.offset, 1234, 'resumed at its offset');
  } finally {
    cleanup();
  }
});

test('an older journal cursor found first by the file input x.cursor (configured next to x) is moved, never written over', async () => {
  const { dir, cleanup } = tempDir();
  try {
    oldCursor(dir, 'x', 's=1;i=9');
    const cp = new Checkpointer({ stateDir: dir, inputId: 'x.cursor', expiryMs: 86_400_000 });
    assert.equal(await cp.load(), false, "no registry of x.cursor's: its first run");
    cp.advance('fp1', 10, meta);
    await cp.stop(); // written over the old cursor's name
    assert.equal(await new CursorStore(dir, 'x').load(), 's=1;i=9', 'the journal resumes where it was');
    const again = new Checkpointer({ stateDir: dir, inputId: 'x.cursor', expiryMs: 86_400_000 });
    assert.equal(await again.load(), true);
    assert.equal(again.get('fp1')?.offset, 10);
  } finally {
    cleanup();
  }
});

test('an old cursor name holding what is neither this cursor nor a registry is an error, as before, not a silent first run', async () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    writeFileSync(oldCursorFile(dir, 'x'), '{"v":1,"input":"x"');
    await assert.rejects(new CursorStore(dir, 'x').load(), /not JSON/);
    writeFileSync(oldCursorFile(dir, 'x'), JSON.stringify({ v: 2, input: 'x', cursor: 's' }));
    await assert.rejects(new CursorStore(dir, 'x').load(), /unknown journal cursor file version 2/);
    await assert.rejects(new Checkpointer({ stateDir: dir, inputId: 'x.cursor', expiryMs: 1000 }).load(), /unsupported checkpoint registry version/);
  } finally {
    cleanup();
  }
});
