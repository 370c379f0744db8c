/**
 * The card rule's verdict, made cheaper without changing a result. On a line of many four-digit groups
 * ("1234 5678 9012 3456 7890 …") every group start is a match of the card rule that the verdict turns
 * down, and the verdict built strings for each (separators stripped, the groups split and joined again,
 * three slices for the issuer prefix): about half of such a line's time. It now reads the match in
 * place. The verdict and the card rule as they were are copied here (frozen), and the redactor is held
 * to them: per card-shaped number, and over whole random digit-run lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRedactor, createReferenceRedactor, panIssuerValid } from '../../src/sanitize/redact.js';
import { luhnValid } from './luhn.js';

// ---- the verdict and the card rule before the change (frozen copies) ----------------------------

function oldPanIssuerValid(d: string): boolean {
  const len = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  if (d[0] === '4') return len === 13 || len === 16 || len === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return len === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return len === 15; // Amex
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) return len >= 16; // Discover
  if (p4 >= 3528 && p4 <= 3589) return len >= 16; // JCB
  if (p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305)) return len >= 14; // Diners
  if (p2 === 62) return len >= 16; // UnionPay
  if ([5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763].includes(p4)) return len >= 12; // Maestro
  if (p4 >= 2200 && p4 <= 2204) return len === 16; // Mir
  return false;
}

function oldIsCardText(v: string): boolean {
  const d = v.replace(/[ .-]/g, '');
  if (oldPanIssuerValid(d) && luhnValid(d)) return true;
  const groups = v.split(/[ .-]/);
  if (groups.length !== 5) return false;
  const four = groups.slice(0, 4).join('');
  return oldPanIssuerValid(four) && luhnValid(four);
}

const CSI_PARAMS = String.raw`(?:\{U\+001B\}|\\u001b|\\x1b)\[[0-9;?]{0,40}`;
const LETTER_ENDS_ESCAPE = String.raw`(?<!${CSI_PARAMS}|\\(?=[bfnrt]))`;
const PAN_BOUNDARY = String.raw`(?<!${LETTER_ENDS_ESCAPE}[a-z]\d|[0-9_]\d|\d[.-]\d|(?<![.,]\d*|\d{12})\d,\d(?=\d{12})(?![\d .-]{12,22}[,\]]))`;
const PAN_REST = String.raw`(?:\d{12,18}|\d{3}(?<pan_a>[ .-])\d{4}\k<pan_a>\d{4}\k<pan_a>\d{4}(?:\k<pan_a>\d{1,3})?|\d{3}(?<pan_b>[ .-])\d{6}\k<pan_b>\d{4,5})`;
const PAN_END = String.raw`(?![a-z0-9_]|[.-]\d)`;
/** The card rule as it was, sticky: does a card-rule match start at lastIndex? */
const OLD_PAN = new RegExp(String.raw`\d${PAN_BOUNDARY}${PAN_REST}${PAN_END}`, 'iy');

/**
 * What the card family alone made of a line: the exec loop took the leftmost match, masked it when the
 * verdict said card, and otherwise went on one character after its start (a rejected card-rule match
 * is scanned again from there; its at most 23 characters are always within the free rescan).
 */
function oldCardsOnly(line: string): string {
  let out = '';
  let last = 0;
  for (let p = 0; p < line.length; ) {
    OLD_PAN.lastIndex = p;
    const m = OLD_PAN.exec(line);
    if (m !== null && oldIsCardText(m[0])) {
      out += `${line.slice(last, p)}[REDACTED:pan]`;
      p += m[0].length;
      last = p;
    } else {
      p++;
    }
  }
  return out + line.slice(last);
}

// ---- the redactor held to them --------------------------------------------------------------------

const CARDS = { builtin: ['pan' as const], custom: [] };
const fast = createRedactor(CARDS);
const reference = createReferenceRedactor(CARDS);

test('panIssuerValid gives what it gave, for every four-digit prefix and every length from 4 to 20', () => {
  for (let p4 = 0; p4 <= 9999; p4++) {
    const prefix = String(p4).padStart(4, '0');
    for (let len = 4; len <= 20; len++) {
      const d = prefix + '7'.repeat(len - 4);
      assert.equal(panIssuerValid(d), oldPanIssuerValid(d), d);
    }
  }
});

