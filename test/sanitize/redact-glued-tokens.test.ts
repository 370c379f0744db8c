/**
 * Vendor tokens glued to a letter before them shipped: every token rule wanted its prefix to start a
 * word (bounded(): no letter or digit, and for most no "_" or "-", right before it), so "tokenghp_…",
 * "keyAKIA…", "BearereyJ…" (a key pasted after text, a log call concatenating a label and the key)
 * were one word and left in clear. Now a token glued to a letter is masked when its own shape proves
 * it (GLUED_TOKENS in redact.ts); what only looks like a prefix inside a word ("highs_<sha1>",
 * "network_test_…", "keyJsonSerializer.x.y", "southeastasia…") stays as it was, and a glued near miss
 * is passed over: it was no match before, and it changes nothing after it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRedactor, createReferenceRedactor, REDACT_KINDS } from '../../src/sanitize/redact.js';
import { fast, red } from './both-redactors.js';

/** Split so the source never holds a whole vendor-format token (keeps secret scanners quiet). */
const j = (...p: string[]): string => p.join('');
let seed = 0x5eed1e55;
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
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const jwt = (header: string): string => `${b64url(header)}.${b64url('{"sub":"1234567890","iat":1732269600}')}.${rand(43, `${ALNUM}-_`)}`;

// Fixed tokens, written to look random as real ones do (the PAT, AWS ids and JWT signatures from a fixed seed).
const GHP = j('gh', 'p_', 'q8Xz2LkT0vBn5RmYc7WdA3sJ9hUe1GfP4iKo');
const GHS = j('gh', 's_', 'Tn4bV9xQ2mLr7Kc1Wz5Hd8Jp3Fg6Ys0Ae2Bu');
const PAT = j('github', '_pat_', rand(22, ALNUM), '_', rand(59, ALNUM));
const GLPAT = j('glp', 'at-', 'x7Kq2mZ9vB4nR1tY8wLc');
const SLACK = j('xox', 'b-', '123456789012-1234567890123-', rand(24, ALNUM));
const STRIPE = j('sk', '_live_', '4eC39HqLyjWDarjtT1zdp7dc');
const RK = j('rk', '_live_', '51H8xQk2LmZ9vB4nR1tY8wLcP3sJ7hUe0GfAa');
const WHSEC = j('wh', 'sec_', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
const AKID = j('AK', 'IA', rand(16, UPPER_NUM));
const ASID = j('AS', 'IA', rand(16, UPPER_NUM));
const JWT_ALG = jwt('{"alg":"HS256","typ":"JWT"}');
const JWT_TYP = jwt('{"typ":"JWT","alg":"RS256","kid":"k-2026-11"}');
const JWT_KID = jwt('{"kid":"abc123","alg":"RS256"}');

test('a token glued to a letter before it is masked: GitHub, GitLab, Slack, Stripe, AWS, JWT', () => {
  const cases: [string, string, string][] = [
    // The token after a label with no separator, at a line's start, after a space, in a JSON string.
    [`token${GHP}`, GHP, 'token[REDACTED:github_token]'],
    [`using token${GHS} for org acme`, GHS, 'using token[REDACTED:github_token] for org acme'],
    [`{"msg":"clone with pat${PAT}"}`, PAT, '{"msg":"clone with pat[REDACTED:github_token]"}'],
    [`runner registered with token${GLPAT}`, GLPAT, 'runner registered with token[REDACTED:gitlab_token]'],
    [`slack notify failed with bot${SLACK}: not_authed`, SLACK, 'slack notify failed with bot[REDACTED:slack_token]: not_authed'],
    [`charge failed using key${STRIPE} (card_declined)`, STRIPE, 'charge failed using key[REDACTED:stripe_key] (card_declined)'],
    [`restricted key${RK}`, RK, 'restricted key[REDACTED:stripe_key]'],
    [`webhook secret${WHSEC} rotated`, WHSEC, 'webhook secret[REDACTED:stripe_key] rotated'],
    [`x${AKID}`, AKID, 'x[REDACTED:aws_access_key]'],
    [`aws sts: temporary id${ASID} issued`, ASID, 'aws sts: temporary id[REDACTED:aws_access_key] issued'],
    // JWTs with the header's first key alg, typ or kid; "Bearer" without its space.
    [`id_token${JWT_ALG} rejected`, JWT_ALG, 'id_token[REDACTED:jwt] rejected'],
    [`upstream 401 for Bearer${JWT_TYP}`, JWT_TYP, 'upstream 401 for Bearer[REDACTED:jwt]'],
    [`cognito jwt${JWT_KID}`, JWT_KID, 'cognito jwt[REDACTED:jwt]'],
  ];
  for (const [line, secret, want] of cases) {
    const out = red(line);
    assert.ok(!out.includes(secret), out);
    assert.equal(out, want, line);
  }
});

test('what only looks like a token inside a word stays: hashes, names, regions, class names', () => {
  for (const line of [
    // gh[pousr]_ at the end of a word: a lower-case hex hash, a lower-case or camelCase name.
    `weekly_highs_${'da39a3ee5e6b4b0d3255bfef95601890afd80709'} cached`,
    `x${j('gh', 'p_')}${'a1b2c3d4e5'.repeat(4)}`,
    `metric thighs_ComputeWeeklyAverageTemperatureNow1 ok`,
    // Stripe prefixes end many words: test keys and names after "disk_", "task_", "network_".
    'network_test_connectivity123 disk_live_MigrationStatus2026Final network_live_ConnectionsPerSecond2xxTotal',
    `task${j('_live_', 'migrationsnapshotsforvms0001')} desk_test_abcdefghijklmnop`,
    // AWS-looking ids inside region and resource names, in either case.
    'southeastasiaprodstorage01xy VMEASTASIAPRODUCTION000001 rg-eastasia',
    // After a lower-case letter but with digits outside the key ids' alphabet (A-Z, 2-7): a name.
    'eventASIAPACIFICREGION189 metricAKIAEXAMPLEBUCKET018',
    // "eyJ" inside a word: a class name, a header that names no alg, a JSON value's base64 that is no header.
    'com.example.keyJsonSerializer.deserialize.Foo',
    `x${j('eyJhb', 'GciOiJ9')}.abcdefgh.ijklmnop`,
    `x${b64url('{"alg":1,"typ":"JWT"}')}.abcdefgh.ijklmnop`,
    // GitLab and Slack prefixes glued to words: kebab-case names, upper case.
    `x${j('glp', 'at-')}some-long-kebab-case-name X${j('GLP', 'AT-')}ABCDEFGHIJ0123456789`,
    `bo${j('xox', 'b-')}notatoken-name-here X${j('XOX', 'B-')}123456789012-1234567890123-ABCDEFGHIJKLMNOPQRSTUVWX`,
  ]) {
    assert.equal(red(line), line, line);
  }
});

// Glued Stripe test keys and glued Google, npm, OpenAI and SendGrid keys are masked now where their shape
// proves them (redact-glued-vendor-keys.test.ts); an npm value without its checksum is none.
test('decided, not masked: tokens glued to a digit or "_", a glued npm value with no checksum', () => {
  for (const line of [
    `v2${GHP} id_${GHS}`,
    `x${j('np', 'm_')}${rand(36, ALNUM)}`,
  ]) {
    assert.equal(red(line), line, line);
  }
  // As before, at a word's start each of these is masked.
  assert.equal(red(`key ${j('sk', '_test_')}4eC39HqLyjWDarjtT1zdp7dc`), 'key [REDACTED:stripe_key]');
  assert.equal(red(`v2 ${GHP}`), 'v2 [REDACTED:github_token]');
});

test('a glued near miss is passed over: no value is turned down in it, what follows is scanned as before', () => {
  // Were the near miss a rejected value, "x123-45-6789" in it would be a glued SSN in a turned-down value.
  const lines = [
    `x${j('eyJhb', 'GciOiJ9')}.abcdefgh.x123-45-6789`,
    `thighs_${'a1b2c3d4e5'.repeat(4)}x123-45-6789`,
    `X${j('GLP', 'AT-')}abcdefghijklmnopqrst-x123-45-6789 password=hunter2`,
  ];
  assert.equal(red(lines[0] ?? ''), lines[0]);
  assert.equal(red(lines[1] ?? ''), lines[1]);
  assert.equal(red(lines[2] ?? ''), `X${j('GLP', 'AT-')}abcdefghijklmnopqrst-x123-45-6789 password=[REDACTED:password]`);
  // The exec loop and String.prototype.replace agree (no card here, so maskEnd plays no part).
  const loop = createReferenceRedactor({ builtin: [...REDACT_KINDS], custom: [] });
  const replace = createReferenceRedactor({ builtin: [...REDACT_KINDS], custom: [] }, 'string-replace');
  for (const line of [...lines, `token${GHP} and x${j('eyJhb', 'GciOiJ9')}.abcdefgh.ijklmnop then key${STRIPE}`]) {
    assert.deepEqual(replace.redact(line), loop.redact(line), line);
  }
});

/** base62 that looks random by construction: the character class changes at every position. */
const randomBase62 = (min: number, max: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 0, max: 61 }), { minLength: min, maxLength: max }).map((xs) =>
    xs.map((x, i) => ['ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz', '0123456789'][i % 3]?.[x % [26, 26, 10][i % 3]!] ?? 'A').join(''),
  );
