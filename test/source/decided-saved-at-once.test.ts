/**
 * A suspicion decided and raised whose alert is not durable yet stays saved, as decided, so that the
 * next start raises it again as it was and never gives it another grace (a path recreated meanwhile
 * would cancel a confirmed deletion). Saved *as decided* only by the next registry write, though:
 * the decision asked for a write at once only when the alert was durable already. A kill -9 between
 * the decision and the next periodic write (checkpointFlushMs) left the registry holding the
 * suspicion undecided, as the last stop saved it; the next start gave it one more grace, the log
 * recreated by its writer cancelled it, and the confirmed deletion was never raised.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TamperAlert } from '../../src/source/file-source.js';
import { body, harness, runOnce, setup } from './copy-fixture.js';
import { Collector, lines, waitFor } from './file-fixture.js';

test('kill -9 right after a deletion was decided, its alert not durable, the log recreated before the restart: raised at the next start', async () => {
  const { dir, cleanup, logs, live } = setup();
  const registry = join(dir, 'state', 'checkpoints', 'test.json');
  try {
    writeFileSync(live, body(lines('a', 0, 100)));
    // Run 1: the live log deleted; stopped within the grace: the suspicion saved, undecided.
    await runOnce(dir, logs, async (c) => {
      await waitFor(() => c.records.length === 100, 'the live file');
      unlinkSync(live);
      await waitFor(() => existsSync(registry) && readFileSync(registry, 'utf8').includes('"deleted"'), 'the deletion suspected and saved');
    });
    assert.doesNotMatch(readFileSync(registry, 'utf8'), /"decided"/);

    // Run 2: restored, decided after its grace and raised; the queue has not stored it when kill -9 comes.
    // No periodic write within the test: only the decision's own write can save it as decided.
    const c2 = new Collector();
    const raised: TamperAlert[] = [];
    c2.alert = (a: TamperAlert): void => {
      raised.push(a);
      return new Promise<void>(() => undefined) as unknown as void;
    };
    let savedAtOnce = false;
    const h2 = harness(dir, logs, c2, { checkpointFlushMs: 3_600_000 }, { frozen: true });
    await h2.src.start();
    try {
      await h2.graceRound(); // the first scan restores it (one more grace from there)
      await h2.graceRound();
      await waitFor(() => raised.length === 1, 'the deletion decided and raised');
      // Only the decision's own write can do it (no periodic write within the test), before the kill.
      savedAtOnce = await waitFor(() => readFileSync(registry, 'utf8').includes('"decided":true'), 'the decision saved at once', 5_000).then(
        () => true,
        (err: unknown) => {
          if (err instanceof Error && err.message.startsWith('timed out')) return false;
          throw err;
        },
      );
    } finally {
      await h2.src.abort();
    }
    assert.deepEqual(raised.map((a) => `${a.kind} ${a.path}`), [`deleted ${live}`]);

    // Run 3: the writer recreated its log before this start.
    writeFileSync(live, body(lines('z', 0, 3)));
    const c3 = await runOnce(dir, logs, async (_c, h) => {
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual(c3.alerts.map((a) => `${a.kind} ${a.path}`), [`deleted ${live}`], 'decided by run 2, never stored: raised again, not given a new grace');
    assert.ok(savedAtOnce, 'saved as decided by the decision itself');
  } finally {
    cleanup();
  }
});
