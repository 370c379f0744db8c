/**
 * neutralizeBytes proves a line plain (printable ASCII, no token-like "{")
 * with isAscii and one regex test over its latin1 decoding. For every well-formed UTF-8
 * buffer, that shortcut must give exactly what neutralizing the decoded text
 * gives: the fast path decides speed, never the result.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { test } from 'node:test';
import fc from 'fast-check';
import { neutralizeBytes, neutralizeMultiline, neutralizeText } from '../../src/sanitize/neutralize.js';

const PIECES = ['a', 'Z', ' ', '~', '{', '}', '{U+', '{0x', '{U', '{0', 'U+', '0x', '\n', '\r', '\t', '\x00', '\x1b', '\x7f', '\u0085',
  '\u00a0', 'é', '\u200b', '\u2028', '\u202e', '\ufeff', '\u{1F600}', '\u{E0041}', '{U+000A}', '\u2764', '\uFE0F', '\u200d', '1\uFE0F\u20E3'];

test('property: the plain-ASCII shortcut agrees with neutralizing the decoded text', () => {
  const line = fc.array(fc.constantFrom(...PIECES), { maxLength: 24 }).map((a) => Buffer.from(a.join('')));
  fc.assert(
    fc.property(line, (bytes) => {
      assert.ok(isUtf8(bytes));
      const text = bytes.toString('utf8');
      assert.deepEqual(neutralizeBytes(bytes), neutralizeText(text));
      assert.deepEqual(neutralizeMultiline(bytes), neutralizeText(text, { allowLf: true }));
    }),
    { numRuns: 10_000 },
  );
});

test('every byte value alone and next to "{" takes the right path', () => {
  for (let b = 0; b < 256; b++) {
    for (const bytes of [Buffer.from([b]), Buffer.from([0x7b, b, 0x2b]), Buffer.from([0x61, b, 0x62])]) {
      const plain = bytes.every((x) => x >= 0x20 && x <= 0x7e) && !/\{(?:U\+|0x)/.test(bytes.toString('latin1'));
      const r = neutralizeBytes(bytes);
      if (plain) assert.deepEqual(r, { text: bytes.toString('latin1'), changed: false });
      else if (isUtf8(bytes)) assert.deepEqual(r, neutralizeText(bytes.toString('utf8')));
      else assert.equal(r.changed, true);
    }
  }
});
