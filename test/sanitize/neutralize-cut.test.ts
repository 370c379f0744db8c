/**
 * cutLength: where a source cuts an over-long line of raw bytes (src/source/reader.ts).
 * The reader keeps only max + CUT_LOOKAHEAD bytes of such a line, so the cut must
 * not depend on anything further; and it must never lose more than a split
 * character and the joiners the cut parted from their emoji.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { test } from 'node:test';

import fc from 'fast-check';

import { CUT_LOOKAHEAD, cutLength, neutralizeBytes } from '../../src/sanitize/neutralize.js';

const piece = fc.oneof(
  fc.constantFrom('a', '1', '#', '\u00e9', '\u20ac', '\u2764', '\u263A', '\uFE0F', '\uFE0E', '\u20E3', '\u200D', '\u{1F469}', '\u{1F4BB}', '\u{1F3FD}', '\u{1F3F3}', '\u{1F308}').map((s) => Buffer.from(s)),
  fc.constantFrom(0x80, 0xbf, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xff).map((b) => Buffer.from([b])),
);

test('property: the cut reads nothing past max + CUT_LOOKAHEAD, backs off boundedly, and invents no token', () => {
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 20 }), fc.integer({ min: 0, max: 40 }), (pieces, max) => {
      const bytes = Buffer.concat(pieces);
      const cut = cutLength(bytes, max);
      assert.equal(cut, cutLength(bytes.subarray(0, max + CUT_LOOKAHEAD), max));
      if (bytes.length <= max) return assert.equal(cut, bytes.length);
      assert.ok(cut <= max && cut >= max - 3 - 6, `${cut} of ${max}`);
      // A well-formed line stays well-formed: no {0x..} of the cut's making.
      if (isUtf8(bytes)) assert.ok(!neutralizeBytes(bytes.subarray(0, cut)).text.includes('{0x'));
    }),
    { numRuns: 5000 },
  );
});

test('the cut backs off only over a well-formed sequence that crosses the limit', () => {
  assert.equal(cutLength(Buffer.from('ab\u20ac'), 3), 2); // E2 82 AC cut after E2
  assert.equal(cutLength(Buffer.from([0x61, 0x62, 0xe2, 0x28, 0x29]), 3), 3); // E2 not followed by a continuation: no sequence
  assert.equal(cutLength(Buffer.from([0x61, 0x80, 0x80, 0x80, 0x80]), 3), 3); // strays: cut where they are
  assert.equal(cutLength(Buffer.from([0x61, 0xed, 0xa0, 0x80]), 3), 3); // an encoded surrogate is no UTF-8
  assert.equal(cutLength(Buffer.from('\u{1F469}\u200D\u{1F4BB}'), 7), 4); // after the ZWJ: dropped
  assert.equal(cutLength(Buffer.from('\u{1F469}\u200Da'), 7), 7); // a ZWJ no emoji licensed stays, for the neutralizer
});

test('a kept emoji form already complete before the cut is not dropped', () => {
  // Only a joiner or selector the cut parts from its emoji goes; one whose emoji is whole stays.
  assert.equal(cutLength(Buffer.from('a\u2764\uFE0F bcdefg'), 7), 7);
  assert.equal(cutLength(Buffer.from('a\u{1F3F3}\uFE0F\u200D\u{1F308}bbbb'), 8), 8);
});
