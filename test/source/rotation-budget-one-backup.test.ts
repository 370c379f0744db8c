/**
 * max_open_files 1: a same-head file at a rotated name cannot be compared, so it is read under its
 * own identity and stands for the live file's next truncation (no alert for a late copytruncate).
 * A backup is no such copy: one unchanged for max(5 min, 10 x rescan_interval) keeps the alert, as
 * a parked backup does (docs/source.md "backups"); without the age check a day-old backup silenced
 * a real truncation (found by review).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL } = options('/');

test('max_open_files 1: a day-old backup read uncompared does not silence a real truncation', async () => {
  const a = lines('a', 0, 50);
  const { c } = await runSource({ source: { maxOpenFiles: 1 }, harness: { frozen: true }, prepare: ({ live }) => writeFileSync(live, body(a)) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 50, 'the live file');
    copyFileSync(live, join(logs, 'app.log.bak')); // a backup
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'parked');
    await h.graceRound();
    await h.graceRound();
    await waitFor(() => c.duplicates().length === 50, 'the backup read (documented duplicates)');
    appendFileSync(live, body(lines('a', 50, 5)));
    h.advance((POLL ?? 0) + 1);
    await waitFor(() => c.has(last('a', 55)), 'the live file goes on');
    await h.graceRound(24 * 3600_000); // a day later, the backup unchanged
    truncateSync(live, 0); // tampering: the live log emptied
    appendFileSync(live, body(lines('b', 0, 10)));
    h.advance((POLL ?? 0) + 1);
    await waitFor(() => c.has(last('b', 10)), 'the new lines');
    await h.graceRound();
    await h.graceRound();
  });
  assert.deepEqual(c.alerts.map((x) => x.kind), ['truncated']);
});
