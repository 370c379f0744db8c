/**
 * max_open_files 1, a copytruncate whose truncation comes after the copy's grace (logrotate's
 * fsync of a big copy). The copy cannot be compared, so it is read under its own identity
 * (documented: duplicates). Then the truncation finds no parked copy: the orphan expires and a
 * truncated alert is raised for a normal rotation (not documented).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL } = options('/');

test('max_open_files 1, late copytruncate: no truncated alert', async () => {
  const a = lines('a', 0, 50);
  const { c } = await runSource({ source: { maxOpenFiles: 1 }, harness: { frozen: true }, prepare: ({ live }) => writeFileSync(live, body(a)) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 50, 'the live file');
    copyFileSync(live, join(logs, 'app.log.1'));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'parked');
    await h.graceRound();
    await h.graceRound();
    await waitFor(() => c.duplicates().length === 50, 'the copy read (documented duplicates)');
    truncateSync(live, 0); // the late truncation
    appendFileSync(live, body(lines('b', 0, 10)));
    h.advance((POLL ?? 0) + 1);
    await waitFor(() => c.has(last('b', 10)), 'the new lines');
    await h.graceRound();
    await h.graceRound();
  });
  assert.deepEqual(c.alerts.map((x) => x.kind), []);
});
