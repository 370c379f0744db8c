/**
 * Review of c1d8c88 and the "same head" test it builds on. A quiet log that so far holds only its
 * first line (shorter than a fingerprint: its stream's head is that line) is rotated by
 * copytruncate while another file at a rotated name that starts with the same line is parked (here
 * another service's rotated log in its first grace: it starts like the stream being read). "Starts
 * with the stream's head" is then true of both the quiet log's copy (exactly the bytes read) and
 * the other file (that line and much more), and the larger one is preferred: truncated() hands the
 * stream to the largest parked copy, and since c1d8c88 classify() makes the true copy wait for it
 * too (largerCopyWaiting). The other file is then read from the quiet log's offset as the quiet
 * log's stream: its own first line is never read, and the quiet log's real copy stays parked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const FIRST = 'service started\n';

test("another log's rotated file that starts with a quiet log's only line does not take the quiet log's stream", async () => {
  const { c } = await runSource({ prepare: ({ live }) => writeFileSync(live, FIRST) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.has('service started'), 'the quiet log');
    // Another service's log, rotated next to it (same first line, then its own lines).
    writeFileSync(join(logs, 'app-worker.log.1'), FIRST + body(lines('w', 0, 30)));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the worker file parked (it starts like the quiet log)');
    // logrotate copytruncate of the quiet log, within that grace.
    copyFileSync(live, join(logs, 'app.log.1'));
    truncateSync(live, 0);
    appendFileSync(live, body(lines('c', 0, 5)));
    h.advance((options('/').pollIntervalMs ?? 0) + 1);
    await waitFor(() => c.has(last('c', 5)), 'the quiet log after the rotation');
    await h.graceRound();
    await h.graceRound();
    await h.graceRound();
    await waitFor(() => c.has(last('w', 30)), "the worker file's lines");
  });
  assert.deepEqual(
    { serviceStarted: c.counts.get('service started') ?? 0, duplicates: c.duplicates().filter((l) => l !== 'service started'), alerts: c.alerts },
    { serviceStarted: 2, duplicates: [], alerts: [] },
    "each file's 'service started' line is read once: the quiet log's, and the worker file's own",
  );
});
