/**
 * A glued card (one that starts glued to a letter of a turned-down value: "session=ab4008 …") that shares
 * digit groups with a card the card rule finds on its own, starting at one of the glued card's later
 * groups and running past it. Before the glued rule, the line masked that later card (with its security
 * code) and showed the glued one's first group. Now the glued match wins the position, its mask ends
 * after its own four groups, and the scan resumes there: the later card's remaining groups (up to twelve
 * digits) and its security code ship in clear. Masking more must never unmask what was masked: the mask
 * should cover both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { luhnValid } from './luhn.js';
import { red } from './both-redactors.js';

test('a glued card does not unmask the card that starts at one of its later groups', () => {
  // "4008 4111 1111 1111" (glued) and "4111 1111 1111 1004" both pass issuer, length and Luhn; "123" is the CVV.
  // Before: "session=ab4008 [REDACTED:pan] ok". Got: "session=ab[REDACTED:pan] 1004 123 ok".
  assert.equal(red('session=ab4008 4111 1111 1111 1004 123 ok'), 'session=ab[REDACTED:pan] ok');
  // Sharing one group: "4111 1111 1111 4008" (glued) and "4008 5555 5555 1008". Twelve digits of the second shipped.
  assert.equal(red('cvv=x4111 1111 1111 4008 5555 5555 1008'), 'cvv=x[REDACTED:pan]');
  assert.equal(
    red('sudo: bob : PWD=/srv/claims/ab4111 1111 1111 4008 5555 5555 1008 ; USER=root'),
    'sudo: bob : PWD=/srv/claims/ab[REDACTED:pan] ; USER=root',
  );
});

/** Four-digit groups, `before` of them, then a valid Visa card: the last groups before it are chosen so the glued window is a card too. */
const overlapping = fc
  .tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 30, maxLength: 30 }),
    fc.constantFrom('session=ab', 'cvv=x', 'PWD=/srv/a_', '"cvv":"Z'),
    fc.constantFrom('', ' 123', ' 7'),
  )
  .map(([shared, ds, head, cvv]) => {
    // The later card: 4 + 14 random digits + a Luhn digit.
    const body = `4${ds.slice(0, 14).join('')}`;
    let later = '';
    for (let c = 0; c <= 9 && later === ''; c++) if (luhnValid(body + c)) later = body + c;
    // The glued card: (4 - shared) groups of its own, then the later card's first `shared` groups; fix its last own digit for Luhn.
    const laterGroups = later.match(/\d{4}/g) ?? [];
    const own = `4${ds.slice(14, 14 + (4 - shared) * 4 - 1).join('')}`;
    const tail = laterGroups.slice(0, shared).join('');
    let glued = '';
    for (let c = 0; c <= 9 && glued === ''; c++) {
      const o = own.slice(0, -1) + c;
      if (luhnValid(o + tail)) glued = o;
    }
    const gluedGroups = glued.match(/\d{4}/g) ?? [];
    return { line: `${head}${[...gluedGroups, ...laterGroups].join(' ')}${cvv} end`, later: laterGroups };
  });

test('property: no group of the later card after the first shared one is left in clear', () => {
  fc.assert(
    fc.property(overlapping, ({ line, later }) => {
      const out = red(line);
      // The later card's last group is masked (before the glued rule it always was).
      assert.ok(!out.includes(` ${later[3]}`), `${line} -> ${out}`);
    }),
    { numRuns: 500 },
  );
});
