/**
 * A live log rewritten in place while the agent was away, its first 256 bytes kept (`grep -v x
 * app.log > t; cat t > app.log`): the head, and so the identity, is the same, and the checkpoint
 * resumed at the old offset, in the middle of content never read (lines skipped, one cut in two,
 * no alert). The checkpoint now records a hash of the bytes before its offset, from the reader's
 * memory; a restart that finds other bytes there reads the file from 0 and raises what the live
 * rewrite raises.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointEntry } from '../../src/source/checkpoint.js';
import { body, last, runOnce, setup } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL } = options('/');

test('a live log rewritten in place while the agent was away, head kept: truncated alert, read again from 0, no line lost', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    const a = lines('a', 0, 500);
    const w = lines('w', 0, 20);
    writeFileSync(live, body(a));
    await runOnce(dir, logs, async (c) => waitFor(() => c.records.length === 500, 'the live file'));
    // Away: 10 lines removed from the middle, the file rewritten in place (same inode), the writer goes on.
    writeFileSync(live, body([...a.slice(0, 100), ...a.slice(110), ...w]));
    const c = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.has(last('w', 20)), 'the last line written');
      await h.graceRound();
      await h.graceRound();
    });
    const expected = [...a.slice(0, 100), ...a.slice(110), ...w];
    assert.deepEqual(
      { lost: expected.filter((l) => !c.has(l)), alerts: c.alerts.map((x) => `${x.kind} ${x.path}`) },
      { lost: [], alerts: [`truncated ${live}`] },
    );
    assert.equal(c.counters.get('source_checkpoint_mismatches'), 1);
  } finally {
    cleanup();
  }
});

test('after a live rewrite in place, a restart resumes the rewritten file where it stopped: nothing read twice, no second alert', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    const a = lines('a', 0, 500);
    const w = lines('w', 0, 20);
    const z = lines('z', 0, 20);
    writeFileSync(live, body(a));
    const first = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.records.length === 500, 'the live file');
      writeFileSync(live, body([...a.slice(0, 100), ...a.slice(110)])); // same inode, head kept
      h.advance((POLL ?? 0) + 1);
      await waitFor(() => c.counters.get('source_truncations') >= 1, 'the truncation seen');
      appendFileSync(live, body(w));
      h.advance((POLL ?? 0) + 1);
      await waitFor(() => c.has(last('w', 20)), 'the lines written after the rewrite');
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual(first.alerts.map((x) => x.kind), ['truncated'], 'the live rewrite');
    appendFileSync(live, body(z)); // while the agent is away
    const c = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.has(last('z', 20)), 'the lines written while away');
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual(
      { read: c.records.map((r) => r.bytes.toString()), alerts: c.alerts },
      { read: z, alerts: [] },
    );
  } finally {
    cleanup();
  }
});

test('a live log copied, then rewritten in place while the agent was away: replaced, as when it happens live', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    const a = lines('a', 0, 500);
    writeFileSync(live, body(a));
    await runOnce(dir, logs, async (c) => waitFor(() => c.records.length === 500, 'the live file'));
    copyFileSync(live, join(logs, 'app.log.1'));
    writeFileSync(live, body([...a.slice(0, 100), ...a.slice(110)]));
    const c = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.has(last('a', 500)), 'the rewritten file');
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual(c.alerts.map((x) => `${x.kind} ${x.path}`), [`replaced ${live}`]);
    assert.equal(c.duplicates().length, 0, 'the copy resumed at its checkpoint, not read again');
  } finally {
    cleanup();
  }
});

test('a checkpoint registry written before tail hashes resumes at its offsets as before', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    const a = lines('a', 0, 200);
    const b = lines('b', 0, 10);
    writeFileSync(live, body(a));
    let file = '';
    await runOnce(dir, logs, async (c, h) => {
      file = h.src.checkpointer.file;
      await waitFor(() => c.records.length === 200, 'the live file');
    });
    const reg = JSON.parse(readFileSync(file, 'utf8')) as { entries: Record<string, CheckpointEntry> };
    const entries = Object.values(reg.entries);
    assert.ok(entries.length > 0 && entries.every((e) => typeof e.tailHash === 'string' && e.tailEnd === e.offset), 'the tail is recorded at the offset');
    for (const e of entries) {
      delete e.tailEnd;
      delete e.tailLen;
      delete e.tailHash;
    }
    writeFileSync(file, JSON.stringify(reg));
    appendFileSync(live, body(b));
    const c = await runOnce(dir, logs, async (c) => waitFor(() => c.has(last('b', 10)), 'the new lines'));
    assert.deepEqual(c.records.map((r) => r.bytes.toString()), b);
    assert.deepEqual(c.alerts, []);
  } finally {
    cleanup();
  }
});
