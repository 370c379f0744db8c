/**
 * A US SSN glued to the letters of a value a rule turned down. "cvv=x123-45-6789" shipped the SSN: the
 * key/value rule took the value "x123-45-6789", turned it down (a cvv is a 3-4 digit code) and scanned
 * it again, but the SSN rule refuses a first digit glued to a letter or "_" ("x123" is one word), so
 * nothing masked it. A grouped card in the same place is masked (redact-glued-card.test.ts); an SSN is
 * now too, by the same reasoning: ddd-dd-dddd is how an SSN is written, as groups are how a card is.
 * Where the line is drawn, as for cards: only inside a turned-down value, and not when the number is a
 * part of a longer dashed or dotted name ("rel123-45-6789-rc1", "job_123-45-6789.tar"). Elsewhere a
 * glued number is one word with its letters ("id=x123-45-6789", "ORD123-45-6789"), as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createReferenceRedactor, REDACT_KINDS } from '../../src/sanitize/redact.js';
import { fast, red } from './both-redactors.js';

test('an SSN glued to the letters of a turned-down value is masked', () => {
  const cases: [string, string][] = [
    // The report: a cvv value that is no 3-4 digit code.
    ['cvv=x123-45-6789', 'cvv=x[REDACTED:ssn]'],
    ['cvv=x_123-45-6789&amount=12', 'cvv=x_[REDACTED:ssn]&amount=12'],
    ['{"cvv":"ref123-45-6789","amount":12}', '{"cvv":"ref[REDACTED:ssn]","amount":12}'],
    ['card_cvc=NA078-05-1120 status=declined', 'card_cvc=NA[REDACTED:ssn] status=declined'],
    // A working directory is turned down as a path; what it holds is looked at.
    [
      'sudo: alice : TTY=pts/0 ; PWD=/srv/claims/ab123-45-6789 ; USER=root ; COMMAND=/bin/ls',
      'sudo: alice : TTY=pts/0 ; PWD=/srv/claims/ab[REDACTED:ssn] ; USER=root ; COMMAND=/bin/ls',
    ],
    ['PWD=/srv/claims/scan123-45-6789/pages ; USER=root', 'PWD=/srv/claims/scan[REDACTED:ssn]/pages ; USER=root'],
    // Two in one value, and nested turned-down values (the cvv value inside the PWD value).
    ['PWD=/srv/a123-45-6789/b234-56-7890 ; USER=root', 'PWD=/srv/a[REDACTED:ssn]/b[REDACTED:ssn] ; USER=root'],
    ['PWD=/srv/cvv=x123-45-6789 ; USER=root', 'PWD=/srv/cvv=x[REDACTED:ssn] ; USER=root'],
    // With a glued card in another turned-down value, and a masked value before.
    ['password=hunter2 cvv=x123-45-6789 session=ab4111 1111 1111 1111', 'password=[REDACTED:password] cvv=x[REDACTED:ssn] session=ab[REDACTED:pan]'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('the variants that stay as they were: glued outside a turned-down value, longer names, no SSN', () => {
  for (const line of [
    // Outside a turned-down value a glued number is one word with its letters: an order or a part number.
    'id=x123-45-6789',
    'request_id=x123-45-6789 status=200',
    'order ORD123-45-6789 shipped to user_x123-45-6789',
    'cvv=n/a ref=AB123-45-6789',
    // The glue letter must be in the value: "-P" is mysql's port flag, "123-45-6789" its (turned-down) value.
    'mysql -P123-45-6789 -h db',
    // A part of a longer dashed or dotted name: a release, a file.
    'PWD=/srv/releases/rel123-45-6789-rc1 ; USER=deploy',
    'PWD=/srv/backups/job_123-45-6789.tar.gz ; USER=root',
    'PWD=/srv/builds/b123-45-6789.2 ; USER=ci',
    'cvv=x123-45-6789-a',
    // Never issued: area 000, 666 or 9xx, group 00, serial 0000.
    'cvv=x000-12-3456 cvv=x666-12-3456 cvv=x923-45-6789 cvv=x123-00-4567 cvv=x123-45-0000',
    // A longer number: a digit before or after, or another dashed group.
    'cvv=x1123-45-6789 cvv=x123-45-67890 cvv=x123-45-6789-1 cvv=x12-123-45-6789',
    // Phone numbers, dates, times, versions in turned-down values.
    'cvv=tel555-123-4567 cvv=d2026-11-22 cvv=t12:34:56-07:00 PWD=/opt/app-1.2.3-45 ; USER=root',
    // Accepted (see the header of redact.ts): after a letter and "-" or ".", as everywhere.
    'PWD=/srv/parts/PN-123-45-6789 ; USER=root',
    'cvv=x.123-45-6789',
  ]) {
    assert.equal(red(line), line, line);
  }
});

test('a glued SSN mask has nothing left to redact on a second pass', () => {
  for (const line of ['cvv=x123-45-6789', '{"cvv":"ref123-45-6789","amount":12}', 'sudo: alice : PWD=/srv/claims/ab123-45-6789 ; USER=root']) {
    const once = red(line);
    assert.ok(once.includes('[REDACTED:ssn]'), once);
    assert.deepEqual(fast.redact(once), { text: once, redactions: 0 }, once);
  }
});

/** A valid SSN: area 001-899 but not 666, group 01-99, serial 0001-9999. */
const ssn = fc
  .tuple(fc.integer({ min: 1, max: 899 }), fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 9999 }))
  .filter(([a]) => a !== 666)
  .map(([a, g, s]) => `${String(a).padStart(3, '0')}-${String(g).padStart(2, '0')}-${String(s).padStart(4, '0')}`);
