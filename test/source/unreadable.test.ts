/**
 * Permission change that stops reading -> one "unreadable" tamper alert.
 * Root reads everything, so when run as root this file drops its effective
 * uid to nobody around the source (this test file runs in its own process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Collector, lines, options, sleep, tempDir, waitFor } from './file-fixture.js';

const NOBODY = 65534;
const isRoot = process.geteuid?.() === 0;

function seteuid(id: number): void {
  if (!process.seteuid) throw new Error('process.seteuid is not available on this platform');
  process.seteuid(id);
}

/** Runs fn with root privileges (synchronously, so no async work of the source runs as root meanwhile). */
function asRoot(fn: () => void): void {
  if (!isRoot) return fn();
  seteuid(0);
  try {
    fn();
  } finally {
    seteuid(NOBODY);
  }
}

test('a permission change that stops reading raises one unreadable alert', async () => {
  const { dir, cleanup } = tempDir('logward-perm-');
  const logs = join(dir, 'logs');
  const state = join(dir, 'state');
  chmodSync(dir, 0o755);
  mkdirSync(logs, { mode: 0o755 });
  mkdirSync(state, { mode: 0o700 });
  if (isRoot) chownSync(state, NOBODY, NOBODY);
  const live = join(logs, 'app.log');
  const other = join(logs, 'app.log.1');
  writeFileSync(live, lines('u', 0, 10).join('\n') + '\n', { mode: 0o644 });
  writeFileSync(other, lines('v', 0, 10).join('\n') + '\n', { mode: 0o644 });
  const c = new Collector();
  // One descriptor: reading the other file forces the live one closed, so it must be reopened.
  const src = c.source(options(dir, { maxOpenFiles: 1, rescanIntervalMs: 200 }));
  if (isRoot) seteuid(NOBODY);
  try {
    await src.start();
    await waitFor(() => c.records.length === 20, 'both files');
    asRoot(() => chmodSync(live, 0o000));
    asRoot(() => appendFileSync(other, 'more in the other file\n'));
    await waitFor(() => c.has('more in the other file'), 'other file read');
    asRoot(() => appendFileSync(live, 'written after chmod\n'));
    await waitFor(() => c.alerts.length > 0, 'unreadable alert');
    await sleep(800);
    await src.stop();
    assert.deepEqual(c.alerts.map((a) => [a.kind, a.path]), [['unreadable', live]]);
    assert.equal(c.has('written after chmod'), false);
  } finally {
    if (isRoot) seteuid(0);
    await src.stop().catch(() => undefined);
    cleanup();
  }
});
