import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SEGMENT_HEADER, decodeFrameAt, encodeFrame, scanFrames } from '../../src/queue/frame.js';

const chain = Buffer.alloc(32, 7);

test('a frame round-trips id, payload, meta and chain', () => {
  const f = encodeFrame(42n, Buffer.from('héllo'), { input: 'nginx', identity: 'dev:ino', end: 1234, cursor: 's=1;i=2', internal: true }, chain);
  const d = decodeFrameAt(f, 0, true);
  assert.ok(d);
  assert.equal(d.id, 42n);
  assert.equal(d.payload.toString(), 'héllo');
  assert.deepEqual(d.meta, { input: 'nginx', identity: 'dev:ino', end: 1234, cursor: 's=1;i=2', internal: true });
  assert.deepEqual(d.chain, chain);
  assert.equal(d.size, f.length);
});

test('any single flipped byte makes the frame undecodable', () => {
  const f = encodeFrame(1n, Buffer.from('payload bytes'), { input: 'i', identity: 'x', end: 5 });
  for (let i = 0; i < f.length; i++) {
    const g = Buffer.from(f);
    g[i] = (g[i] ?? 0) ^ 0x10;
    assert.equal(decodeFrameAt(g, 0, false), null, `flip at ${i} accepted`);
  }
});

test('scan resyncs after a damaged frame and keeps every intact one', () => {
  const frames = [1n, 2n, 3n, 4n].map((id) => encodeFrame(id, Buffer.from(`record ${id}`), { input: 'i', identity: 'x' }));
  const buf = Buffer.concat([SEGMENT_HEADER, ...frames]);
  const at = SEGMENT_HEADER.length + (frames[0] as Buffer).length + 1; // inside frame 2's length field
  buf[at] = (buf[at] ?? 0) ^ 0xff;
  const s = scanFrames(buf, SEGMENT_HEADER.length, true, -1n, false);
  assert.deepEqual(s.frames.map((f) => f.id), [1n, 3n, 4n]);
  assert.equal(s.bad.length, 1);
  assert.equal((s.bad[0]?.to ?? 0) - (s.bad[0]?.from ?? 0), (frames[1] as Buffer).length);
});

test('a cut frame at the end is incomplete without final and a bad tail with final', () => {
  const f1 = encodeFrame(1n, Buffer.from('a'), { input: 'i', identity: 'x' });
  const f2 = encodeFrame(2n, Buffer.from('b'.repeat(50)), { input: 'i', identity: 'x' });
  const buf = Buffer.concat([f1, f2.subarray(0, 20)]);
  const open = scanFrames(buf, 0, false, -1n, false);
  assert.equal(open.incomplete, true);
  assert.equal(open.consumed, f1.length);
  const fin = scanFrames(buf, 0, true, -1n, false);
  assert.deepEqual(fin.bad, [{ from: f1.length, to: buf.length }]);
});

test('an id that does not increase is treated as damage', () => {
  const buf = Buffer.concat([5n, 6n, 6n, 7n].map((id) => encodeFrame(id, Buffer.from('p'), { input: 'i', identity: 'x' })));
  const s = scanFrames(buf, 0, true, -1n, false);
  assert.deepEqual(s.frames.map((f) => f.id), [5n, 6n, 7n]);
  assert.equal(s.bad.length, 1);
});

test('ids are laid out as u64 little-endian at every magnitude (the Number fast path and BigInt beyond 2^53)', () => {
  const ids = [0n, 1n, 255n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 32n + 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n + 12345n, 2n ** 64n - 1n];
  for (const id of ids) {
    const f = encodeFrame(id, Buffer.from('p'), { input: 'i', identity: 'x' }, chain);
    // The id field follows the 8-byte frame head, the version and the flags.
    assert.equal(f.readBigUInt64LE(8 + 2), id, `id ${id} written`);
    assert.equal(decodeFrameAt(f, 0, false)?.id, id, `id ${id} decoded`);
  }
  assert.throws(() => encodeFrame(-1n, Buffer.from('p'), { input: 'i', identity: 'x' }), RangeError);
  assert.throws(() => encodeFrame(2n ** 64n, Buffer.from('p'), { input: 'i', identity: 'x' }), RangeError);
});

test('meta strings are framed right when inputs and identities alternate (their bytes are remembered per string)', () => {
  const metas = [
    { input: 'nginx', identity: 'dev:1:ino:2' },
    { input: 'auth', identity: 'dev:1:ino:2' },
    { input: 'auth', identity: 'journal:ä∂€' },
    { input: 'nginx', identity: 'dev:1:ino:2', end: 77 },
    { input: 'nginx', identity: 'x', cursor: 'c=1' },
  ];
  for (let round = 0; round < 3; round++) {
    for (const [k, meta] of metas.entries()) {
      const d = decodeFrameAt(encodeFrame(BigInt(k + 1), Buffer.from(`payload ${k}`), meta, chain), 0, true);
      assert.ok(d);
      assert.deepEqual(d.meta, meta);
      assert.equal(d.payload.toString(), `payload ${k}`);
    }
  }
});