/** Digits whose first four are any prefix, mostly of a known issuer, and whose last makes Luhn pass half the time. */
const digitString = (len: number): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.oneof(
        fc.constantFrom('4', '51', '55', '2221', '2720', '34', '37', '6011', '65', '644', '3528', '36', '300', '62', '5018', '6763', '2200'),
        fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
      ),
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 19, maxLength: 19 }),
      fc.boolean(),
    )
    .map(([prefix, rest, fixLuhn]) => {
      const body = (prefix + rest.join('')).slice(0, len);
      if (!fixLuhn) return body;
      for (let c = 0; c <= 9; c++) {
        const d = body.slice(0, -1) + String(c);
        if (luhnValid(d)) return d;
      }
      return body;
    });

/** A number in one of the card rule's shapes: contiguous, 4-4-4-4 with an optional short fifth group, 4-6-4 or 4-6-5. */
const cardShaped: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 13, max: 19 }).chain(digitString),
  fc
    .tuple(digitString(16), fc.constantFrom(' ', '-', '.'), fc.oneof(fc.constant(''), fc.integer({ min: 0, max: 999 }).map(String)))
    .map(([d, sep, fifth]) => [d.slice(0, 4), d.slice(4, 8), d.slice(8, 12), d.slice(12, 16), ...(fifth === '' ? [] : [fifth])].join(sep)),
  fc.tuple(fc.constantFrom(14, 15), fc.constantFrom(' ', '-', '.')).chain(([len, sep]) => digitString(len).map((d) => [d.slice(0, 4), d.slice(4, 10), d.slice(10)].join(sep))),
);

test('property: a card-shaped number standing alone is masked exactly when the old verdict says card', () => {
  fc.assert(
    fc.property(cardShaped, (number) => {
      const line = `pay ${number} ok`;
      const want = oldIsCardText(number) ? 'pay [REDACTED:pan] ok' : line;
      assert.equal(fast.redact(line).text, want, line);
      assert.equal(reference.redact(line).text, want, line);
    }),
    { numRuns: 20_000 },
  );
});

const digits = (min: number, max: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((a) => a.join(''));

/** Random digit-run lines: groups, card-shaped numbers, separators, and what may stand before a card. */
const digitRunLine = fc
  .array(
    fc.oneof(
      { weight: 8, arbitrary: digits(1, 7) },
      { weight: 8, arbitrary: digits(4, 4) },
      { weight: 3, arbitrary: cardShaped },
      { weight: 10, arbitrary: fc.constantFrom(' ', ' ', '-', '.', ',', ':', '/', '\t') },
      { weight: 2, arbitrary: fc.constantFrom('x', '_', 'v', '{U+001B}[1m', '{U+001B}[2', ']', '\\t', '.5') },
    ),
    { minLength: 1, maxLength: 40 },
  )
  .map((pieces) => pieces.join(''));

test('property: on random digit-run lines the card family masks what it masked before, screened or not', () => {
  fc.assert(
    fc.property(digitRunLine, (line) => {
      const want = oldCardsOnly(line);
      assert.equal(fast.redact(line).text, want, JSON.stringify(line));
      assert.equal(reference.redact(line).text, want, JSON.stringify(line));
    }),
    { numRuns: 10_000 },
  );
});

test('long runs of four-digit groups (50, 500, 5000 groups) give what they gave', () => {
  let seed = 7;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (const n of [50, 500, 5000]) {
    for (const sep of [' ', '-', '.']) {
      const groups: string[] = [];
      for (let i = 0; i < n; i++) groups.push(String(next() % 10000).padStart(4, '0'));
      // Some cards among them, so the verdict says yes too (between spaces: a dash or dot after a digit
      // makes the run one dashed id or number, no card).
      for (let i = 7; i < n - 4; i += 97) groups.splice(i, 4, '4111', '1111', '1111', '1111');
      const line = groups.join(sep);
      const want = oldCardsOnly(line);
      assert.equal(fast.redact(line).text, want, `${n} groups, separator ${JSON.stringify(sep)}`);
      assert.equal(reference.redact(line).text, want, `${n} groups, separator ${JSON.stringify(sep)}`);
      if (sep === ' ') assert.ok(want.includes('[REDACTED:pan]'));
    }
  }
});
