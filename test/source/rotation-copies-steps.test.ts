/**
 * The byte comparison of a big parked copy runs 1 MiB per turn, and the next step comes the next
 * turn, not a grace later. On a frozen clock a grace never runs out by itself, so a copy of K MiB
 * must be decided within the one harness round that let its park grace run out: a grace between
 * steps would need K - 1 more rounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runSource } from './copy-fixture.js';
import { lines, waitFor } from './file-fixture.js';

const STEP = 1024 * 1024;

test('a copy of several MiB is compared step after step in consecutive turns, then stays parked and unread', async () => {
  const a = lines('a', 0, 160_000); // ~4.6 MiB: 5 steps
  const { c, logs } = await runSource({ harness: { frozen: true }, prepare: ({ live }) => writeFileSync(live, body(a)) }, async ({ c, h, hook, live, logs }) => {
    const copy = join(logs, 'app.log.1');
    await waitFor(() => c.records.length === a.length, 'the live file', 60_000);
    copyFileSync(live, copy);
    const size = statSync(copy).size;
    assert.ok(size > 4 * STEP, 'the copy spans several steps');
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
    let compared = 0; // end of the copy's bytes compared so far
    let copyReads = 0; // reads of the copy past its head (each decision reads the 256-byte head again)
    const restore = await hook('read', (path, args) => {
      const [, , len, pos] = args;
      if (path !== copy || typeof len !== 'number' || typeof pos !== 'number' || len <= 256) return;
      copyReads++;
      compared = Math.max(compared, pos + len);
    });
    await h.graceRound(); // the park grace runs out; the clock does not move again
    await waitFor(() => compared === size, `the comparison to the end (${compared} of ${size} bytes after one round)`);
    const readsWhenDecided = copyReads;
    await h.graceRound();
    await h.graceRound();
    assert.equal(copyReads, readsWhenDecided, 'the copy compared again, or read');
    restore();
    truncateSync(live, 0); // the late truncation: the parked copy takes the stream
    appendFileSync(live, body(lines('b', 0, 10)));
    await waitFor(() => c.has(last('b', 10)), 'the new lines');
    await h.graceRound();
    await h.graceRound();
  });
  const copy = join(logs, 'app.log.1');
  assert.equal(c.records.filter((r) => r.source.path === copy).length, 0, 'records read from the copy');
  assert.deepEqual(c.duplicates(), []);
  assert.deepEqual(c.alerts, []);
});
