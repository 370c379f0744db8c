/**
 * A card glued to the letters of a value a rule turned down. "session_id=abc4111 1111 1111 1111"
 * shipped the card: the key/value rule took "session_id=abc4111", turned the value down (a session
 * id is 8 characters or more) and scanned it again, but the card rule refuses a first group glued to
 * a letter or "_" (in a word, "abc4111" is one token), and no mask was there to widen over the card
 * (maskEnd widens only a value that was masked). Inside such a value a card written in groups may now
 * start glued to a letter; elsewhere, and written as one run of digits, a glued number is one word
 * with its letters, as before (hex ids, hashes, letter-prefixed order numbers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createReferenceRedactor, REDACT_KINDS } from '../../src/sanitize/redact.js';
import { red } from './both-redactors.js';

test('a grouped card glued to the letters of a turned-down value is masked', () => {
  const cases: [string, string][] = [
    // The report: a session value under 8 characters is no session id, the card in it is a card.
    ['session_id=abc4111 1111 1111 1111', 'session_id=abc[REDACTED:pan]'],
    ['sshd[2219]: session=ab5555 5555 5555 4444 from 192.0.2.44 port 5123', 'sshd[2219]: session=ab[REDACTED:pan] from 192.0.2.44 port 5123'],
    ['PHPSESSID=x_4111 1111 1111 1111; path=/', 'PHPSESSID=x_[REDACTED:pan]; path=/'],
    // With its security code after it, as the card rule takes it.
    ['session=a4111 1111 1111 1111 123 ok', 'session=a[REDACTED:pan] ok'],
    // A cvv value that is no 3-4 digit code; dashes and dots are in the value, the card is still found.
    ['cvv=abc4111 1111 1111 1111', 'cvv=abc[REDACTED:pan]'],
    ['cvv=abc4111-1111-1111-1111&x=1', 'cvv=abc[REDACTED:pan]&x=1'],
    ['{"cvv":"x3782 822463 10005","amount":12}', '{"cvv":"x[REDACTED:pan]","amount":12}'],
    ['cvc=ref6011.1111.1111.1117', 'cvc=ref[REDACTED:pan]'],
    // A working directory is turned down as a path; what it holds is looked at.
    ['sudo: alice : PWD=/srv/claims/ab4111 1111 1111 1111 ; USER=root', 'sudo: alice : PWD=/srv/claims/ab[REDACTED:pan] ; USER=root'],
    // Nested turned-down values: the cvv value inside the PWD value.
    ['PWD=/srv/cvv=x4111 1111 1111 1111', 'PWD=/srv/cvv=x[REDACTED:pan]'],
    // Two on one line, and a turned-down value after a masked one.
    ['session=ab4111 1111 1111 1111 sess=cd5555 5555 5555 4444', 'session=ab[REDACTED:pan] sess=cd[REDACTED:pan]'],
    ['password=hunter2 session=ab4111 1111 1111 1111 end', 'password=[REDACTED:password] session=ab[REDACTED:pan] end'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('the variants that stay as they were: glued runs of digits, glued cards outside a turned-down value, non-cards', () => {
  const cases: [string, string][] = [
    // A dash starts a digit group: this one always was a card.
    ['ref:ab-4111-1111-1111-1111', 'ref:ab-[REDACTED:pan]'],
    ['session=ab-4111 1111 1111 1111', 'session=ab-[REDACTED:pan]'],
    // A value of 8 characters or more is a session id: masked whole, the card with it (maskEnd).
    ['session_id=abcdefgh4111 1111 1111 1111', 'session_id=[REDACTED:session_token]'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
  for (const line of [
    // A glued run of contiguous digits is how a hex id's tail or a letter-prefixed number looks, in a
    // turned-down value too (accepted: see the header of redact.ts).
    'id=x4111111111111111',
    'cvv=x4111111111111111',
    'PWD=/srv/invoices/INV4532015112830366 ; USER=root',
    'PWD=/srv/cache/deadbeef4111111111111111 ; USER=root',
    // Outside a turned-down value a glued card is one word with its letters (as in any digit-heavy line).
    'user_abc4111 1111 1111 1111 exp',
    'x4111 1111 1111 1111',
    // Issuer, length and Luhn still decide.
    'session=abc4111 1111 1111 1112',
    'session=abc1234 5678 9012 3456',
    'cvv=abc4111 1111 1111',
    // The glue letter must be in the value: "-P" is mysql's port flag, "4111" its (turned-down) value.
    'mysql -P4111 1111 1111 1111 -h db',
    // The first four parts of a UUID whose first part ends in four digits: part of a longer dashed name.
    'PWD=/srv/jobs/abcd4111-1111-1111-1111-abcdef012345 ; USER=root',
    'cvv=abcd4111-1111-1111-1111-abcdef012345',
  ]) {
    assert.equal(red(line), line, line);
  }
});

test('benign tokens pass unchanged, in turned-down values and out: hex and request ids, hashes, versions, UUIDs', () => {
  for (const line of [
    'session=abc1234 sid=7f3a9c1 cvv=n/a',
    'session=deadbee token_type=bearer cvv=abc1234',
    'sshd[2219]: session=a1b2c3 opened for user bob(uid=1000)',
    'PWD=/var/lib/docker/overlay2/3f9a8b2c4d5e6f7081920a3b4c5d6e7f8091a2b3c4d5e6f70819203b4c5d6e7f8/merged ; USER=root',
    'PWD=/srv/git/objects/ab/cdef0123456789abcdef0123456789abcdef01 ; USER=git',
    'PWD=/srv/releases/v2.14.3-rc1 ; USER=deploy',
    'PWD=/opt/jdk-21.0.5+11/bin ; USER=root',
    'PWD=/opt/app-1.2.3.4567 ; USER=root',
    'PWD=/srv/jobs/8f14e45f-ceea-467f-a0e6-e4b3a1f7d4a1 ; USER=root',
    'PWD=/home/bob/build1234 5678 ; USER=bob',
    'cvv=req_01HZX4111111111111111 request_id=8f14e45f-ceea-467f-a0e6-e4b3a1f7d4a1',
    'x-request-id: req_7f3a9c14e4b3a1f7 trace=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    'GET /api/v1/orders/ORD4532015112830366?session=ab12 HTTP/1.1',
    'openssl 3.0.13 build abc1234 commit 9fceb02d0ae598e95dc970b74767f19372d61af8',
  ]) {
    assert.equal(red(line), line, line);
  }
});

/** A hex id that begins with a letter: every digit run in it is glued to a letter. */
const hexId = fc
  .tuple(fc.constantFrom(...'abcdef'), fc.array(fc.constantFrom(...'0123456789abcdef'), { minLength: 6, maxLength: 63 }))
  .map(([first, rest]) => first + rest.join(''));

