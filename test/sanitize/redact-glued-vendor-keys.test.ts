/**
 * Google API keys, npm tokens, SendGrid and OpenAI keys and Stripe test keys glued to a letter before
 * them ("tokenAIza…", "keynpm_…", "apikeySG.…", "secretsk-proj-…", "keysk_test_…") shipped: only
 * GitHub, GitLab, Slack, Stripe live, AWS and JWT tokens were looked for glued (GLUED_TOKENS in
 * redact.ts). Each is masked now where its own shape proves it: an npm token's CRC32 checksum, an
 * OpenAI key's "T3BlbkFJ" marker, the exact prefix and lengths of a Google or SendGrid key with a
 * random-looking value, a Stripe test key's random value. What only has the prefix's letters inside a
 * word stays as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRedactor, REDACT_KINDS } from '../../src/sanitize/redact.js';
import { fast, red } from './both-redactors.js';

/** Split so the source never holds a whole vendor-format token (keeps secret scanners quiet). */
const j = (...p: string[]): string => p.join('');
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64URL = `${ALNUM}-_`;
let seed = 0x6b1d2e3f;
function rand(n: number, alphabet: string): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    out += alphabet[(seed >>> 0) % alphabet.length];
  }
  return out;
}

// CRC-32 (IEEE, as zlib computes it), written here so the fixture does not trust the code under test.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(s: string): number {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = (CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
/** GitHub's and npm's base62 alphabet (digits, capitals, small letters): six characters, leading zeros. */
const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function base62(n: number): string {
  let s = '';
  for (let x = n; x > 0; x = Math.floor(x / 62)) s = `${B62[x % 62] ?? ''}${s}`;
  return s.padStart(6, '0');
}
/** An npm token: "npm_", 30 random base62 characters, and the base62 CRC32 of those 30. */
const npmToken = (entropy = rand(30, ALNUM)): string => j('np', 'm_', entropy, base62(crc32(entropy)));

test('the fixture checksum is the documented one: the example token of the published format verifies', () => {
  // From the description of GitHub's token format (CRC32 of the 30 characters after the prefix, base62).
  const example = j('gh', 'p_', 'zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ', '0mLq17');
  assert.equal(base62(crc32(example.slice(4, 34))), example.slice(34));
});

const GOOGLE = j('AI', 'za', 'SyD7kq2Lm-Z9vB4nR1tY8wLc_P3sJ7hUe0G');
const NPM = npmToken('q8Xz2LkT0vBn5RmYc7WdA3sJ9hUe1G');
const SENDGRID = j('S', 'G.', 'Xk3mQ9vB2nR7tY1wLc8PsA', '.', 'f4Gh7Jk2Lm9Nq3Rs6Tv1Wx5Yz8Ab0Cd2Ef4Gh6Jk8Lm');
const OPENAI_PROJ = j('sk', '-proj-', rand(74, B64URL), 'T3Blbk', 'FJ', rand(74, B64URL));
const OPENAI_SVC = j('sk', '-svcacct-', rand(58, B64URL), 'T3Blbk', 'FJ', rand(58, B64URL));
const OPENAI_LEGACY = j('sk', '-', 'Rq7LmZ2vB9nK4tY1wXc3', 'T3Blbk', 'FJ', 'Hd8Jp3Fg6Ys0Ae2Bu5Qx');
const STRIPE_TEST = j('sk', '_test_', '4eC39HqLyjWDarjtT1zdp7dc');
const STRIPE_TEST_LONG = j('sk', '_test_', '51', rand(97, ALNUM));
const RK_TEST = j('rk', '_test_', '51H8xQk2LmZ9vB4nR1tY8wLcP3sJ7hUe0GfAa');

test('a Google, npm, SendGrid, OpenAI key or a Stripe test key glued to a letter before it is masked', () => {
  const cases: [string, string, string][] = [
    [`maps request with token${GOOGLE} denied`, GOOGLE, 'maps request with token[REDACTED:gcp_api_key] denied'],
    [`{"msg":"publish with key${NPM}"}`, NPM, '{"msg":"publish with key[REDACTED:npm_token]"}'],
    [`mail send failed: apikey${SENDGRID} (401)`, SENDGRID, 'mail send failed: apikey[REDACTED:sendgrid_key] (401)'],
    [`llm client secret${OPENAI_PROJ} rejected`, OPENAI_PROJ, 'llm client secret[REDACTED:openai_key] rejected'],
    [`batch job key${OPENAI_SVC}`, OPENAI_SVC, 'batch job key[REDACTED:openai_key]'],
    [`using key${OPENAI_LEGACY}`, OPENAI_LEGACY, 'using key[REDACTED:openai_key]'],
    [`charge failed using key${STRIPE_TEST} (card_declined)`, STRIPE_TEST, 'charge failed using key[REDACTED:stripe_key] (card_declined)'],
    [`STRIPE_SECRET_KEY${STRIPE_TEST_LONG}`, STRIPE_TEST_LONG, 'STRIPE_SECRET_KEY[REDACTED:stripe_key]'],
    [`restricted key${RK_TEST}`, RK_TEST, 'restricted key[REDACTED:stripe_key]'],
  ];
  for (const [line, secret, want] of cases) {
    const out = red(line);
    assert.ok(!out.includes(secret), out);
    assert.equal(out, want, line);
  }
});