/** Text before the token, ending in a small letter (an AWS key id wants one; see the header of redact.ts). */
const glue = fc.stringMatching(/^[a-zA-Z]{0,7}[a-z]$/);

test('property: a glued token never ships, in any context', () => {
  const tokens = fc.oneof(
    randomBase62(36, 60).map((b) => j('gh', 'p_', b)),
    randomBase62(36, 40).map((b) => j('gh', 'o_', b)),
    randomBase62(24, 99).map((b) => j('sk', '_live_', b)),
    randomBase62(24, 40).map((b) => j('wh', 'sec_', b)),
    randomBase62(20, 20).map((b) => j('glp', 'at-', b)),
    fc.stringMatching(/^[A-Z2-7]{16}$/).map((b) => j('AK', 'IA', b)),
    fc.constantFrom('{"alg":"HS256"}', '{"typ":"JWT","alg":"ES256"}', '{"kid":"a","alg":"RS256","typ":"at+jwt"}').map((h) => jwt(h)),
  );
  fc.assert(
    fc.property(tokens, glue, fc.constantFrom('', 'msg ', '{"m":"', 'url=/x?'), fc.constantFrom('', ' ok', '"}', '&n=1'), (tok, g, head, tail) => {
      // After a vowel "sk_" ends a word ("task_live_…"): redact-stripe-prefix-ending-a-word.test.ts.
      fc.pre(!(tok.startsWith('sk_') && /[aeiou]$/i.test(g)));
      const out = red(`${head}${g}${tok}${tail}`);
      assert.ok(!out.includes(tok), out);
      assert.equal(out.includes(`${g}[REDACTED:`), true, out);
    }),
    { numRuns: 2_000 },
  );
});