const glue = fc.stringMatching(/^[a-zA-Z][a-zA-Z_]{0,5}$/);

test('property: a valid SSN glued to letters in a turned-down value never ships', () => {
  fc.assert(
    fc.property(ssn, glue, fc.constantFrom('cvv=', 'CVC2=', '"cvv":"', 'PWD=/srv/claims/', 'PWD=/srv/cvv='), fc.constantFrom('', ' ; USER=root', '","n":1}', '&x=1', '/p'), (s, g, key, tail) => {
      const out = red(`${key}${g}${s}${tail}`);
      assert.ok(!out.includes(s), out);
      assert.ok(out.includes(`${g}[REDACTED:ssn]`), out);
    }),
    { numRuns: 2_000 },
  );
});

test('property: glued SSN shapes outside turned-down values, and as parts of longer names, pass unchanged', () => {
  fc.assert(
    fc.property(
      ssn,
      glue,
      fc.constantFrom('id=', 'order ', 'ref:', 'request_id=', 'trace=', '"sku":"', 'GET /parts/'),
      fc.constantFrom('-rc1', '.tar', '.2', '-a', '-Z9'),
      (s, g, key, next) => {
        for (const line of [`${key}${g}${s} ok`, `cvv=${g}${s}${next}`, `PWD=/srv/${g}${s}${next} ; USER=root`]) {
          assert.equal(red(line), line, line);
        }
      },
    ),
    { numRuns: 2_000 },
  );
});

test('the exec loop and String.prototype.replace agree on glued SSNs they pass over or mask', () => {
  // No value here is masked before a card, so maskEnd (which replace() cannot do) plays no part.
  const loop = createReferenceRedactor({ builtin: [...REDACT_KINDS], custom: [] });
  const replace = createReferenceRedactor({ builtin: [...REDACT_KINDS], custom: [] }, 'string-replace');
  for (const line of [
    'cvv=x123-45-6789',
    'id=x123-45-6789 cvv=ab123-45-6789 PWD=/srv/123-45-6789',
    'order ORD123-45-6789 PWD=/srv/rel123-45-6789-rc1 ; cvv=x_234-56-7890&x=1',
    'PWD=/srv/cvv=x123-45-6789 ; ssn 123-45-6789',
  ]) {
    assert.deepEqual(replace.redact(line), loop.redact(line), line);
  }
});
