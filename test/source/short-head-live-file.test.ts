/**
 * Review of 931158a (fits, parkedCopy, expire). A quiet log read only a line into (its stream's head
 * is that line, shorter than a fingerprint) is truncated with no copy made (`: > app.log`, or
 * copytruncate with compress: the copy is gone before a scan lists it). Within the grace a new log
 * starts at a LIVE path with the same first line (another service's log, app-worker.log, matched by
 * the same globs). Larger than the quiet log was seen, it does not fit and is parked; at the orphan's
 * expiry, parkedCopy(…, Infinity, true) hands it the stream anyway ("the largest of those that did
 * not"), though no copytruncate copy lands on a live path (docs/source.md, holdsWhatWasRead). The
 * worker log is then read from the quiet log's offset: its own first line is never shipped, and the
 * truncation, which had no copy, raises no alert.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const FIRST = 'service started\n'; // shorter than a fingerprint (256 bytes)

test("a live log starting with a truncated quiet log's only line does not take its stream", async () => {
  const { c, live } = await runSource({ prepare: ({ live }) => writeFileSync(live, FIRST) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.has('service started'), 'the quiet log');
    // A real truncation: no copy anywhere.
    truncateSync(live, 0);
    appendFileSync(live, body(lines('c', 0, 5)));
    h.advance((options('/').pollIntervalMs ?? 0) + 1);
    await waitFor(() => c.has(last('c', 5)), 'the quiet log after the truncation');
    // Another service's live log, starting with the same line, within the grace.
    writeFileSync(join(logs, 'app-worker.log'), FIRST + body(lines('w', 0, 30)));
    await waitFor(() => c.counters.get('source_files_parked') >= 1 || c.has(last('w', 30)), 'the worker log classified');
    await h.graceRound();
    await h.graceRound();
    await h.graceRound();
    await waitFor(() => c.has(last('w', 30)), "the worker log's lines");
  });
  assert.deepEqual(
    { serviceStarted: c.counts.get('service started') ?? 0, alerts: c.alerts.map((a) => [a.kind, a.path]) },
    { serviceStarted: 2, alerts: [['truncated', live]] },
    "the worker log's first line is shipped, and the truncation (no copy) is alerted",
  );
});
