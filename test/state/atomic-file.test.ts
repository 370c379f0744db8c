/**
 * writeFileAtomic writes the agent's state (checkpoints, journal cursors, the pid file, the agent
 * name) with the agent's privileges, often root: whatever stands at its temp name must never be
 * written through.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { writeFileAtomic } from '../../src/state/atomic-file.js';

const root = mkdtempSync(join(tmpdir(), 'lw-atomic-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a symlink planted at the temp name is not followed: its target stays as it was', async () => {
  const victim = join(root, 'victim.conf');
  writeFileSync(victim, 'precious\n');
  const file = join(root, 'state.json');
  symlinkSync(victim, `${file}.tmp`);
  await writeFileAtomic(file, '{"v":1}');
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  assert.equal(lstatSync(file).isSymbolicLink(), false);
  assert.equal(readFileSync(file, 'utf8'), '{"v":1}');
});

test('a stale temp file with a loose mode does not lend it to the new file', async () => {
  const file = join(root, 'cursor');
  writeFileSync(`${file}.tmp`, 'old', { mode: 0o644 });
  await writeFileAtomic(file, 'new');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(readFileSync(file, 'utf8'), 'new');
});
