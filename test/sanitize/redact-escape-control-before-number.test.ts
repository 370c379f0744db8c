/**
 * A card or an SSN right after an escaped control character shipped. DIGIT_NOT_ESCAPE took only an
 * escape whose first hex digit is "2" (%22, %20, \x22) as no digit of the number after it, so after
 * %09 (a TAB in a query string), %00-%19, nginx's \x09 or a JSON \u0019 the escape's last digit read
 * as the number's first: "q=%094111…" was the 17-digit number "94111…", no card, and
 * "ssn%3D%09123-45-6789" was "9123-45-6789", no SSN. The pre-screen missed the card too: the digit run
 * "094111…" starts with "0", which starts no card candidate. Escapes ending in a letter (%0A, %1B,
 * \x1f) were masked already (LETTER_ENDS_ESCAPE) and stay so; a JSON \u001f or \u000b was not (only
 * %XX and \xXX were known). %30-%39 encode digits: the number goes on through them, as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fast, red } from './both-redactors.js';

test('a card or an SSN after an escaped control character that ends in a digit, or a JSON \\u00XX one, is masked', () => {
  const cases: [string, string][] = [
    // URL-encoded TAB and other controls in a query string or a form body.
    ['GET /s?q=%094111111111111111 HTTP/1.1', 'GET /s?q=%09[REDACTED:pan] HTTP/1.1'],
    ['data=ssn%3D%09123-45-6789%26x%3D1', 'data=ssn%3D%09[REDACTED:ssn]%26x%3D1'],
    ['q=%0D%094111 1111 1111 1111', 'q=%0D%09[REDACTED:pan]'],
    ['q=%194111-1111-1111-1111&n=1', 'q=%19[REDACTED:pan]&n=1'],
    ['q=%00078-05-1120', 'q=%00[REDACTED:ssn]'],
    ['q=%10219-09-9999', 'q=%10[REDACTED:ssn]'],
    // nginx's escape of a TAB in a logged request body, in either case.
    ['"{\\x22pan\\x22:\\x22\\x094111111111111111\\x22}"', '"{\\x22pan\\x22:\\x22\\x09[REDACTED:pan]\\x22}"'],
    ['body=\\X09123-45-6789', 'body=\\X09[REDACTED:ssn]'],
    // A JSON \u escape of a control character (encoders other than JSON.stringify write \u0009 too).
    ['{"msg":"card\\u00094111111111111111"}', '{"msg":"card\\u0009[REDACTED:pan]"}'],
    ['{"msg":"ssn\\u0019123-45-6789"}', '{"msg":"ssn\\u0019[REDACTED:ssn]"}'],
    // A JSON \u escape that ends in a letter: LETTER_ENDS_ESCAPE knew %XX and \xXX only.
    ['{"m":"\\u001f123-45-6789"}', '{"m":"\\u001f[REDACTED:ssn]"}'],
    ['{"m":"\\u000b4111111111111111"}', '{"m":"\\u000b[REDACTED:pan]"}'],
    // Dotted groups: the pre-screen's run holds the escape's digits in its first group ("094111",
    // "00194111"), and a dot must not end it there (found by the pre-screen property test).
    ['q=%094111.1111.1111.1111&n=1', 'q=%09[REDACTED:pan]&n=1'],
    ['{"m":"\\u00194111.1111.1111.1111"}', '{"m":"\\u0019[REDACTED:pan]"}'],
    ['{"m":"\\u00093782.822463.10005"}', '{"m":"\\u0009[REDACTED:pan]"}'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('escapes that end in a letter were masked before and still are (the issue example q=%0A…)', () => {
  const cases: [string, string][] = [
    ['q=%0A4111111111111111', 'q=%0A[REDACTED:pan]'],
    ['q=%0d%0a123-45-6789', 'q=%0d%0a[REDACTED:ssn]'],
    ['body=\\x1f4111111111111111', 'body=\\x1f[REDACTED:pan]'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('numbers after other escapes, or that are no card or SSN, stay as they were', () => {
  for (const line of [
    // %30-%39 encode digits: "%34111…" is the number "4111…" spelled with its first digit escaped, and
    // "%314111…" reads "14111…", a 17-digit number; neither stands after a separator.
    'a=%314111111111111111 b=%35123-45-6789',
    // After a control escape: no Luhn, no issuer, too short, a longer number, never-issued SSNs.
    'q=%094111111111111112 q=%097111111111111111 q=%09411111111111 q=%0941111111111111111111',
    'q=%09666-12-3456 q=%09123-00-4567 q=%09123-45-67890 q=%09123-45-6789-1',
    // A percent sign then a number (no escape of a control character ahead of a card).
    'cpu=99%1732269600123 mem=12%0 disk 100%',
    // \x and \u escapes of letters and digits ("A", "1") before numbers: one word or number with them.
    '\\x41123-45-6789 \\u0041123-45-6789 \\x314111111111111111',
    // Escapes inside an order id stay inside it.
    'ref=ORD%09-123-45-6789',
  ]) {
    assert.equal(red(line), line, line);
  }
});

/** A Luhn-valid Visa number. */
const visa = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 14, maxLength: 14 }).map((ds) => {
  const body = `4${ds.join('')}`;
  for (let c = 0; c <= 9; c++) {
    const d = body + String(c);
    let sum = 0;
    for (let i = 0; i < d.length; i++) {
      let x = Number(d[d.length - 1 - i]);
      if (i % 2 === 1) x = x * 2 > 9 ? x * 2 - 9 : x * 2;
      sum += x;
    }
    if (sum % 10 === 0) return d;
  }
  throw new Error('unreachable');
});
/** Any escape of a control character U+0000-U+001F, as a URL, nginx or a JSON encoder writes it. */
const controlEscape = fc
  .tuple(fc.integer({ min: 0, max: 31 }), fc.constantFrom('%', '\\x', '\\X', '\\u00'), fc.boolean())
  .map(([cp, lead, upper]) => {
    const hex = cp.toString(16).padStart(2, '0');
    return lead + (upper ? hex.toUpperCase() : hex);
  });

test('property: after any escaped control character a card or an SSN never ships, on the fast and the reference path', () => {
  fc.assert(
    fc.property(controlEscape, visa, fc.constantFrom('', ' ', '-', '.'), fc.constantFrom('q=', 'data=card%3D', '{"m":"', 'x '), fc.constantFrom('', '&n=1', '"}', ' ok'), (esc, digits, sep, head, tail) => {
      const ssn = '219-09-9999';
      const pan = (digits.match(/\d{4}/g) ?? []).join(sep);
      for (const secret of [pan, ssn]) {
        const out = red(`${head}${esc}${secret}${tail}`);
        assert.ok(!out.includes(secret), out);
        assert.ok(out.includes(`${esc}[REDACTED:`), out);
      }
    }),
    { numRuns: 2_000 },
  );
});

test('a card or an SSN masked after a control escape has nothing left to redact on a second pass', () => {
  for (const line of ['GET /s?q=%094111111111111111 HTTP/1.1', 'data=ssn%3D%09123-45-6789%26x%3D1', '{"msg":"card\\u00094111111111111111"}', 'body=\\x09123-45-6789']) {
    const once = red(line);
    assert.ok(once.includes('[REDACTED:'), once);
    assert.deepEqual(fast.redact(once), { text: once, redactions: 0 }, once);
  }
});
