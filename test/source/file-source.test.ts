import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSource } from '../../src/source/file-source.js';
import { Collector, lines, options, sleep, tempDir, waitFor } from './file-fixture.js';

function setup() {
  const t = tempDir();
  const logs = join(t.dir, 'logs');
  mkdirSync(logs);
  return { ...t, logs, live: join(logs, 'app.log') };
}

test('start_at end skips what existed on the first run, but files created later are read from 0', async () => {
  const { dir, cleanup, live, logs } = setup();
  try {
    writeFileSync(live, lines('old', 0, 10).join('\n') + '\n');
    const c = new Collector();
    const src = c.source(options(dir, { startAt: 'end' }));
    await src.start();
    await sleep(300);
    appendFileSync(live, 'appended after start\n');
    writeFileSync(join(logs, 'app.log.1'), 'a new file\n');
    await waitFor(() => c.records.length === 2, 'new lines');
    await sleep(300);
    await src.stop();
    assert.deepEqual(c.records.map((r) => r.bytes.toString()).sort(), ['a new file', 'appended after start']);
  } finally {
    cleanup();
  }
});

test('a file shorter than the fingerprint resumes after a restart without re-reading, then takes its fingerprint identity', async () => {
  const { dir, cleanup, live } = setup();
  try {
    writeFileSync(live, 'short one\nshort two\n');
    const c = new Collector();
    let src = c.source(options(dir));
    await src.start();
    await waitFor(() => c.records.length === 2, 'short lines');
    await src.stop();
    appendFileSync(live, lines('long', 0, 10).join('\n') + '\n');
    src = c.source(options(dir));
    await src.start();
    await waitFor(() => c.records.length === 12, 'the rest');
    await sleep(300);
    await src.stop();
    assert.deepEqual(c.duplicates(), []);
    const first = c.records[0]?.source.identity ?? '';
    const last = c.records[11]?.source.identity ?? '';
    assert.match(first, /^p/, 'provisional identity while short');
    assert.match(last, /^[0-9a-f]{32}$/, 'fingerprint once 256 bytes exist');
  } finally {
    cleanup();
  }
});

test('a partial last line waits partial_line_timeout, then is emitted; its rest becomes a separate record', async () => {
  const { dir, cleanup, live } = setup();
  try {
    writeFileSync(live, 'complete\nno newline yet');
    const c = new Collector();
    const src = c.source(options(dir, { partialLineTimeoutMs: 200 }));
    await src.start();
    await waitFor(() => c.records.length === 2, 'partial flushed');
    appendFileSync(live, ' and the rest\n');
    await waitFor(() => c.records.length === 3, 'rest');
    await src.stop();
    assert.deepEqual(
      c.records.map((r) => [r.bytes.toString(), r.source.offset, r.source.end]),
      [['complete', 0, 9], ['no newline yet', 9, 23], [' and the rest', 23, 37]],
    );
  } finally {
    cleanup();
  }
});

test('a deleted file held past deleted_file_max_hold is released and its unread bytes counted', async () => {
  const { dir, cleanup, live } = setup();
  try {
    const body = lines('m', 0, 3000).join('\n') + '\n';
    writeFileSync(live, body);
    const c = new Collector();
    let bytes = 0;
    const src = new FileSource(options(dir, { readChunkBytes: 4096, deletedFileMaxHoldMs: 200, rescanIntervalMs: 100 }), {
      emit: async (b) => {
        await sleep(30); // a slow downstream: draining takes longer than the hold
        for (const r of b) bytes += (r.source.end ?? 0) - (r.source.offset ?? 0);
        await c.emit(b);
      },
      alert: c.alert,
      counters: c.counters,
    });
    await src.start();
    await waitFor(() => c.records.length > 0, 'reading');
    unlinkSync(live);
    await waitFor(() => c.counters.get('bytes_unread_released') > 0, 'release');
    await sleep(200);
    await src.stop();
    assert.equal(bytes + c.counters.get('bytes_unread_released'), Buffer.byteLength(body), 'read + released unread = file size');
    assert.deepEqual(c.duplicates(), []);
  } finally {
    cleanup();
  }
});

test('emit not resolving stops reading: nothing is committed until downstream confirms', async () => {
  const { dir, cleanup, live } = setup();
  try {
    writeFileSync(live, lines('n', 0, 5000).join('\n') + '\n');
    const c = new Collector();
    let calls = 0;
    let free = false;
    let release: (() => void) | undefined;
    const src = new FileSource(options(dir, { readChunkBytes: 4096 }), {
      emit: (b) => {
        calls++;
        if (free) return c.emit(b);
        return new Promise<void>((r) => (release = () => void c.emit(b).then(r)));
      },
      alert: c.alert,
      counters: c.counters,
    });
    await src.start();
    await waitFor(() => release !== undefined, 'first emit');
    await sleep(300);
    assert.equal(calls, 1, 'no further read while the batch is not durable');
    assert.equal(src.checkpointer.get([...src.checkpointer.all()][0]?.[0] ?? '')?.offset, undefined);
    free = true;
    release?.();
    await waitFor(() => c.records.length === 5000, 'reading resumed to the end');
    await src.stop();
    assert.ok(calls > 1);
  } finally {
    cleanup();
  }
});
