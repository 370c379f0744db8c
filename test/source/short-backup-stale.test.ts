/**
 * Review of c1d8c88 (surrounding classification). A backup taken while the log was still shorter
 * than a fingerprint (a copy of its first line or two) and then left alone for a day is "a backup
 * or snapshot, whatever it holds, not the truncation's copy" (docs/source.md, Rotation): a real
 * truncation of the live file must raise `truncated`. truncated() honours that for short copies
 * (staleCopy on every parked copy), and classify() does for copies holding the whole head (the
 * 'old backup waits' park), but classify()'s branch for a copy shorter than the head ("a short copy
 * made when the file was short") adopts the orphan without asking whether the copy is stale: the
 * day-old short backup takes the stream at the next scan's turn and cancels the alert.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runSource } from './copy-fixture.js';
import { lines, waitFor } from './file-fixture.js';

const FIRST = 'service started\n'; // shorter than a fingerprint (256 bytes)

test('a day-old backup of the log taken while it was short does not silence a real truncation', async () => {
  const { c, live } = await runSource({ prepare: ({ live }) => writeFileSync(live, FIRST) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.has('service started'), 'the first line');
    // The backup: all the log held then, fewer bytes than a fingerprint.
    copyFileSync(live, join(logs, 'app.log.bak'));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the backup parked (same first bytes as the log)');
    await h.graceRound();
    await h.graceRound(); // compared: byte for byte the start of app.log
    appendFileSync(live, body(lines('a', 0, 50)));
    await waitFor(() => c.has(last('a', 50)), 'the log grown past a fingerprint');
    await h.graceRound(24 * 3600_000); // a day later: the backup is long unchanged
    // A real truncation (no copy made): the lines read are gone from the live file.
    truncateSync(live, 0);
    appendFileSync(live, body(lines('b', 0, 5)));
    await waitFor(() => c.has(last('b', 5)), 'the lines after the truncation');
    await h.graceRound();
    await h.graceRound();
  });
  assert.deepEqual(
    c.alerts.map((a) => [a.kind, a.path]),
    [['truncated', live]],
    'the truncation has no copy: the day-old short backup must not cancel its alert',
  );
  // Nothing the live file held past the backup's bytes is read again. (Once the orphan expired, the
  // backup, never adopted, is read from 0 under its own identity: its one line is shipped twice,
  // duplicates being preferred over a file never read.)
  assert.deepEqual(c.duplicates().filter((l) => l !== 'service started'), []);
});
