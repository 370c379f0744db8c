/**
 * A suspicion saved by a stop is restored by the next start and decided after one more grace. When
 * that start is killed (kill -9: no final registry write) right after it raised the alert, the start
 * after it must not raise it again, and must not lose it either when the alert was not durable yet.
 *  - The registry used to keep the decided suspicion until the next periodic write
 *    (checkpointFlushMs): a kill in between raised the alert a second time. A decision now asks for
 *    the write at once; what is left is the write itself (the registry is replaced atomically: a
 *    kill during it keeps the old one, and the alert comes once more).
 *  - `alert` may return a promise that resolves once the alert is durable downstream. Until then the
 *    suspicion stays saved: a periodic write between the raise and a kill used to drop it, and an
 *    alert the queue never took was lost for good.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointEntry } from '../../src/source/checkpoint.js';
import type { TamperAlert } from '../../src/source/file-source.js';
import { body, harness, last, runOnce, setup } from './copy-fixture.js';
import { Collector, lines, options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL = 0 } = options('/');

/** app.log read, truncated with no copy anywhere, the new lines read; stopped within the grace (the suspicion saved). */
async function suspicionSaved(dir: string, logs: string, live: string): Promise<void> {
  writeFileSync(live, body(lines('a', 0, 100)));
  const first = await runOnce(dir, logs, async (c, h) => {
    await waitFor(() => c.records.length === 100, 'the live file');
    truncateSync(live, 0);
    appendFileSync(live, body(lines('c', 0, 5)));
    h.advance(POLL + 1);
    await waitFor(() => c.has(last('c', 5)), 'the truncation seen and the new lines read');
  });
  assert.deepEqual(first.alerts, []);
}

/**
 * The second start: restores the suspicion, decides it after the grace (raising it through `alert`),
 * runs `after`, then is killed (abort: no final write).
 */
async function raisedThenKilled(
  dir: string,
  logs: string,
  alert: (a: TamperAlert) => void | Promise<void>,
  after: () => Promise<void>,
  checkpointFlushMs?: number,
): Promise<TamperAlert[]> {
  const c = new Collector();
  const raised: TamperAlert[] = [];
  c.alert = (a) => {
    raised.push(a);
    return alert(a) as void;
  };
  const h = harness(dir, logs, c, checkpointFlushMs !== undefined ? { checkpointFlushMs } : {}, { frozen: true });
  await h.src.start();
  try {
    await h.graceRound(); // the first scan restores it (one more grace from there)
    await h.graceRound();
    await waitFor(() => raised.length === 1, 'the restored suspicion raised');
    await after();
  } finally {
    await h.src.abort();
  }
  return raised;
}

/** The third start, until any restored suspicion is decided. */
async function thirdStart(dir: string, logs: string): Promise<string[]> {
  const c = await runOnce(dir, logs, async (_c, h) => {
    await h.graceRound();
    await h.graceRound();
  });
  return c.alerts.map((a) => `${a.kind} ${a.path}`);
}

test('kill -9 right after a restored suspicion was raised: the next start does not raise it again', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    await suspicionSaved(dir, logs, live);
    // No periodic write within the test: only the decision's own write can clear it.
    const raised = await raisedThenKilled(dir, logs, () => undefined, async () => undefined, 3_600_000);
    assert.deepEqual(raised.map((a) => `${a.kind} ${a.path}`), [`truncated ${live}`]);
    assert.deepEqual(await thirdStart(dir, logs), []);
  } finally {
    cleanup();
  }
});

test('kill -9 after a restored suspicion was raised and its alert made durable: not raised again', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    await suspicionSaved(dir, logs, live);
    let durable: () => void = () => undefined;
    const raised = await raisedThenKilled(
      dir,
      logs,
      () => new Promise<void>((res) => (durable = res)),
      async () => {
        durable();
        await new Promise((res) => setImmediate(res));
      },
      3_600_000,
    );
    assert.equal(raised.length, 1);
    assert.deepEqual(await thirdStart(dir, logs), []);
  } finally {
    cleanup();
  }
});

test('kill -9 after a restored suspicion was raised but before its alert was durable: the next start raises it', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    await suspicionSaved(dir, logs, live);
    const registry = join(dir, 'state', 'checkpoints', 'test.json');
    const size = body(lines('c', 0, 6)).length;
    const written = (): boolean =>
      Object.values((JSON.parse(readFileSync(registry, 'utf8')) as { entries: Record<string, CheckpointEntry> }).entries).some((e) => e.path === live && e.offset === size);
    const raised = await raisedThenKilled(
      dir,
      logs,
      () => new Promise<void>(() => undefined), // the queue never takes it (full, failing disk)
      async () => {
        // A periodic write after the decision: a line read and its checkpoint written.
        appendFileSync(live, body(lines('c', 5, 1)));
        await waitFor(written, 'a registry write after the raise');
      },
    );
    assert.equal(raised.length, 1);
    assert.deepEqual(await thirdStart(dir, logs), [`truncated ${live}`]);
  } finally {
    cleanup();
  }
});
