/**
 * A stream read only a line into (a quiet log holding its first line, shorter than a fingerprint) is
 * orphaned by a copytruncate. Any log starting with that line matches its head as well as its copy
 * does: the copy is the one holding no more than the log was seen to hold (FileSource.fits); a larger
 * one (another service's rotated log) waits, and gets the orphan only if no copy that fits comes
 * within the grace (the log grew after the last look and before the copy: its copy does not fit
 * either). review-short-head-other-log-copy.test.ts has the other log's file parked before the
 * truncation; here it is listed by the same scan as the copy (one logrotate run rotates both logs),
 * in either order, and the log grows before its copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiscoveredFile } from '../../src/source/discovery.js';
import { body, last, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const FIRST = 'service started\n'; // shorter than a fingerprint (256 bytes)
const POLL = (options('/').pollIntervalMs ?? 0) + 1;

for (const first of ['app-worker.log.1', 'app.log.1'] as const) {
  test(`one logrotate run rotates a quiet log and another log starting with its line (${first} listed first): each line read once`, async () => {
    let armed = false;
    const order = (f: DiscoveredFile[]): DiscoveredFile[] => [...f].sort((a, b) => Number(!a.path.endsWith(first)) - Number(!b.path.endsWith(first)));
    const { c } = await runSource(
      {
        prepare: ({ live }) => writeFileSync(live, FIRST),
        harness: ({ live, logs }) => ({
          frozen: true,
          order,
          afterScan: (h) => {
            if (!armed) return;
            armed = false;
            // After this scan's walk: the next scan lists both rotated files, the truncation is seen first.
            writeFileSync(join(logs, 'app-worker.log.1'), FIRST + body(lines('w', 0, 30)));
            copyFileSync(live, join(logs, 'app.log.1'));
            truncateSync(live, 0);
            appendFileSync(live, body(lines('c', 0, 5)));
            h.advance(POLL);
          },
        }),
      },
      async ({ c, h }) => {
        await waitFor(() => c.has('service started'), 'the quiet log');
        armed = true;
        h.advance(1);
        await waitFor(() => !armed, 'the rotation');
        await waitFor(() => c.has(last('c', 5)), 'the quiet log after the rotation');
        await h.graceRound();
        await h.graceRound();
        await h.graceRound();
        await waitFor(() => c.has(last('w', 30)), "the worker file's lines");
      },
    );
    assert.deepEqual(
      { serviceStarted: c.counts.get('service started') ?? 0, duplicates: c.duplicates().filter((l) => l !== 'service started'), alerts: c.alerts },
      { serviceStarted: 2, duplicates: [], alerts: [] },
      "each file's 'service started' line is read once: the quiet log's, and the worker file's own",
    );
    assert.equal(c.records.length, 2 + 30 + 5);
  });
}

test('a quiet log that grew after the last look and before its copytruncate: its larger copy goes on with the stream at the grace, no alert', async () => {
  let armed = false;
  const { c } = await runSource(
    {
      prepare: ({ live }) => writeFileSync(live, FIRST),
      harness: ({ live, logs }) => ({
        frozen: true,
        afterScan: (h) => {
          if (!armed) return;
          armed = false;
          // Lines written and copied before the agent looked again: the copy is larger than the log was seen.
          appendFileSync(live, body(lines('a', 0, 30)));
          copyFileSync(live, join(logs, 'app.log.1'));
          truncateSync(live, 0);
          appendFileSync(live, body(lines('c', 0, 5)));
          h.advance(POLL);
        },
      }),
    },
    async ({ c, h }) => {
      await waitFor(() => c.has('service started'), 'the quiet log');
      armed = true;
      h.advance(1);
      await waitFor(() => !armed, 'the rotation');
      await waitFor(() => c.has(last('c', 5)), 'the quiet log after the rotation');
      await h.graceRound();
      await waitFor(() => c.has(last('a', 30)), 'the lines only the copy holds');
      await h.graceRound();
      await h.graceRound();
    },
  );
  assert.deepEqual(
    { duplicates: c.duplicates(), alerts: c.alerts, adopted: c.counters.get('source_copies_adopted') },
    { duplicates: [], alerts: [], adopted: 1 },
    'the copy goes on with the stream after the first line: nothing read twice, the truncation had its copy',
  );
  assert.equal(c.records.length, 1 + 30 + 5);
});
