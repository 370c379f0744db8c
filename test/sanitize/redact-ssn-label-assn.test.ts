/**
 * "Assn-123-45-6789" (an association's member or file number) was masked as an SSN: the "ssn" label rule
 * (redact-ssn-label.test.ts) took any word ending in "ssn" for the label, and "Assn" ends so. The letters
 * "ssn" are a label where they start a word or a part of a camelCase or snake_case name: after no letter,
 * after a small letter ("userssn", "userSsn", "userSSN") or in capitals after a capital ("APPLICANTSSN").
 * In small letters right after a capital they go on a capitalized word ("Assn", "NatlAssn"), and the word
 * "assn" or "ASSN" alone is the abbreviation of "association": neither is a label, and the number after
 * them is an id's, as after any other letters and "-" or ".".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { red } from './both-redactors.js';

test('"Assn" before a dashed number is no SSN label', () => {
  for (const line of [
    'member Assn-123-45-6789 renewed',
    'NatlAssn-123-45-6789 NatlAssn.123-45-6789 Assn_123-45-6789',
    'assn-123-45-6789 ASSN-123-45-6789 (Assn.123-45-6789)',
    'ref=Assn123-45-6789',
  ]) {
    assert.equal(red(line), line, line);
  }
});

test('"ssn" that starts a word or a name part is still a label', () => {
  const cases: [string, string][] = [
    ['redis GET userSsn.123-45-6789', 'redis GET userSsn.[REDACTED:ssn]'],
    ['userSSN-123-45-6789 userssn_123-45-6789', 'userSSN-[REDACTED:ssn] userssn_[REDACTED:ssn]'],
    ['APPLICANTSSN-123-45-6789 applicant_ssn123-45-6789', 'APPLICANTSSN-[REDACTED:ssn] applicant_ssn[REDACTED:ssn]'],
    ['Ssn-123-45-6789 SSN.123-45-6789 xSsn123-45-6789', 'Ssn-[REDACTED:ssn] SSN.[REDACTED:ssn] xSsn[REDACTED:ssn]'],
    // Standing alone, the number is masked whatever word comes before it.
    ['Assn 123-45-6789', 'Assn [REDACTED:ssn]'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('in a value a rule turned down, "Assn" glued to the number is a glued SSN as after any letter', () => {
  // As "cvv=x123-45-6789" (redact-glued-ssn.test.ts); a dash after the letters still makes it an id.
  assert.equal(red('cvv=Assn123-45-6789'), 'cvv=Assn[REDACTED:ssn]');
  assert.equal(red('cvv=Assn-123-45-6789'), 'cvv=Assn-123-45-6789');
});

test('property: "ssn" in small letters right after a capital leaves the number; after a small letter it is masked', () => {
  const ssn = fc
    .tuple(fc.integer({ min: 1, max: 899 }), fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 9999 }))
    .filter(([a]) => a !== 666)
    .map(([a, g, s]) => `${String(a).padStart(3, '0')}-${String(g).padStart(2, '0')}-${String(s).padStart(4, '0')}`);
  fc.assert(
    fc.property(
      ssn,
      fc.stringMatching(/^[a-zA-Z]{0,4}$/),
      fc.stringMatching(/^[A-Z]$/),
      fc.stringMatching(/^[a-z]$/),
      fc.constantFrom('', '-', '.', '_'),
      fc.constantFrom('key=', ' ', '/srv/', '"'),
      (n, word, capital, small, sep, ctx) => {
        const line = `${ctx}${word}${capital}ssn${sep}${n} ok`;
        assert.equal(red(line), line);
        assert.equal(red(`${ctx}${word}${small}Ssn${sep}${n} ok`), `${ctx}${word}${small}Ssn${sep}[REDACTED:ssn] ok`);
      },
    ),
    { numRuns: 1_000 },
  );
});
