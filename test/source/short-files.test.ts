/**
 * Files shorter than the 256-byte fingerprint: their checkpoint entry records the head seen so far,
 * and a copy of one may be shorter than what was read of the original.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSource } from './copy-fixture.js';
import { options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL = 0 } = options('/');

test('a short live log truncated, then written again from the same first line: that line is a new event, read again', async () => {
  // The checkpoint entry of the short file still matches the first bytes written after the
  // truncation; resuming it would take the new "service started" for the one read before.
  const { c } = await runSource({ harness: { frozen: true }, prepare: ({ live }) => writeFileSync(live, 'service started\n') }, async ({ c, h, live }) => {
    await waitFor(() => c.records.length === 1, 'the live file');
    await waitFor(() => c.counters.get('source_records') === 1, 'its checkpoint');
    truncateSync(live, 0);
    h.advance(POLL + 1);
    await waitFor(() => c.counters.get('source_truncations') === 1, 'the truncation seen');
    appendFileSync(live, 'service started\nservice ready\n'); // the service started again
    h.advance(POLL + 1);
    await waitFor(() => c.has('service ready'), 'the new lines');
    await h.graceRound();
    await h.graceRound();
  });
  assert.deepEqual(c.records.map((r) => r.bytes.toString()), ['service started', 'service started', 'service ready']);
  assert.deepEqual(c.alerts.map((a) => a.kind), ['truncated']);
});

test('a copytruncate copy made while the file was shorter than what was read of it is adopted once, not again every turn', async () => {
  const { c } = await runSource({ prepare: ({ live }) => writeFileSync(live, 'one short line\n') }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 1, 'the live file');
    copyFileSync(live, join(logs, 'app.log.1'));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
    appendFileSync(live, 'second line\n'); // read before logrotate truncates: the copy lacks it
    await waitFor(() => c.records.length === 2, 'the second line');
    truncateSync(live, 0);
    await waitFor(() => c.counters.get('source_copies_adopted') >= 1, 'the copy adopted');
    await h.graceRound();
    await h.graceRound();
  });
  assert.equal(c.counters.get('source_truncations'), 1, 'the copy taken for truncated, turn after turn');
  assert.equal(c.counters.get('source_copies_adopted'), 1);
  assert.deepEqual(c.records.map((r) => r.bytes.toString()), ['one short line', 'second line']);
  assert.deepEqual(c.alerts, []);
});
