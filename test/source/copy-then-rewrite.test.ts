/**
 * A live log copied to a rotated name, then rewritten in place with some lines removed and its
 * first 256 bytes kept (`cp app.log app.log.1; grep -v x app.log.1 > app.log`). The parked copy
 * takes the stream at the truncation (so no truncated alert: documented), and the live path now
 * holds content read before under another inode's stream: a `replaced` alert (docs/source.md:
 * "a copy of a file still being read"). The rewrite-in-place rule (an inode may not take back the
 * stream it lost) made classify read the rewrite as new content: no alert at all (found by review).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL } = options('/');

test('a live log copied, then rewritten in place without some lines: an alert is raised', async () => {
  const a = lines('a', 0, 500);
  const { c } = await runSource({ harness: { frozen: true }, prepare: ({ live }) => writeFileSync(live, body(a)) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 500, 'the live file');
    copyFileSync(live, join(logs, 'app.log.1'));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
    writeFileSync(live, body([...a.slice(0, 100), ...a.slice(110)])); // same inode, head kept
    h.advance((POLL ?? 0) + 1);
    await waitFor(() => c.counters.get('source_copies_adopted') >= 1, 'the copy takes the stream');
    await h.graceRound();
    await h.graceRound();
  });
  assert.deepEqual(c.alerts.map((x) => x.kind), ['replaced']);
});
