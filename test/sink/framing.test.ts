import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, FramingError, encodeFrame, encodeFrames, frameLength } from '../../src/sink/framing.js';

test('an octet-counted frame carries the byte length, not the UTF-16 length', () => {
  const msg = Buffer.from('<165>1 2024-05-20T10:13:20Z host1 app - - - \uFEFFCafé ✓', 'utf8');
  assert.equal(msg.length, 56);
  assert.equal(encodeFrame(msg).toString('utf8'), `56 ${msg.toString('utf8')}`);
  assert.equal(frameLength(56), 59);
});

test('an embedded LF stays inside one octet-counted frame (RFC 6587 example)', () => {
  const msg = Buffer.from('<134>1 2024-05-20T10:13:20.123Z web01 logagent 4242 - - line1\nline2');
  assert.equal(msg.length, 67);
  const frame = encodeFrame(msg);
  assert.ok(frame.subarray(0, 3).equals(Buffer.from('67 ')));
  assert.deepEqual(new FrameDecoder().push(frame), [msg]);
});

test('frames follow each other with no separator', () => {
  const out = encodeFrames([Buffer.from('a'), Buffer.from('bc'), Buffer.alloc(10, 0x78)]);
  assert.equal(out.toString(), '1 a2 bc10 xxxxxxxxxx');
});

test('the decoder returns every message byte-identical however the stream is chunked', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 30 }),
      (msgs, cuts) => {
        const payloads = msgs.map((m) => Buffer.from(m));
        const stream = encodeFrames(payloads);
        const dec = new FrameDecoder();
        const got: Buffer[] = [];
        let at = 0;
        let k = 0;
        while (at < stream.length) {
          const n = cuts[k++ % cuts.length] as number;
          got.push(...dec.push(stream.subarray(at, at + n)));
          at += n;
        }
        assert.deepEqual(got, payloads);
        assert.ok(dec.atBoundary);
      },
    ),
  );
});

test('LF-framed input is accepted and may be mixed with octet counting', () => {
  const dec = new FrameDecoder();
  const got = [
    ...dec.push(Buffer.from('<13>1 - - - - - first\n5 hello<13>1 - - - - - sec')),
    ...dec.push(Buffer.from('ond\n\n3 end')),
  ];
  assert.deepEqual(
    got.map((b) => b.toString()),
    ['<13>1 - - - - - first', 'hello', '<13>1 - - - - - second', 'end'],
  );
});

test('a malformed frame length is a FramingError; messages before it are kept, nothing after', () => {
  for (const bad of ['012 abc', '12x abc', '0 ', '9999999999 x']) {
    const dec = new FrameDecoder({ maxFrameBytes: 1 << 20 });
    assert.deepEqual(dec.push(Buffer.from(`2 ok${bad}`)).map(String), ['ok'], bad);
    assert.ok(dec.error instanceof FramingError, bad);
    assert.deepEqual(dec.push(Buffer.from('3 abc')), []);
  }
});

test('an LF-framed message over the size limit is refused instead of buffered forever', () => {
  const dec = new FrameDecoder({ maxFrameBytes: 100 });
  assert.deepEqual(dec.push(Buffer.alloc(101, 0x41)), []);
  assert.ok(dec.error instanceof FramingError);
});

test('messages do not alias the pushed chunk (a reused socket buffer cannot change them)', () => {
  const chunk = Buffer.from('3 abc');
  const [m] = new FrameDecoder().push(chunk);
  chunk.fill(0x7a);
  assert.equal(m?.toString(), 'abc');
});
