/** Legacy transports: octet-counted plain TCP and RFC 5426 UDP, only with allow_insecure. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import fc from 'fast-check';
import { FrameDecoder } from '../../src/sink/framing.js';
import { SyslogSink } from '../../src/sink/sink.js';
import { emojiFormAt } from '../../src/sanitize/neutralize.js';
import { UDP_MAX_IPV4, UDP_TRUNCATION_MARK, truncateUtf8 } from '../../src/sink/udp.js';
import { MemorySource } from './fake-source.js';
import { harness, sinkOptions, until } from './util.js';

test('tcp with allow_insecure: octet-counted frames, byte-identical, and an insecure_transport warning', async (t) => {
  const got: Buffer[] = [];
  const server = net.createServer((s) => {
    const dec = new FrameDecoder();
    s.on('data', (d) => got.push(...dec.push(d)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as net.AddressInfo).port;
  const sent = [Buffer.from('<134>1 - h a - - - one'), Buffer.from('<134>1 - h a - - - with\nLF'), Buffer.alloc(70_000, 0x62)];
  const src = new MemorySource();
  src.pushAll(sent);
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ protocol: 'tcp', allowInsecure: true, hosts: [`127.0.0.1:${port}`] }), src, h.deps);
  t.after(() => sink.stop(0));
  await sink.start();
  assert.deepEqual(h.events[0], { type: 'insecure_transport', protocol: 'tcp' });
  await until(() => got.length === 3, 'three frames');
  await sink.stop(0); // before the server's close, which waits for open connections
  assert.deepEqual(got, sent);
});

test('udp: one message per datagram, byte-identical; an oversized one is cut on a UTF-8 boundary, marked and counted', async (t) => {
  const got: Buffer[] = [];
  const rx = dgram.createSocket('udp4');
  rx.on('message', (m) => got.push(m));
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  t.after(() => rx.close());
  const port = rx.address().port;
  const small = [Buffer.from('<134>1 - h a - - - one ✓'), Buffer.from('<134>1 - h a - - - two')];
  const big = Buffer.from('<134>1 - h a - - - ' + '€'.repeat(30_000), 'utf8'); // 90 KB of 3-byte characters
  const src = new MemorySource();
  src.pushAll([...small, big]);
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ protocol: 'udp', allowInsecure: true, hosts: [`127.0.0.1:${port}`] }), src, h.deps);
  t.after(() => sink.stop(0));
  await sink.start();
  assert.deepEqual(h.events[0], { type: 'insecure_transport', protocol: 'udp' });
  await until(() => got.length === 3, 'three datagrams');
  assert.deepEqual(got.slice(0, 2), small);
  const cut = got[2] as Buffer;
  assert.ok(cut.length <= UDP_MAX_IPV4);
  assert.ok(cut.subarray(cut.length - UDP_TRUNCATION_MARK.length).equals(UDP_TRUNCATION_MARK));
  const body = cut.subarray(0, cut.length - UDP_TRUNCATION_MARK.length);
  assert.ok(big.subarray(0, body.length).equals(body), 'a prefix of the original');
  assert.equal(Buffer.from(body.toString('utf8'), 'utf8').length, body.length, 'no broken character');
  assert.equal(h.counters.get('udp_truncated'), 1);
  assert.equal(src.sent, 3n);
});

test('truncateUtf8 never splits a character and never exceeds the limit', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.integer({ min: 12, max: 400 }), (s, max) => {
      const b = Buffer.from(s, 'utf8');
      const out = truncateUtf8(b, max);
      if (b.length <= max) return assert.equal(out, b);
      assert.ok(out.length <= max);
      const body = out.subarray(0, out.length - UDP_TRUNCATION_MARK.length);
      assert.ok(b.subarray(0, body.length).equals(body));
      assert.equal(Buffer.from(body.toString('utf8'), 'utf8').length, body.length);
      // Cut at the last character boundary that leaves room for the mark, then without the
      // ZWJs and presentation selectors the cut parted from their emoji.
      let boundary = Math.max(0, max - UDP_TRUNCATION_MARK.length);
      while (boundary > 0 && ((b[boundary] as number) & 0xc0) === 0x80) boundary--;
      assert.match(b.subarray(body.length, boundary).toString('utf8'), /^[\u200d\ufe0e\ufe0f]*$/);
      const text = body.toString('utf8');
      assert.ok(!text.endsWith('\u200d'), 'no ZWJ before the mark');
      if (/[\ufe0e\ufe0f]$/.test(text)) assert.ok(emojiFormAt(text, text.length - 1), 'a selector before the mark belongs to its emoji');
    }),
  );
});

test('a datagram cut inside an emoji ZWJ sequence or keycap leaves no raw joiner before the mark', () => {
  const mark = UDP_TRUNCATION_MARK.toString();
  // Each line runs on past the limit; `max` puts the cut right after the joiner or selector.
  const cut = (s: string, max: number): string => truncateUtf8(Buffer.from(s + 'x'.repeat(40)), max).toString();
  // 'ab' + U+1F468 (4 bytes) + ZWJ (3) + U+1F469 (4): a cut after the ZWJ drops it.
  assert.equal(cut('ab\u{1F468}\u200D\u{1F469}', 9 + mark.length), `ab\u{1F468}${mark}`);
  // A keycap parted from its U+20E3: its U+FE0F goes too; a heart keeps its selector.
  assert.equal(cut('ab1\uFE0F\u20E3', 6 + mark.length), `ab1${mark}`);
  assert.equal(cut('ab\u2764\uFE0Fcdef', 8 + mark.length), `ab\u2764\uFE0F${mark}`);
});
