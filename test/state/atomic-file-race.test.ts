/**
 * writeFileAtomic removes whatever is at its temp name, then creates the temp file. Someone who
 * can write the state directory can plant a symlink in between: the create must neither follow
 * it nor reuse it (O_EXCL | O_NOFOLLOW), whatever the unlink before it did.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import fsPromises from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { writeFileAtomic } from '../../src/state/atomic-file.js';

test('a symlink planted at the temp name right after its removal is not written through', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lw-atomic-race-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious\n');
  const file = join(dir, 'checkpoint.json');
  const realUnlink = fsPromises.unlink;
  let planted = false;
  // The race, made certain: the attacker's symlink appears just after writeFileAtomic's unlink.
  fsPromises.unlink = (async (path: Parameters<typeof realUnlink>[0]) => {
    try {
      await realUnlink(path);
    } finally {
      if (!planted && String(path) === `${file}.tmp`) {
        planted = true;
        symlinkSync(victim, `${file}.tmp`);
      }
    }
  }) as typeof realUnlink;
  syncBuiltinESMExports();
  t.after(() => {
    fsPromises.unlink = realUnlink;
    syncBuiltinESMExports();
  });
  // O_EXCL alone refuses it (EEXIST: O_CREAT | O_EXCL never follows a symlink); O_NOFOLLOW alone would too (ELOOP).
  await assert.rejects(writeFileAtomic(file, '{"attacker":"chose this"}'), (e: NodeJS.ErrnoException) => e.code === 'EEXIST' || e.code === 'ELOOP');
  assert.ok(planted, 'the symlink was planted between the unlink and the open');
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the symlink target is untouched');
});
