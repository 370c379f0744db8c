/**
 * Review of c1d8c88. The change makes an orphaned stream go to the larger of two same-head copies
 * (a backup of the log taken earlier, and logrotate's copytruncate copy) instead of whichever is
 * classified first. The same choice is made at a restart, when the copytruncate happened while the
 * agent was down (a stop, an upgrade, kill -9): there is no orphan then, and each copy is offered
 * the checkpoint. classify() gives it to the first copy classified: a backup listed first (readdir
 * order: tmpfs lists the newest first, ext4 in hash order) resumes the checkpoint although it ends
 * before the offset (a copy made "before the end was read"), and the copytruncate copy, which holds
 * all of it and the lines written while the agent was down, is then no copy of that "holder" (it is
 * larger) and is read from 0 under its own identity: every line read before the stop is read twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiscoveredFile } from '../../src/source/discovery.js';
import { body, harness, last, runOnce, setup } from './copy-fixture.js';
import { Collector, lines, waitFor } from './file-fixture.js';

/**
 * The rotated names before the live file (app.log.1, app.log.bak, app.log). The turn after the first
 * (where the rotated names wait for the live file) starts one file further on (round robin), so the
 * backup is classified before the copy: one of the two orders a restart meets.
 */
const backupFirst = (f: DiscoveredFile[]): DiscoveredFile[] => {
  const rank = (d: DiscoveredFile): number => (d.path.endsWith('.1') ? 0 : d.path.endsWith('.bak') ? 1 : 2);
  return [...f].sort((a, b) => rank(a) - rank(b));
};

test('copytruncate while the agent was down, a backup listed before the copy: the restart reads only what it had not read', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    writeFileSync(live, body(lines('a', 0, 50)));
    await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.records.length === 50, 'the live file');
      copyFileSync(live, join(logs, 'app.log.bak')); // a backup: parked, never read (a copy of what was read)
      await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the backup parked');
      await h.graceRound();
      await h.graceRound();
      appendFileSync(live, body(lines('b', 0, 50)));
      await waitFor(() => c.records.length === 100, 'more lines');
    });
    // While the agent is down: lines written, then logrotate's copytruncate, then the writer goes on.
    appendFileSync(live, body(lines('d', 0, 10)));
    copyFileSync(live, join(logs, 'app.log.1'));
    truncateSync(live, 0);
    appendFileSync(live, body(lines('c', 0, 20)));

    const c = new Collector();
    const h = harness(dir, logs, c, {}, { frozen: true, order: backupFirst });
    await h.src.start();
    try {
      await waitFor(() => c.has(last('c', 20)), 'the live file after the rotation');
      await h.graceRound();
      await h.graceRound();
      await h.graceRound();
      await waitFor(() => c.has(last('d', 10)), 'the lines written while the agent was down (only in app.log.1)');
    } finally {
      await h.src.stop();
    }
    const read = c.records.map((r) => r.bytes.toString());
    assert.deepEqual(
      { readAgain: read.filter((l) => l.startsWith('a ') || l.startsWith('b ')).length, duplicates: c.duplicates() },
      { readAgain: 0, duplicates: [] },
      'app.log.1 holds the checkpoint: it must resume it, not be read from 0 because the backup took it first',
    );
    assert.deepEqual(read.sort(), [...lines('c', 0, 20), ...lines('d', 0, 10)].sort());
  } finally {
    cleanup();
  }
});

test('a restart after a copytruncate the agent followed, a backup listed before the copy: nothing is read again', async () => {
  // The copy adopted the stream before the stop: the checkpoint names the copy's inode. The backup,
  // classified first, still takes that entry (no file being read has its head yet), and the copy,
  // whose own entry is now "taken", is read from 0.
  const { dir, cleanup, logs, live } = setup();
  try {
    writeFileSync(live, body(lines('a', 0, 50)));
    const first = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.records.length === 50, 'the live file');
      copyFileSync(live, join(logs, 'app.log.bak'));
      await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the backup parked');
      await h.graceRound();
      await h.graceRound();
      appendFileSync(live, body(lines('b', 0, 50)));
      await waitFor(() => c.records.length === 100, 'more lines');
      // A late copytruncate (the copy parked before the truncation): the run hands the stream to the
      // larger copy (c1d8c88), not to the backup.
      copyFileSync(live, join(logs, 'app.log.1'));
      await h.graceRound();
      await h.graceRound();
      truncateSync(live, 0);
      appendFileSync(live, body(lines('c', 0, 20)));
      await waitFor(() => c.has(last('c', 20)) && c.counters.get('source_copies_adopted') >= 1, 'the rotation followed');
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual({ alerts: first.alerts, duplicates: first.duplicates() }, { alerts: [], duplicates: [] });
    appendFileSync(live, body(lines('e', 0, 5)));

    const c = new Collector();
    const h = harness(dir, logs, c, {}, { frozen: true, order: backupFirst });
    await h.src.start();
    try {
      await waitFor(() => c.has(last('e', 5)), 'the lines appended while the agent was down');
      await h.graceRound();
      await h.graceRound();
      await h.graceRound();
    } finally {
      await h.src.stop();
    }
    assert.deepEqual(
      { read: c.records.map((r) => r.bytes.toString()), alerts: c.alerts },
      { read: lines('e', 0, 5), alerts: [] },
      'app.log.1 resumes its own checkpoint; the backup stays a parked copy',
    );
  } finally {
    cleanup();
  }
});
