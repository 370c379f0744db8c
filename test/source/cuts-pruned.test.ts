/**
 * restoredCuts (truncations the last run left undecided) and cutWhileAway (live files found rewritten
 * in place at a resume) were cleared only when a copy resumed the checkpoint: every rewrite found at
 * a resume, and every truncation restored, stayed in memory for the life of the process. Both are
 * read only while that truncation waits for its copy; once it is decided they are dropped. The
 * `replaced` alert they are for still fires when the copy turns up within the grace, after rounds
 * that dropped what was decided.
 *
 * The sizes are read from the source's private maps (nothing outside it shows them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileSource } from '../../src/source/file-source.js';
import { body, last, runOnce, setup } from './copy-fixture.js';
import { lines, options, sleep, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL = 0, rescanIntervalMs: R } = options('/');

function cuts(src: FileSource): { away: number; restored: number } {
  const s = src as unknown as { cutWhileAway: Map<string, string>; restoredCuts: Map<string, number> };
  return { away: s.cutWhileAway.size, restored: s.restoredCuts.size };
}

test('a live log found rewritten in place at a restart: once its truncation is alerted, the source no longer remembers it', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    const a = lines('a', 0, 500);
    writeFileSync(live, body(a));
    await runOnce(dir, logs, async (c) => waitFor(() => c.records.length === 500, 'the live file'));
    writeFileSync(live, body([...a.slice(0, 100), ...a.slice(110)])); // away: same inode, head kept
    let during = { away: -1, restored: -1 };
    let after = { away: -1, restored: -1 };
    const c = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.counters.get('source_checkpoint_mismatches') === 1, 'the rewrite found');
      during = cuts(h.src);
      await h.graceRound();
      await h.graceRound();
      await waitFor(() => c.alerts.length === 1, 'the truncation alerted');
      after = cuts(h.src);
    });
    assert.deepEqual(c.alerts.map((x) => `${x.kind} ${x.path}`), [`truncated ${live}`]);
    assert.deepEqual({ during, after }, { during: { away: 1, restored: 0 }, after: { away: 0, restored: 0 } });
  } finally {
    cleanup();
  }
});

test('a truncation the last run left undecided: once the restart decides it, the source no longer remembers it', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    writeFileSync(live, body(lines('a', 0, 100)));
    const first = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.records.length === 100, 'the live file');
      truncateSync(live, 0);
      appendFileSync(live, body(lines('b', 0, 5)));
      h.advance(POLL + 1);
      await waitFor(() => c.counters.get('source_truncations') === 1, 'the truncation seen');
    }); // stopped within its grace: saved undecided
    assert.deepEqual(first.alerts, []);
    assert.ok(first.has(last('b', 5)), 'the new content read by that run');
    let during = { away: -1, restored: -1 };
    let after = { away: -1, restored: -1 };
    const c = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => cuts(h.src).restored === 1, 'the suspicion restored by the first scan');
      await sleep(2 * R); // scans and their expiries, the clock within the grace
      during = cuts(h.src);
      await h.graceRound();
      await h.graceRound();
      await waitFor(() => c.alerts.length === 1, 'the truncation alerted');
      after = cuts(h.src);
    });
    assert.deepEqual(c.alerts.map((x) => `${x.kind} ${x.path}`), [`truncated ${live}`]);
    assert.equal(c.records.length, 0, 'nothing read again');
    assert.deepEqual({ during, after }, { during: { away: 0, restored: 1 }, after: { away: 0, restored: 0 } });
  } finally {
    cleanup();
  }
});

test('a copy of a log rewritten in place while away, found after the restart within the grace (rounds ran meanwhile): replaced, as before', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    const a = lines('a', 0, 500);
    writeFileSync(live, body(a));
    await runOnce(dir, logs, async (c) => waitFor(() => c.records.length === 500, 'the live file'));
    writeFileSync(live, body([...a.slice(0, 100), ...a.slice(110)]));
    let kept = { away: -1, restored: -1 };
    const c = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.has(last('a', 500)), 'the rewritten file read again');
      // Several scans and their expiries, the clock still within the truncation's grace.
      await sleep(3 * R);
      kept = cuts(h.src);
      writeFileSync(join(logs, 'app.log.1'), body(a)); // the copy made before the rewrite, put back
      await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy seen');
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual(kept, { away: 1, restored: 0 }, 'kept while the truncation waits for its copy');
    assert.deepEqual(c.alerts.map((x) => `${x.kind} ${x.path}`), [`replaced ${live}`]);
    assert.equal(c.duplicates().length, 0, 'the copy resumed at its checkpoint, not read again');
  } finally {
    cleanup();
  }
});
