/**
 * A registry write is one moment's state. write() took the suspicions when it began, but serialized
 * the entries (the same objects advance() keeps updating) only after awaiting the directory: an
 * advance made meanwhile landed in the file next to suspicions already resolved. The case that
 * matters: a truncation's suspicion is saved, the copy adopts the stream (suspicion cancelled) and
 * emits (the entry now names the copy's inode) while a write waits; a kill -9 before the next
 * write leaves a registry whose entry says the copy is the file read and whose suspicion says the
 * truncation still waits for a copy. The next start resumes the copy as that very file (no copy
 * found) and raises `truncated` for an ordinary copytruncate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Checkpointer, type CheckpointEntry } from '../../src/source/checkpoint.js';
import type { Suspicion } from '../../src/source/tamper.js';
import { tempDir } from './file-fixture.js';

test('a registry write holds the entries and the suspicions of one moment, not entries advanced while it waits', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cp = new Checkpointer({ stateDir: dir, inputId: 'i', expiryMs: 60_000 });
    await cp.load();
    const original = { path: '/var/log/app.log', dev: '2049', inode: '77' };
    const copy = { path: '/var/log/app.log.1', dev: '2049', inode: '78' };
    cp.advance('f', 1000, original);
    const s: Suspicion = { alert: { kind: 'truncated', path: original.path, identity: 'f', sizeBefore: 1000, sizeAfter: 0, offset: 1000 }, deadline: 5 };
    cp.setSuspicions([s]);
    const writing = cp.flush(); // the write has begun: it waits for the directory
    cp.setSuspicions([]); // the copy adopts the stream: the truncation is explained
    cp.advance('f', 1200, copy); // and its first batch is durable
    await writing;
    const reg = JSON.parse(readFileSync(cp.file, 'utf8')) as { entries: Record<string, CheckpointEntry>; suspicions?: Suspicion[] };
    const state = { inode: reg.entries.f?.inode, offset: reg.entries.f?.offset, suspicions: reg.suspicions?.length ?? 0 };
    assert.ok(
      [JSON.stringify({ inode: '77', offset: 1000, suspicions: 1 }), JSON.stringify({ inode: '78', offset: 1200, suspicions: 0 })].includes(JSON.stringify(state)),
      `a state that never was: ${JSON.stringify(state)}`,
    );
    await cp.stop();
  } finally {
    cleanup();
  }
});
