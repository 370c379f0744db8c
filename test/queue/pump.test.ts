import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { makeQueue, rec, tempDir } from './helpers.js';

test('an append made while the writer loop is finishing is written at once, not at the next tick', async () => {
  const { dir, cleanup } = tempDir();
  // fsync_interval 60 s: a request the writer loop missed would wait for that long.
  const h = makeQueue(dir, { fsyncIntervalMs: 60_000 });
  try {
    await h.q.open();
    let i = 0;
    // Every gap of 0..40 microtask turns after an append resolves, so one of them lands in
    // the window between the loop finding nothing to take and it stopping.
    for (let turns = 0; turns <= 40; turns++) {
      await h.q.append([rec(i++)]);
      for (let k = 0; k < turns; k++) await Promise.resolve();
      const next = h.q.append([rec(i++)]);
      const won = await Promise.race([next.then(() => 'written' as const), sleep(2000).then(() => 'stuck' as const)]);
      assert.equal(won, 'written', `after ${turns} turns`);
    }
    await h.q.close();
  } finally {
    cleanup();
  }
});
