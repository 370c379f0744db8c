/**
 * cutLength's emoji back-off (src/sanitize/neutralize.ts) drops a U+200D, U+FE0E or U+FE0F at the cut
 * that was part of an emoji form in the uncut line and is not in the cut one. It was a loop of two
 * steps, but no input reaches a second drop: after the first, the character before the new cut is
 * judged on a text whose next character is the one just dropped (a joiner or a selector), and
 *   - a joiner before it belongs to an emoji only when a pictograph follows it: none does;
 *   - a selector's verdict depends on what precedes it, the same in both texts, or (keycap) on a
 *     U+20E3 after it: none follows.
 * So the back-off is one step (it was a loop of two whose second step never ran): this test holds
 * it to the old loop over every sequence of up to four pieces of emoji material and stray bytes,
 * at every limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CUT_LOOKAHEAD, cutLength, emojiFormAt } from '../../src/sanitize/neutralize.js';

const PIECES: readonly Buffer[] = [
  ...['a', '1', '#', '\u00e9', '\u2764', '\u2640', '\uFE0F', '\uFE0E', '\u20E3', '\u200D', '\u{1F469}', '\u{1F3FD}', '\u{1F3F3}', '\u{1F308}'].map((s) => Buffer.from(s)),
  ...[0xe2, 0x80, 0xef, 0xf0].map((b) => Buffer.from([b])),
];

/** The back-off as it was: a loop of up to two drops after the UTF-8 back-off (the model the one step is held to). */
function twoStepCut(bytes: Buffer, max: number): number {
  if (bytes.length <= max) return bytes.length;
  let cut = max;
  let lead = max;
  while (lead > 0 && lead > max - 3 && ((bytes[lead] ?? 0) & 0xc0) === 0x80) lead--;
  if (lead < max && lead + utf8Length(bytes[lead] ?? 0) > max && wellFormedAt(bytes, lead)) cut = lead;
  const end = Math.min(bytes.length, max + CUT_LOOKAHEAD);
  for (let k = 0; k < 2 && cut >= 3; k++) {
    const last = bytes.readUIntBE(cut - 3, 3);
    if (last !== 0xe2808d && last !== 0xefb88e && last !== 0xefb88f) break;
    const head = bytes.toString('utf8', Math.max(0, cut - 32), cut);
    const whole = head + bytes.toString('utf8', cut, end);
    const i = head.length - 1;
    if (!emojiFormAt(whole, i) || emojiFormAt(head, i)) break;
    cut -= 3;
  }
  return cut;
}

function utf8Length(b: number): number {
  return b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 1;
}

/** A whole well-formed sequence at i (as the decoder would read it), by decoding it alone. */
function wellFormedAt(bytes: Buffer, i: number): boolean {
  const n = utf8Length(bytes[i] ?? 0);
  if (n === 1 || i + n > bytes.length) return false;
  const s = bytes.toString('utf8', i, i + n);
  return s.length >= 1 && !s.includes('\uFFFD');
}

test('a cut drops at most one joiner or selector after the UTF-8 back-off: the one step cuts as the old loop of two, everywhere', () => {
  const parts: Buffer[] = [];
  let checked = 0;
  let dropped = 0;
  const visit = (depth: number): void => {
    if (parts.length > 0) {
      const bytes = Buffer.concat(parts);
      for (let max = 0; max < bytes.length; max++) {
        const cut = cutLength(bytes, max);
        assert.equal(cut, twoStepCut(bytes, max), `${bytes.toString('hex')} at ${max}`);
        if (cut < max - 3) dropped++;
        checked++;
      }
    }
    if (depth === 0) return;
    for (const p of PIECES) {
      parts.push(p);
      visit(depth - 1);
      parts.pop();
    }
  };
  visit(4);
  assert.ok(checked > 100_000);
  assert.ok(dropped > 0, 'some cuts did drop a joiner or selector');
  // The cases that do drop one, for the record: a joiner parted from its pictograph, a keycap's selector.
  assert.equal(cutLength(Buffer.from('\u{1F469}\u200D\u{1F4BB}'), 7), 4);
  assert.equal(cutLength(Buffer.from('1\uFE0F\u20E3'), 4), 1);
  // The flag keeps its selector when its joiner goes.
  assert.equal(cutLength(Buffer.from('\u{1F3F3}\uFE0F\u200D\u{1F308}'), 10), 7);
});