test('property: hex ids and UUIDs pass unchanged after keys whose values are turned down, and outside them', () => {
  fc.assert(
    fc.property(hexId, fc.uuid(), fc.constantFrom('cvv=', 'PWD=/srv/', 'request_id=', 'private_key=/etc/ssl/', ''), (id, uuid, key) => {
      for (const line of [`${key}${id} trace=${uuid}`, `${key}${id}/${uuid} ; USER=root`, `${key}${uuid}`]) {
        assert.equal(red(line), line, line);
      }
    }),
    { numRuns: 2_000 },
  );
});

test('the exec loop and String.prototype.replace agree on glued numbers they pass over or mask', () => {
  // A glued number outside a turned-down value is passed over as if the regex had not matched there:
  // what follows is scanned as before. No value here is masked before a card, so maskEnd (which
  // replace() cannot do) plays no part.
  const loop = createReferenceRedactor({ builtin: [...REDACT_KINDS], custom: [] });
  const replace = createReferenceRedactor({ builtin: [...REDACT_KINDS], custom: [] }, 'string-replace');
  for (const line of [
    'session_id=abc4111 1111 1111 1111',
    'user_abc4111 1111 1111 1111 session=ab5555 5555 5555 4444 x',
    'x4111111111111111 cvv=ab4111-1111-1111-1111 PWD=/srv/123-45-6789',
    'PWD=/srv/cvv=x4111 1111 1111 1111 ; card 4111 1111 1111 1111',
    'cvv=abcd4111-1111-1111-1111-abcdef012345 session=ab4111 1111 1111 1111',
  ]) {
    assert.deepEqual(replace.redact(line), loop.redact(line), line);
  }
});
