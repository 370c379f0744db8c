/** The sender's read path (ids and payloads only) accepts and refuses exactly what the full decode does. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SEGMENT_HEADER, decodeFrameAt, decodePayloadAt, encodeFrame, scanFrames, scanPayloads } from '../../src/queue/frame.js';
import { makeQueue, tempDir } from './helpers.js';

const chain = Buffer.alloc(32, 7);

test('decodePayloadAt gives the id, payload and size decodeFrameAt gives, for every kind of frame', () => {
  const metas = [
    { input: 'i', identity: 'x' },
    { input: 'nginx', identity: 'dev:ino', end: 1234, cursor: 's=1;i=2', internal: true },
    { input: 'ü', identity: 'j', cursor: '' },
  ];
  for (const meta of metas) {
    for (const c of [undefined, chain]) {
      const f = encodeFrame(9n, Buffer.from('héllo payload'), meta, c);
      const full = decodeFrameAt(f, 0, false);
      const lite = decodePayloadAt(f, 0);
      assert.ok(full && lite);
      assert.equal(lite.id, full.id);
      assert.ok(lite.payload.equals(full.payload));
      assert.equal(lite.size, full.size);
      assert.equal(lite.offset, 0);
    }
  }
});

test('any single flipped byte makes the frame unreadable for the sender too', () => {
  const f = encodeFrame(1n, Buffer.from('payload bytes'), { input: 'i', identity: 'x', end: 5, cursor: 'c' }, chain);
  for (let i = 0; i < f.length; i++) {
    const g = Buffer.from(f);
    g[i] = (g[i] ?? 0) ^ 0x10;
    assert.equal(decodePayloadAt(g, 0), null, `flip at ${i} accepted`);
  }
});

test('scanPayloads resyncs after damage exactly like scanFrames', () => {
  const frames = [1n, 2n, 3n, 4n].map((id) => encodeFrame(id, Buffer.from(`record ${id}`), { input: 'i', identity: 'x' }, chain));
  const buf = Buffer.concat([SEGMENT_HEADER, ...frames]);
  const at = SEGMENT_HEADER.length + (frames[0] as Buffer).length + 1;
  buf[at] = (buf[at] ?? 0) ^ 0xff;
  const full = scanFrames(buf, SEGMENT_HEADER.length, true, -1n, false);
  const lite = scanPayloads(buf, SEGMENT_HEADER.length, true, -1n);
  assert.deepEqual(lite.frames.map((f) => f.id), full.frames.map((f) => f.id));
  assert.deepEqual(lite.bad, full.bad);
  assert.equal(lite.consumed, full.consumed);
});

test('readPayloads returns the ids and payloads readFrom returns', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const h = makeQueue(dir, { segmentBytes: 4096 });
    await h.q.open();
    for (let i = 0; i < 40; i++) await h.q.append([{ payload: Buffer.from(`record ${i} `.padEnd(100 + i, 'x')), meta: { input: 'in', identity: 'f', end: i } }]);
    for (const [from, max] of [
      [0n, 1],
      [0n, 1000],
      [7n, 3000],
      [39n, 10_000],
      [40n, 10_000],
    ] as const) {
      const full = await h.q.readFrom(from, max);
      const lite = await h.q.readPayloads(from, max);
      assert.deepEqual(
        lite.map((r) => [r.id, r.payload.toString()]),
        full.map((r) => [r.id, r.payload.toString()]),
      );
    }
    await h.q.close();
  } finally {
    cleanup();
  }
});
