/**
 * A credential value stops at the first space, and a card number written in
 * groups has spaces: "X-Api-Key: 4111 1111 1111 1111" used to come out as
 * "X-Api-Key: [REDACTED:api_key] 1111 1111 1111", twelve card digits in clear
 * (too few for the card rule once the first group is masked). A mask whose
 * value begins a card number now covers the whole number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRedactor, createReferenceRedactor, REDACT_KINDS } from '../../src/sanitize/redact.js';
import { luhnValid } from './luhn.js';

const ALL = { builtin: [...REDACT_KINDS], custom: [] };

test('a header value that begins a grouped card number masks the whole number', () => {
  const r = createRedactor(ALL);
  assert.deepEqual(r.redact('X-Api-Key: 4111 1111 1111 1111 tail'), { text: 'X-Api-Key: [REDACTED:api_key] tail', redactions: 1, kinds: ['api_key'] });
  assert.deepEqual(r.redact('password=4111 1111 1111 1111 ok'), { text: 'password=[REDACTED:password] ok', redactions: 1, kinds: ['password'] });
  assert.deepEqual(r.redact('X-Auth-Token: 3782 822463 10005, next'), { text: 'X-Auth-Token: [REDACTED:token], next', redactions: 1, kinds: ['token'] });
});

test('digits after a masked value that do not make a card are left as they are', () => {
  const r = createRedactor(ALL);
  // Luhn fails: not a card, so not the card rule's business either.
  assert.equal(r.redact('X-Api-Key: 4111 1111 1111 1112 tail').text, 'X-Api-Key: [REDACTED:api_key] 1111 1111 1112 tail');
  assert.equal(r.redact('X-Api-Key: k1 port 22 pid 4111').text, 'X-Api-Key: [REDACTED:api_key] port 22 pid 4111');
  assert.equal(r.redact('X-Api-Key: 1234 5678 rest').text, 'X-Api-Key: [REDACTED:api_key] 5678 rest');
});

test('with the card family off, the mask is the value alone', () => {
  const r = createRedactor({ builtin: ['credentials', 'api_keys', 'password'], custom: [] });
  assert.equal(r.redact('X-Api-Key: 4111 1111 1111 1111 tail').text, 'X-Api-Key: [REDACTED:api_key] 1111 1111 1111 tail');
});

/**
 * A random valid card number of the issuer ranges the card rule knows (Visa, Mastercard), written in groups of four
 * with one separator: space, dash or dot (a dotted card is still a card: PCI).
 */
const card = fc
  .tuple(fc.constantFrom('4', '51', '52', '53', '54', '55'), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 14, maxLength: 14 }), fc.constantFrom(' ', '-', '.'))
  .map(([prefix, rest, sep]) => {
    const body = (prefix + rest.join('')).slice(0, 15);
    for (let check = 0; check <= 9; check++) {
      const d = body + String(check);
      if (luhnValid(d)) return { digits: d, sep, text: d.match(/.{4}/g)!.join(sep) };
    }
    throw new Error('unreachable: one check digit always fits');
  });

test('property: after any credential key, no four-digit group of a grouped card survives', () => {
  const r = createRedactor(ALL);
  const reference = createReferenceRedactor(ALL);
  const keys = ['X-Api-Key: ', 'x-auth-token: ', 'password=', 'passwd: ', 'api_key=', 'token=', 'Private-Token: ', '--password '];
  fc.assert(
    fc.property(fc.constantFrom(...keys), card, fc.constantFrom('', ' tail', ', next', ' port 22', '"'), (key, c, tail) => {
      const line = `req ${key}${c.text}${tail}`;
      const out = r.redact(line);
      assert.deepEqual(out, reference.redact(line));
      for (const group of c.digits.match(/.{4}/g)!.slice(1)) {
        assert.ok(!out.text.includes(group) || tail.includes(group), `${JSON.stringify(line)} -> ${JSON.stringify(out.text)}`);
      }
      // What follows the card is kept (a word-shaped value, as after --password, runs to the next space).
      if (tail.startsWith(' ')) assert.ok(out.text.endsWith(tail), `${JSON.stringify(line)} -> ${JSON.stringify(out.text)}`);
    }),
    { numRuns: 3_000 },
  );
});

test('a grouped card followed by a short digit group (its CVV) is masked, the short group with it', () => {
  // The grouped form's optional fifth group takes the CVV, and 19 digits fail Luhn: this line used to pass in clear.
  const r = createRedactor(ALL);
  assert.deepEqual(r.redact('card 4111 1111 1111 1111 123 exp 12/27'), { text: 'card [REDACTED:pan] exp 12/27', redactions: 1, kinds: ['pan'] });
  assert.equal(r.redact('card 5500-0000-0000-0004-99').text, 'card [REDACTED:pan]');
  assert.equal(r.redact('X-Api-Key: 4111 1111 1111 1111 123').text, 'X-Api-Key: [REDACTED:api_key]');
  // Four groups that are no card, with a fifth: nothing to mask.
  assert.equal(r.redact('order 1234 5678 9012 3456 789').text, 'order 1234 5678 9012 3456 789');
  assert.equal(r.redact('card 4111 1111 1111 1112 123').text, 'card 4111 1111 1111 1112 123');
});

test('property: a grouped card followed by one to three digits never survives in part', () => {
  const r = createRedactor(ALL);
  fc.assert(
    fc.property(card, fc.integer({ min: 0, max: 999 }), (c, cvv) => {
      const out = r.redact(`paid with ${c.text}${c.sep}${cvv} today`).text;
      for (const group of c.digits.match(/.{4}/g)!) assert.ok(!out.includes(group), out);
      assert.ok(out.endsWith(' today'));
    }),
    { numRuns: 2_000 },
  );
});
