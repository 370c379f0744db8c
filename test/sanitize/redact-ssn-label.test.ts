/**
 * An SSN after a letter and "-" or "." (or glued to the letters) is a dashed or dotted id: "ORD-123-45-6789",
 * "PN-123-45-6789", "ref=x-123-45-6789", "cvv=x.123-45-6789" stay as they are, in turned-down values
 * too (redact-glued-ssn.test.ts). Where the letters are "ssn" the number is named for what it is: cache
 * and object keys, file names and dotted field paths write "ssn-123-45-6789", "ssn_123-45-6789.pdf",
 * "applicant.ssn.123-45-6789", and all of them shipped the SSN. The rule (header of redact.ts): after a
 * word ending in "ssn", any case, with or without one "_", "." or "-", the SSN is masked everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fast, red } from './both-redactors.js';

test('an SSN after the label "ssn" and a dash, a dot, an underscore or nothing is masked', () => {
  const cases: [string, string][] = [
    ['cache miss key=ssn-123-45-6789 ttl=60', 'cache miss key=ssn-[REDACTED:ssn] ttl=60'],
    ['s3 put s3://docs/applicants/ssn_078-05-1120.pdf ok', 's3 put s3://docs/applicants/ssn_[REDACTED:ssn].pdf ok'],
    ['field applicant.ssn.219-09-9999 failed validation', 'field applicant.ssn.[REDACTED:ssn] failed validation'],
    ['lookup SSN-123-45-6789 not found', 'lookup SSN-[REDACTED:ssn] not found'],
    ['redis GET userSsn.123-45-6789', 'redis GET userSsn.[REDACTED:ssn]'],
    ['id=applicant_ssn123-45-6789 status=new', 'id=applicant_ssn[REDACTED:ssn] status=new'],
    // Inside a turned-down value too (a cvv value that is no code): the label wins there as elsewhere.
    ['cvv=ssn-123-45-6789', 'cvv=ssn-[REDACTED:ssn]'],
    ['sudo: bob : PWD=/srv/claims/ssn_123-45-6789 ; USER=root', 'sudo: bob : PWD=/srv/claims/ssn_[REDACTED:ssn] ; USER=root'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('dashed and dotted ids stay: a letter and "-" or "." before the number is the id scheme\'s, not a label', () => {
  for (const line of [
    'ref=x-123-45-6789',
    'ref=x.123-45-6789',
    'order ORD-123-45-6789 shipped; part PN-123-45-6789; rma RMA.123-45-6789',
    '{"order":"ORD-123-45-6789","sku":"A-123-45-6789"}',
    'version 1.2.3-45-6789 built; part ABC-123-45-6789; range 123-45-67890',
    // Turned-down values (as in redact-glued-ssn.test.ts): a cvv or a working directory.
    'cvv=x-123-45-6789 cvv=ab.123-45-6789',
    'PWD=/srv/parts/PN-123-45-6789 ; USER=root',
    // A label-like word that is not "ssn", and "ssn" with two separators or no SSN after it.
    'msn-123-45-6789 ssns-123-45-6789 ssn--123-45-6789 ssn-_123-45-6789',
    'ssn-666-12-3456 ssn-123-00-4567 ssn-123-45-0000 ssn-923-45-6789',
    'ssn-123-45-67890 ssn-1123-45-6789 ssn-123-45-6789-1 ssn-123-45-6789x',
  ]) {
    assert.equal(red(line), line, line);
  }
});

/** A valid SSN: area 001-899 but not 666, group 01-99, serial 0001-9999. */
const ssn = fc
  .tuple(fc.integer({ min: 1, max: 899 }), fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 9999 }))
  .filter(([a]) => a !== 666)
  .map(([a, g, s]) => `${String(a).padStart(3, '0')}-${String(g).padStart(2, '0')}-${String(s).padStart(4, '0')}`);
const label = fc.tuple(fc.constantFrom('', 'applicant_', 'user', 'x.', 'emp-'), fc.constantFrom('ssn', 'SSN', 'Ssn'), fc.constantFrom('', '-', '.', '_'));
/** Letters that name no SSN: an id scheme's prefix (not a Slack token's: "xoxa-001-01-0001" is one). */
const idPrefix = fc.stringMatching(/^[a-zA-Z]{1,5}$/).filter((p) => !/ssn$/i.test(p) && !/^xox[abposre]$/i.test(p));

test('property: a valid SSN after an "ssn" label never ships; after other letters and "-" or "." it is left alone', () => {
  fc.assert(
    fc.property(ssn, label, idPrefix, fc.constantFrom('-', '.'), fc.constantFrom('key=', ' ', '/srv/', '"', 'cvv='), (s, [pre, word, sep], id, idSep, ctx) => {
      const masked = red(`${ctx}${pre}${word}${sep}${s} ok`);
      assert.ok(!masked.includes(s), masked);
      assert.equal(masked, `${ctx}${pre}${word}${sep}[REDACTED:ssn] ok`);
      const line = `ref ${id}${idSep}${s} ok`;
      assert.equal(red(line), line);
    }),
    { numRuns: 2_000 },
  );
});

test('an SSN masked after its label has nothing left to redact on a second pass', () => {
  for (const line of ['cache miss key=ssn-123-45-6789 ttl=60', 's3 put ssn_078-05-1120.pdf', 'cvv=ssn-123-45-6789', 'redis GET userSsn.123-45-6789']) {
    const once = red(line);
    assert.ok(once.includes('[REDACTED:ssn]'), once);
    assert.deepEqual(fast.redact(once), { text: once, redactions: 0 }, once);
  }
});