test('a glued token mask has nothing left to redact on a second pass', () => {
  for (const line of [`token${GHP}`, `pat${PAT} x${AKID}`, `bot${SLACK}: not_authed`, `key${STRIPE}`, `Bearer${JWT_TYP}`, `token${GLPAT}`]) {
    const once = red(line);
    assert.ok(once.includes('[REDACTED:'), once);
    assert.deepEqual(fast.redact(once), { text: once, redactions: 0 }, once);
  }
});

test('hostile inputs finish in linear time: 1 MiB of glued prefixes and near misses', { timeout: 60_000 }, () => {
  const r = createRedactor({ builtin: [...REDACT_KINDS], custom: [] });
  const mb = 1 << 20;
  const fill = (unit: string): string => unit.repeat(Math.floor(mb / unit.length));
  for (const s of [
    // Each a glued start whose value runs on through the next ones (quadratic, unbounded).
    fill(j('xeyJhb', 'GciOi')),
    fill(j('XEYJHB', 'GCIOI')),
    fill(j('xeyJhb', 'GciOiJ9.aaaaaaaa.')),
    fill(j('xglp', 'at-')),
    fill(j('XGLP', 'AT-1')),
    fill(j('xxox', 'b-1-')),
    fill(j('XXOX', 'B-1-')),
    fill(j('xgithub', '_pat_')),
    fill(j('x', 'gh', 'p_', 'a'.repeat(36), ' ')),
    fill(j('x', 'sk', '_live_', 'a'.repeat(30), ' ')),
    fill(j('xAK', 'IA')),
  ]) {
    // CPU time, with a bound far from both sides: each takes some 10-60 ms; a glued value left unbounded
    // goes quadratic (measured: 5.7 s for 256 KiB of "xGLPAT-", some 90 s for 1 MiB).
    const c0 = process.cpuUsage();
    assert.equal(typeof r.redact(s).text, 'string');
    const c = process.cpuUsage(c0);
    assert.ok(c.user + c.system < 10_000_000, `${s.slice(0, 24)}…: ${(c.user + c.system) / 1000} ms`);
  }
});