test('near misses inside words stay: a wrong checksum, names, paths, base64 and kebab-case', () => {
  const badSum = NPM.slice(0, -1) + (NPM.endsWith('0') ? '1' : '0');
  for (const line of [
    // npm_: 36 base62 characters whose last six are no CRC32 of the thirty before them.
    `x${badSum} cfgnpm_${'a1b2c3d4e5f6'.repeat(3)} runtime_npm_ConnectionPoolSizeLimitReached1`,
    // "AIza" inside a word: no Google key's exact length, or no random value (a camelCase name).
    `ThaIzaRbcdefghijklmnopqrstuvwxyz012345678 metricAIzaRequestsPerSecondTotalCountByRegion`,
    // "SG." ending a word: a dotted path in lower case, an upper-case constant.
    `msg.${'a'.repeat(22)}.${'b'.repeat(43)} MSG.${'ORDER_CREATED_EVENTS_Q'}.${'X'.repeat(43)}`,
    // "sk-" ending a word: a kebab-case project, a task name; no "T3BlbkFJ" marker in place.
    `task-proj-frontend-build-pipeline-2026 disk-${'a1B2c3D4e5'.repeat(5)}`,
    `risk-proj-${rand(74, B64URL)}xT3BlbkFJ risk-proj-${rand(30, ALNUM)}t3blbkfj${rand(30, ALNUM)}`,
    // Stripe test prefixes ending words: names, a random value after a word that ends in "sk"/"rk" (below too).
    'network_test_connectivity123 desk_test_abcdefghijklmnop',
  ]) {
    assert.equal(red(line), line, line);
  }
});

test('as before, each of these keys is masked at a word start', () => {
  for (const k of [GOOGLE, NPM, SENDGRID, OPENAI_PROJ, OPENAI_LEGACY, STRIPE_TEST]) {
    assert.equal(red(`key ${k}`).includes(k), false, k);
  }
});

test('a glued vendor key mask has nothing left to redact on a second pass', () => {
  for (const line of [`token${GOOGLE}`, `key${NPM} x`, `apikey${SENDGRID}`, `secret${OPENAI_PROJ}`, `key${STRIPE_TEST}`]) {
    const once = red(line);
    assert.ok(once.includes('[REDACTED:'), once);
    assert.deepEqual(fast.redact(once), { text: once, redactions: 0 }, once);
  }
});

test('property: a glued npm token never ships; one with any other last six characters is left alone', () => {
  const entropy = fc.stringMatching(/^[A-Za-z0-9]{30}$/);
  const glue = fc.stringMatching(/^[a-zA-Z]{0,7}[a-zA-Z]$/);
  fc.assert(
    fc.property(entropy, glue, fc.stringMatching(/^[A-Za-z0-9]{6}$/), fc.constantFrom('', 'msg ', '{"m":"'), (e, g, other, head) => {
      const tok = npmToken(e);
      assert.equal(red(`${head}${g}${tok} ok`), `${head}${g}[REDACTED:npm_token] ok`);
      const wrong = tok.slice(0, 34) + other;
      if (wrong !== tok) assert.equal(red(`${head}${g}${wrong} ok`), `${head}${g}${wrong} ok`);
    }),
    { numRuns: 1_000 },
  );
});

test('hostile inputs finish in linear time: 1 MiB of glued vendor prefixes', { timeout: 60_000 }, () => {
  const r = createRedactor({ builtin: [...REDACT_KINDS], custom: [] });
  const mb = 1 << 20;
  const fill = (unit: string): string => unit.repeat(Math.floor(mb / unit.length));
  for (const s of [
    fill(j('xAI', 'za')),
    fill(j('xnp', 'm_')),
    fill(j('xS', 'G.')),
    fill(j('xsk', '-proj-')),
    fill(j('xsk', '-proj-', 'a'.repeat(30), 'T3BlbkFJ')),
    fill(j('xsk', '-')),
    fill(j('ysk', '_test_')),
  ]) {
    // CPU time, with a bound far from both sides (each takes some tens of ms).
    const c0 = process.cpuUsage();
    assert.equal(typeof r.redact(s).text, 'string');
    const c = process.cpuUsage(c0);
    assert.ok(c.user + c.system < 10_000_000, `${s.slice(0, 24)}…: ${(c.user + c.system) / 1000} ms`);
  }
});
