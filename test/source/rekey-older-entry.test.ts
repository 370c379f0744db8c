/**
 * A short file's provisional identity becomes its fingerprint when it reaches 256 bytes, and its
 * checkpoint entry is re-keyed. When the fingerprint has an entry already, recorded earlier with a
 * larger offset (here: the log was read to 3000 bytes, truncated outside a rotation, and written
 * again with the same first lines), the re-key kept that entry: the records of the new content
 * carried the old identity at offsets the old content had used (the same event.id for other lines),
 * and the next start resumed at the old, larger offset. A log grown past it meanwhile lost every
 * line between; a shorter one was read again from 0 with a second `truncated` alert. The stream
 * now keeps an identity of its own (as for a head shared with a file being read).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import type { RawRecord } from '../../src/event/types.js';
import { body, harness, runOnce, setup } from './copy-fixture.js';
import { Collector, lines, options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL = 0 } = options('/');
const text = (rs: readonly RawRecord[]): string[] => rs.map((r) => r.bytes.toString());

/** Records that share identity and offset but not their bytes: one event.id for two lines. */
function ambiguous(rs: readonly RawRecord[]): string[] {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const r of rs) {
    const k = `${r.source.identity}@${r.source.offset}`;
    const b = r.bytes.toString();
    const had = seen.get(k);
    if (had !== undefined && had !== b) out.push(`${k}: ${had} / ${b}`);
    seen.set(k, b);
  }
  return out;
}

/**
 * The first run: app.log read to its 100th line, truncated (no copy: tampering), written again
 * from the same first lines, short at first and then past 256 bytes and past its first lines.
 * Returns every record, and those read after the truncation.
 */
async function rewrittenWithItsHead(dir: string, logs: string, live: string): Promise<{ all: RawRecord[]; after: RawRecord[]; alerts: string[] }> {
  writeFileSync(live, body(lines('a', 0, 100)));
  const c = new Collector();
  const h = harness(dir, logs, c, {}, { frozen: true });
  await h.src.start();
  let from = 0;
  try {
    await waitFor(() => c.records.length === 100, 'the log');
    from = c.records.length;
    truncateSync(live, 0);
    appendFileSync(live, body(lines('a', 0, 5))); // 150 bytes: a short file, read under a provisional identity
    h.advance(POLL + 1);
    await waitFor(() => c.records.length === from + 5, 'the new content, short');
    await h.graceRound();
    await h.graceRound(); // no copy: the truncation is alerted, its stream dropped
    appendFileSync(live, body(lines('a', 5, 5)) + body(lines('n', 0, 20))); // past 256 bytes: the old fingerprint
    h.advance(POLL + 1);
    await waitFor(() => c.has(lines('n', 19, 1)[0] as string), 'the rest of the new content');
  } finally {
    await h.src.stop();
  }
  return { all: c.records, after: c.records.slice(from), alerts: c.alerts.map((a) => `${a.kind} ${a.path}`) };
}

const NEW = [...lines('a', 0, 10), ...lines('n', 0, 20)];

test('a log written again with its old head, grown past its old offset while stopped: nothing lost, nothing read twice', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    const first = await rewrittenWithItsHead(dir, logs, live);
    assert.deepEqual(first.alerts, [`truncated ${live}`]);
    assert.deepEqual(text(first.after), NEW);
    appendFileSync(live, body(lines('m', 0, 80))); // 900 + 2400 bytes: past the 3000 read before the truncation
    const c = await runOnce(dir, logs, async (c) => {
      await waitFor(() => c.has(lines('m', 79, 1)[0] as string), 'the lines written while stopped', 5000);
    });
    assert.deepEqual({ read: text(c.records), alerts: c.alerts }, { read: lines('m', 0, 80), alerts: [] });
    assert.deepEqual(ambiguous([...first.all, ...c.records]), []);
  } finally {
    cleanup();
  }
});

test('a log written again with its old head, shorter than its old offset at the restart: no line read twice, no second alert', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    const first = await rewrittenWithItsHead(dir, logs, live);
    assert.deepEqual(first.alerts, [`truncated ${live}`]);
    appendFileSync(live, body(lines('m', 0, 3)));
    const c = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.has(lines('m', 2, 1)[0] as string), 'the lines written while stopped');
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual({ read: text(c.records), alerts: c.alerts }, { read: lines('m', 0, 3), alerts: [] });
    assert.deepEqual(ambiguous([...first.all, ...c.records]), []);
  } finally {
    cleanup();
  }
});

test('a log written again with its old head, stopped before a line past 256 bytes was complete: resumed where it was', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    writeFileSync(live, body(lines('a', 0, 100)));
    const first = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.records.length === 100, 'the log');
      truncateSync(live, 0);
      appendFileSync(live, body(lines('a', 0, 8))); // 240 bytes: still short
      h.advance(POLL + 1);
      await waitFor(() => c.records.length === 108, 'the new content, short');
      await h.graceRound();
      await h.graceRound(); // the truncation alerted, its stream dropped
      // Past 256 bytes with the old head, and no line complete: nothing emitted, no checkpoint advance.
      appendFileSync(live, 'a 0000008 the quick');
      h.advance(POLL + 1);
      await waitFor(() => c.counters.get('source_bytes_read') === 3000 + 240 + 19, 'the partial line read');
    });
    assert.deepEqual(first.alerts.map((a) => a.kind), ['truncated']);
    appendFileSync(live, ' brown fox\n' + body(lines('m', 0, 3)));
    const c = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.has(lines('m', 2, 1)[0] as string), 'the lines written while stopped');
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual({ read: text(c.records), alerts: c.alerts }, { read: [...lines('a', 8, 1), ...lines('m', 0, 3)], alerts: [] });
    assert.deepEqual(ambiguous([...first.records, ...c.records]), []);
  } finally {
    cleanup();
  }
});
