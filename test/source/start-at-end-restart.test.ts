/**
 * start_at: end skips what a log held at the agent's very first start. A first run that read
 * nothing of it (no line written while it ran) must still leave that decision in the checkpoint
 * registry: the next start is no first run, and a file without an entry is read from 0 then.
 * (Found by review: the second start shipped the whole old file.)
 */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';

import { body, harness, setup } from './copy-fixture.js';
import { Collector, lines, waitFor } from './file-fixture.js';

for (const size of ['long', 'short'] as const) {
  test(`start_at end: a ${size} log untouched during the first run is not read from 0 at the next start`, async () => {
    const { dir, cleanup, logs, live } = setup();
    try {
      const old = size === 'long' ? lines('old', 0, 50) : lines('o', 0, 2); // over and under the 256-byte fingerprint
      writeFileSync(live, body(old));
      {
        const c = new Collector();
        const h = harness(dir, logs, c, { startAt: 'end' });
        await h.src.start();
        // The source has taken the file (its position set at the end); nothing is written while it runs.
        const tracked = (h.src as unknown as { tracked: Map<string, { stream?: unknown }> }).tracked;
        await waitFor(() => [...tracked.values()].some((t) => t.stream !== undefined), 'the file taken at its end');
        await h.src.stop();
        assert.deepEqual(c.records, []);
      }
      const c = new Collector();
      const h = harness(dir, logs, c, { startAt: 'end' });
      await h.src.start();
      appendFileSync(live, body(['second-run line']));
      await waitFor(() => c.has('second-run line'), 'the new line in the second run');
      await h.src.stop();
      assert.deepEqual(c.records.map((r) => r.bytes.toString()), ['second-run line'], 'nothing before it is shipped again');
    } finally {
      cleanup();
    }
  });
}
