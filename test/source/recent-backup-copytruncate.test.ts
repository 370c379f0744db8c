/**
 * Review of c1d8c88 ("an orphaned stream goes to the larger of two same-head copies"). The change
 * covers two copies that were both parked before the truncation (a late copytruncate). The usual
 * copytruncate makes its copy and truncates at once, so the copy is listed by a scan after the
 * truncation was seen, and has never been parked: a recent backup of the log at a rotated name
 * (parked as a copy of what was read; younger than the stale-copy age, e.g. taken by a prerotate
 * script or a backup job minutes before) is then the only same-head copy known. truncated() hands
 * it the stream (or, when it was mid-way back from parked, classify() does: largerCopyWaiting only
 * sees copies with a parkHead). The backup ends before the read position, so nothing is read from
 * it; the rotation's copy, listed next, is compared with that "holder", found larger, and read from
 * 0 under its own identity: every line the log held is read twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, copytruncateAfterWalk, last, runSource } from './copy-fixture.js';
import { lines, waitFor } from './file-fixture.js';

test('a backup taken minutes before a copytruncate does not take the stream from the rotation copy', async () => {
  let armed = false;
  const { c } = await runSource(
    {
      prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 50))),
      harness: ({ live, logs }) => ({
        frozen: true,
        afterScan: (h) => {
          if (!armed) return;
          armed = false;
          copytruncateAfterWalk(h, live, logs); // app.log.1 made and app.log truncated after this scan's walk
        },
      }),
    },
    async ({ c, h, live, logs }) => {
      await waitFor(() => c.records.length === 50, 'the live file');
      copyFileSync(live, join(logs, 'app.log.bak'));
      await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the backup parked');
      await h.graceRound();
      await h.graceRound(); // compared: the start of app.log, byte for byte
      appendFileSync(live, body(lines('b', 0, 50)));
      await waitFor(() => c.has(last('b', 50)), 'more lines');
      armed = true;
      h.advance(1);
      await waitFor(() => !armed, 'the rotation');
      await waitFor(() => c.has(last('c', 20)), 'the lines after the truncation');
      await h.graceRound();
      await h.graceRound();
      await h.graceRound();
    },
  );
  assert.deepEqual(c.duplicates(), [], 'the rotation copy holds what was read: it must not be read again');
  assert.deepEqual(c.alerts, []);
  assert.equal(c.records.length, 120);
});
