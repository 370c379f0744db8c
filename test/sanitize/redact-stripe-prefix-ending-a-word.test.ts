/**
 * "task_live_<random>" was masked as a Stripe key. A Stripe key starts a word with sk_ or rk_; in
 * "task_live_…" the "sk" ends the word "task", and the glued-token check (GLUED_TOKENS in redact.ts),
 * which masks a live key pasted after a label ("keysk_live_…"), read it as "ta" + "sk_live_…": the
 * value alone cannot tell the two apart when it is random. English words that end in "sk" or "rk" have
 * a vowel before those letters (task, disk, desk, risk, mask, kiosk, network, work, park, bookmark); a
 * glued sk_/rk_ after a vowel is such a word now, live or test, and stays. After any other letter
 * ("keysk_…", "tokensk_…", "STRIPE_KEYsk_…") the glued key is masked as before, test keys too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { red } from './both-redactors.js';

/** base62 that looks random by construction: the character class changes at every position. */
const randomBase62 = (min: number, max: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 0, max: 61 }), { minLength: min, maxLength: max }).map((xs) =>
    xs.map((x, i) => ['ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz', '0123456789'][i % 3]?.[x % [26, 26, 10][i % 3]!] ?? 'A').join(''),
  );
const RANDOM = '4eC39HqLyjWDarjtT1zdp7dc';

test('a word ending in "sk" or "rk" before _live_ or _test_ and a random id is no Stripe key', () => {
  for (const line of [
    `scheduler: task_live_${RANDOM} started`,
    `{"task_id":"task_live_${RANDOM}"}`,
    `disk_live_${RANDOM} desk_test_${RANDOM} risk_live_${RANDOM} mask_test_${RANDOM} kiosk_live_${RANDOM}`,
    `network_live_${RANDOM} work_test_${RANDOM} park_live_${RANDOM} bookmark_test_${RANDOM} clerk_live_${RANDOM}`,
    `TASK_LIVE_${RANDOM} Disk_Test_${RANDOM}`,
  ]) {
    assert.equal(red(line), line, line);
  }
});

test('a Stripe key glued after a letter that ends no such word is masked, live and test', () => {
  assert.equal(red(`charge failed using key${'sk'}_live_${RANDOM}`), 'charge failed using key[REDACTED:stripe_key]');
  assert.equal(red(`token${'sk'}_test_${RANDOM} ok`), 'token[REDACTED:stripe_key] ok');
  assert.equal(red(`STRIPE_KEY${'rk'}_live_${RANDOM}`), 'STRIPE_KEY[REDACTED:stripe_key]');
  // At a word start nothing changes: a key is a key after any separator.
  assert.equal(red(`task ${'sk'}_live_${RANDOM}`), 'task [REDACTED:stripe_key]');
});

test('property: after a vowel a glued sk_/rk_ value stays; after another letter it is masked', () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[a-zA-Z]{0,6}$/),
      fc.constantFrom('a', 'e', 'i', 'o', 'u', 'A', 'O'),
      fc.constantFrom('b', 'n', 't', 'y', 'Y', 'r', 'd'),
      fc.constantFrom('sk', 'rk'),
      fc.constantFrom('_live_', '_test_'),
      randomBase62(24, 99),
      (word, vowel, consonant, p, mode, v) => {
        // A capital vowel after another capital ends a label in capitals ("STRIPEsk_…"): masked, below.
        fc.pre(!/[A-Z]$/.test(word) || !/[AO]/.test(vowel));
        const name = `${word}${vowel}${p}${mode}${v}`;
        assert.equal(red(`id=${name} ok`), `id=${name} ok`);
        assert.equal(red(`id=${word}${consonant}${p}${mode}${v} ok`), `id=${word}${consonant}[REDACTED:stripe_key] ok`);
      },
    ),
    { numRuns: 1_000 },
  );
});

test('a glued sk_/rk_ after a label in capitals is masked: its last capital vowel is no word ending', () => {
  const key = ['sk', '_live_', '4eC39HqLyjWDarjtT1zdp7dc'].join('');
  for (const label of ['STRIPE', 'SECRET_VALUE', 'API_KEY_VIA']) {
    assert.equal(red(`env ${label}${key} ok`), `env ${label}[REDACTED:stripe_key] ok`);
  }
  // A capitalised word alone still ends there.
  assert.equal(red(`id=Ask${key.slice(2)} ok`), `id=Ask${key.slice(2)} ok`);
});
