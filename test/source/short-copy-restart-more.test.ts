/**
 * A copytruncate copy shorter than what was read of its log (made while the log was short, more
 * read before the truncation) takes the stream over; its checkpoint entry now names the copy and
 * records the copy's own first bytes (copyHeadLen, copyHeadHash), so that the next start resumes it
 * instead of reading it again from 0. Here: the stream's identity a fingerprint by then (the log
 * grew past 256 bytes after the copy), a kill -9 instead of a stop, and a registry written by the
 * previous version (no copyHead*), which still loads and behaves as it did.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointEntry } from '../../src/source/checkpoint.js';
import { body, harness, runOnce, setup, type Harness } from './copy-fixture.js';
import { Collector, lines, waitFor } from './file-fixture.js';

const runThawed = (dir: string, logs: string, during: (c: Collector, h: Harness) => Promise<void>): Promise<Collector> => runOnce(dir, logs, during, false);

const registry = (dir: string): { entries: Record<string, CheckpointEntry> } =>
  JSON.parse(readFileSync(join(dir, 'state', 'checkpoints', 'test.json'), 'utf8')) as { entries: Record<string, CheckpointEntry> };

/** The live file read, copied while short, grown past a fingerprint, then truncated: the copy adopts the stream. */
async function shortCopyAdopted(c: Collector, live: string, logs: string): Promise<void> {
  await waitFor(() => c.records.length === 2, 'the live file');
  copyFileSync(live, join(logs, 'app.log.1'));
  await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
  appendFileSync(live, body(lines('b', 0, 8))); // past 256 bytes: the identity becomes the fingerprint
  await waitFor(() => c.records.length === 10, 'the lines after the copy');
  truncateSync(live, 0);
  await waitFor(() => c.counters.get('source_copies_adopted') >= 1, 'the copy adopted');
}

test('a copy shorter than a fingerprint, adopted by a stream known by its fingerprint, is not read again after a restart', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    writeFileSync(live, body(lines('a', 0, 2)));
    const first = await runThawed(dir, logs, async (c, h) => {
      await shortCopyAdopted(c, live, logs);
      appendFileSync(live, body(lines('c', 0, 3))); // the writer goes on in the truncated log
      await waitFor(() => c.records.length === 13, 'the new lines');
      await h.graceRound();
    });
    assert.deepEqual(first.alerts, []);
    assert.deepEqual(first.duplicates(), []);
    const copy = Object.values(registry(dir).entries).find((e) => e.path === join(logs, 'app.log.1'));
    assert.equal(copy?.offset, body(lines('a', 0, 2)).length + body(lines('b', 0, 8)).length, 'the entry names the copy, at the offset read from the original');
    assert.equal(typeof copy?.copyHeadHash, 'string');
    const c = await runThawed(dir, logs, async (_c, h) => {
      appendFileSync(live, body(lines('d', 0, 2)));
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual({ read: c.records.map((r) => r.bytes.toString()), alerts: c.alerts }, { read: lines('d', 0, 2), alerts: [] });
  } finally {
    cleanup();
  }
});

test('a short copy adopted before a kill -9 is not read again at the next start', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    writeFileSync(live, body(lines('a', 0, 2)));
    const c1 = new Collector();
    const h1 = harness(dir, logs, c1, {}, { frozen: false });
    await h1.src.start();
    try {
      await shortCopyAdopted(c1, live, logs);
      // The periodic write (checkpointFlushMs) after the adoption, then the kill.
      await waitFor(() => Object.values(registry(dir).entries).some((e) => e.copyHeadLen !== undefined), 'the registry written');
    } finally {
      await h1.src.abort();
    }
    const c = await runThawed(dir, logs, async (_c, h) => {
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual({ read: c.records.map((r) => r.bytes.toString()), alerts: c.alerts }, { read: [], alerts: [] });
  } finally {
    cleanup();
  }
});

test("a registry written by the previous version (no copy heads) still loads and resumes its entries", async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    writeFileSync(live, body(lines('a', 0, 10)));
    await runThawed(dir, logs, async (c) => {
      await waitFor(() => c.records.length === 10, 'the live file');
    });
    // What the previous version wrote: the same version, without the fields added since.
    const file = join(dir, 'state', 'checkpoints', 'test.json');
    const reg = JSON.parse(readFileSync(file, 'utf8')) as { version: number; entries: Record<string, Record<string, unknown>> };
    assert.equal(reg.version, 1);
    for (const e of Object.values(reg.entries)) {
      delete e.copyHeadLen;
      delete e.copyHeadHash;
    }
    writeFileSync(file, JSON.stringify(reg));
    appendFileSync(live, body(lines('b', 0, 2)));
    const c = await runThawed(dir, logs, async (c) => {
      await waitFor(() => c.records.length === 2, 'the new lines');
    });
    assert.deepEqual(c.records.map((r) => r.bytes.toString()), lines('b', 0, 2));
  } finally {
    cleanup();
  }
});
