/**
 * Review of f0b42d3: a token whose end boundary refused it because a glued key's prefix went on its
 * run ("AKIA…OP" + "AIza…", "ghp_…m" + "sk_test_…") is masked only on a second pass: the first pass
 * masks the glued key, and the second reads "[" right after the token, which then stands alone. The
 * pipeline redacts twice (RecordProcessor.canonicalJson), and a redacted line must redact to itself;
 * the first pass also ships the AWS key id or GitHub token in clear. f0b42d3~1 had the same flaw for
 * the glued keys it looked for (sk_live_, rk_live_, whsec_); f0b42d3 adds Google, SendGrid, npm, OpenAI
 * and Stripe test keys to them. Now a line where a glued key was masked is read again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fast, red } from './both-redactors.js';

/** Split so the source never holds a whole vendor-format token (keeps secret scanners quiet). */
const j = (...p: string[]): string => p.join('');
const AWS_ID = j('AK', 'IA', 'ABCDEFGHIJKLMNOP');
const GH = j('gh', 'p_', 'zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ0mLq1m');
const GOOGLE = j('AI', 'za', 'SyD7kq2Lm-Z9vB4nR1tY8wLc_P3sJ7hUe0G');
const STRIPE_TEST = j('sk', '_test_', '4eC39HqLyjWDarjtT1zdp7dc');

test('a token right before a glued key is masked on the first pass, and a second pass changes nothing', () => {
  const cases: [string, string][] = [
    [`creds ${AWS_ID}${GOOGLE}`, 'creds [REDACTED:aws_access_key][REDACTED:gcp_api_key]'],
    [`creds ${GH}${STRIPE_TEST}`, 'creds [REDACTED:github_token][REDACTED:stripe_key]'],
  ];
  for (const [line, want] of cases) {
    const once = red(line);
    assert.equal(once, want);
    assert.deepEqual(fast.redact(once), { text: once, redactions: 0 }, `second pass over ${once}`);
  }
});
