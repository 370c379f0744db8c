/**
 * A parked copy is compared byte for byte with the file it copies, 1 MiB per turn, the progress
 * remembered per (size, ctime) of the copy. A copy that changed meanwhile (logrotate still writing
 * it) makes the comparison start over, after a grace like any parked file: going on at once
 * compared its first MiB again every turn for as long as it was written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runSource } from './copy-fixture.js';
import { lines, waitFor } from './file-fixture.js';

test('a parked copy that changed since its comparison waits a grace before it is compared again from its start', async () => {
  const a = lines('a', 0, 50_000); // 1.5 MB: two comparison steps
  const b = lines('b', 0, 30);
  const { c } = await runSource({ harness: { frozen: true }, prepare: ({ live }) => writeFileSync(live, body(a)) }, async ({ c, h, hook, live, logs }) => {
    const copy = join(logs, 'app.log.1');
    await waitFor(() => c.records.length === a.length, 'the live file', 60_000);
    let compared = 0; // bytes of the copy read by comparisons (a head is 256 bytes)
    let headReads = 0;
    await hook('read', (path, [, , len]) => {
      if (path !== copy || typeof len !== 'number') return;
      if (len > 256) compared += len;
      else headReads++;
    });
    const partial = body(a.slice(0, 36_000)); // logrotate half way through the copy
    writeFileSync(copy, partial);
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
    await h.graceRound();
    await waitFor(() => compared >= partial.length, 'the copy compared so far');
    appendFileSync(copy, body(a.slice(36_000))); // the rest of the copy written
    compared = 0;
    const heads = headReads;
    await h.graceRound(); // its grace over, the copy is decided again: changed
    await waitFor(() => headReads > heads, 'the changed copy decided again');
    await h.graceRound(0); // more turns, the clock still
    assert.equal(compared, 0, 'compared again at once');
    await h.graceRound();
    await waitFor(() => compared >= partial.length, 'the comparison started over after the grace');
    truncateSync(live, 0); // logrotate's truncation
    appendFileSync(live, body(b));
    await waitFor(() => c.has(last('b', 30)), 'the new lines');
    await h.graceRound();
    await h.graceRound();
  });
  assert.deepEqual(c.duplicates(), []);
  assert.deepEqual(c.alerts, []);
  assert.equal(c.counters.get('source_copies_adopted'), 1);
});
