/**
 * A tamper alert is decided after the turn that follows a scan past its deadline (a late scan may
 * list the copy that explains it for the first time). A stop() that cut that turn short skipped
 * the decision, and the alert, already due, was dropped for good. Suspicions not decided at stop
 * are now saved with the checkpoints and decided by the next start, after one more grace: the copy
 * that explains a truncation, found only then, still cancels it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TamperAlert } from '../../src/source/file-source.js';
import { body, harness, last, setup, type HarnessOptions } from './copy-fixture.js';
import { Collector, lines, options, waitFor } from './file-fixture.js';

const { rescanIntervalMs: R, pollIntervalMs: POLL = 0 } = options('/');

/**
 * Runs the source until `arm` returns; the next scan (past every deadline: the clock is moved on by
 * R) stops it, which cuts that scan's turn short. `atStop` runs in that scan, before its last walk.
 */
async function stoppedInTheDueTurn(
  dir: string,
  logs: string,
  arm: (c: Collector, advance: (ms: number) => void, scans: () => number) => Promise<void>,
  atStop: () => void = () => undefined,
): Promise<TamperAlert[]> {
  const c = new Collector();
  let phase: 'idle' | 'armed' | 'done' = 'idle';
  let stopped: Promise<void> | undefined;
  let scans = 0;
  const ho: HarnessOptions = {
    frozen: true,
    afterScan: (h) => {
      scans++;
      if (phase !== 'armed') return;
      phase = 'done';
      atStop();
      stopped = h.src.stop();
      return true;
    },
  };
  const h = harness(dir, logs, c, {}, ho);
  await h.src.start();
  try {
    await arm(c, (ms) => h.advance(ms), () => scans);
    h.advance(R);
    phase = 'armed';
    await waitFor(() => phase === 'done', 'the scan past the deadline');
    await stopped;
  } finally {
    await h.src.stop();
  }
  return c.alerts;
}

/** The next start, until its suspicions are decided. */
async function nextStart(dir: string, logs: string): Promise<Collector> {
  const c = new Collector();
  const h = harness(dir, logs, c, {}, { frozen: true });
  await h.src.start();
  try {
    await h.graceRound();
    await h.graceRound();
  } finally {
    await h.src.stop();
  }
  return c;
}

test('a truncated alert already due when a stop cuts the turn short is raised by the next start', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    writeFileSync(live, body(lines('a', 0, 500)));
    const first = await stoppedInTheDueTurn(dir, logs, async (c, advance) => {
      await waitFor(() => c.records.length === 500, 'the live file');
      truncateSync(live, 0); // tampering: no copy anywhere
      appendFileSync(live, body(lines('c', 0, 20)));
      advance(POLL + 1);
      await waitFor(() => c.has(last('c', 20)), 'the truncation seen and the new lines read');
    });
    assert.deepEqual(first, [], 'the stop came before the decision');
    const c = await nextStart(dir, logs);
    assert.deepEqual(c.alerts.map((a) => `${a.kind} ${a.path}`), [`truncated ${live}`]);
  } finally {
    cleanup();
  }
});

test('a deleted alert already due when a stop cuts the turn short is raised by the next start', async () => {
  const { dir, cleanup, logs } = setup();
  const other = join(logs, 'other.log');
  try {
    writeFileSync(other, body(lines('o', 0, 10)));
    const first = await stoppedInTheDueTurn(dir, logs, async (c, _advance, scans) => {
      await waitFor(() => c.records.length === 10, 'the live file');
      unlinkSync(other); // tampering
      const from = scans();
      await waitFor(() => scans() >= from + 2, 'a scan that found the path missing');
    });
    assert.deepEqual(first, []);
    const c = await nextStart(dir, logs);
    assert.deepEqual(c.alerts.map((a) => `${a.kind} ${a.path}`), [`deleted ${other}`]);
  } finally {
    cleanup();
  }
});

test('a truncation whose copy is listed first by the scan a stop cuts short raises no alert at the next start', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    const a = lines('a', 0, 500);
    writeFileSync(live, body(a));
    const first = await stoppedInTheDueTurn(
      dir,
      logs,
      async (c, advance) => {
        await waitFor(() => c.records.length === 500, 'the live file');
        truncateSync(live, 0); // copytruncate, whose copy no scan lists before the deadline
        appendFileSync(live, body(lines('c', 0, 20)));
        advance(POLL + 1);
        await waitFor(() => c.has(last('c', 20)), 'the truncation seen');
      },
      () => writeFileSync(join(logs, 'app.log.1'), body(a)),
    );
    assert.deepEqual(first, []);
    const c = await nextStart(dir, logs);
    assert.deepEqual(c.alerts, [], 'the copy resumed its checkpoint: no truncation');
    assert.deepEqual(c.records, [], 'nothing read again');
  } finally {
    cleanup();
  }
});

test('a live path deleted before a stop and found again at the next start raises nothing', async () => {
  const { dir, cleanup, logs } = setup();
  const other = join(logs, 'other.log');
  try {
    writeFileSync(other, body(lines('o', 0, 10)));
    await stoppedInTheDueTurn(dir, logs, async (c, _advance, scans) => {
      await waitFor(() => c.records.length === 10, 'the live file');
      unlinkSync(other);
      const from = scans();
      await waitFor(() => scans() >= from + 2, 'a scan that found the path missing');
    });
    writeFileSync(other, body(lines('n', 0, 10))); // created again while the agent was away
    const c = await nextStart(dir, logs);
    assert.deepEqual(c.alerts, []);
  } finally {
    cleanup();
  }
});
