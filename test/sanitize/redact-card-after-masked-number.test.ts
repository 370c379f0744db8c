/**
 * A card right after a number that is masked, with only ".", "-" or "," between them, was masked only by
 * a second pass: "123-45-6789.4111-1111-1111-1111[REDACTED:ssn]" came out as "[REDACTED:ssn].4111-1111-
 * 1111-1111[REDACTED:ssn]", and redacted again as "[REDACTED:ssn].[REDACTED:pan][REDACTED:ssn]". The
 * literal mask after the card plays no part: the card rule's boundary reads the text before a card, and a
 * digit then "." or "-" there is a decimal or a dotted or dashed id ("6789.4111…"), a digit then "," a
 * decimal comma ("1111,4111…"). Masked, that digit is a "]", and the card stands alone. Redaction must be
 * stable (RecordProcessor redacts a re-serialised JSON line again, and a second pass that finds anything
 * replaces event.original), so the first pass now reads the card as the second would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fast, red } from './both-redactors.js';

const CARD = '4111-1111-1111-1111';
// A credential whose value ends in a digit before ".": the Basic rule's value stops at ".".
const BASIC = 'Authorization: Basic dXNlcjpwYXNzd29yZDk9';

test('a card after a masked number and ".", "-" or "," is masked by the first pass', () => {
  const cases: [string, string][] = [
    [`123-45-6789.${CARD}[REDACTED:ssn]`, '[REDACTED:ssn].[REDACTED:pan][REDACTED:ssn]'],
    [`applicant 123-45-6789.${CARD} ok`, 'applicant [REDACTED:ssn].[REDACTED:pan] ok'],
    ['cards 4111 1111 1111 1111,4111111111111111 ok', 'cards [REDACTED:pan],[REDACTED:pan] ok'],
    ['session={U+0009}5555 5555 5555 4444 123,4111111111111111', 'session={U+0009}[REDACTED:pan],[REDACTED:pan]'],
    [`${BASIC}.5555 5555 5555 4444 123 x`, 'Authorization: Basic [REDACTED:basic_auth].[REDACTED:pan] x'],
    [`${BASIC}-4111 1111 1111 1111`, 'Authorization: Basic [REDACTED:basic_auth]-[REDACTED:pan]'],
  ];
  for (const [line, want] of cases) {
    const once = red(line);
    assert.equal(once, want, line);
    assert.deepEqual(fast.redact(once), { text: once, redactions: 0 }, `second pass over ${once}`);
  }
});

test('after an unmasked number the same text stays as it was: a decimal, a dotted or dashed id', () => {
  for (const line of [
    `build 1.2.3-45-6789.${CARD} and order 666-12-3456.${CARD}`,
    `ratio 0.${CARD.replaceAll('-', '')} and 12-${CARD.replaceAll('-', '')}`,
    'Wert=0,4532015112830366 ok',
  ]) {
    assert.equal(red(line), line, line);
  }
});

test('property: redacting twice gives what redacting once gives, around masked numbers', () => {
  const pieces = [
    '123-45-6789', '4111 1111 1111 1111', '4111-1111-1111-1111', '4111.1111.1111.1111', '4111111111111111', '5555 5555 5555 4444 123',
    '.', '-', ',', ' ', ':', '"', '[REDACTED:ssn]', '[REDACTED:pan]', 'ab', '9', BASIC, 'session=', 'cvv=', 'token=', 'x ',
  ];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 7 }), (a) => {
      const once = red(a.join(''));
      assert.equal(fast.redact(once).text, once);
    }),
    { numRuns: 3_000 },
  );
});
