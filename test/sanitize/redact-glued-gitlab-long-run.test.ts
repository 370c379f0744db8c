/**
 * A GitLab token glued to a letter shipped whole when more token characters ("-", "_", letters,
 * digits) followed it past 64 characters: the glued value was bounded at 64 (the bound keeps a line
 * of glued prefixes linear) and then had to end the run ((?![a-z0-9_-])), so a longer run was no match
 * at all. A second token glued after it was then found on its own, and the second pass, where the
 * first token now ends at the mask's "[", masked the first: the output changed on a second pass.
 * The glued value now takes at most 64 characters of the run, with no look-ahead, as Slack's does; a
 * digit or a capital must stand in those 64 (a long kebab-case name stays).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fast, red } from './both-redactors.js';

/** Split so the source never holds a whole vendor-format token (keeps secret scanners quiet). */
const j = (...p: string[]): string => p.join('');
const GLPAT = j('glp', 'at-', 'x7Kq2mZ9vB4nR1tY8wLc');
const GLRT = j('gl', 'rt-', 'Qm3Zp8Kw1Vb6Ny4Tr9Hd');

test('a glued GitLab token followed by more token characters is masked, and a second pass changes nothing', () => {
  const cases: [string, string][] = [
    // Tokens logged back to back (a rotation message that concatenates them): the first shipped, and a
    // second pass masked it. Now the glued value's 64 characters are masked (the third token's last 7
    // characters are left after the mask: accepted, the bound keeps the scan linear).
    [`rotated token${GLPAT}${j('glp', 'at-')}Zz9Yy8Xx7Ww6Vv5Uu4Tt${GLRT}`, 'rotated token[REDACTED:gitlab_token]y4Tr9Hd'],
    // A token glued to its label, then a dashed or snake_case suffix with no separator: shipped whole.
    [`runner registered with token${GLRT}-payments-api-prod-eu-west-1-shard-0042-canary-blue`, 'runner registered with token[REDACTED:gitlab_token]ry-blue'],
    [`cache key ci${GLPAT}_project_4242_pipeline_98765_job_1234567_artifacts`, 'cache key ci[REDACTED:gitlab_token]ifacts'],
  ];
  for (const [line, want] of cases) {
    const once = red(line);
    assert.ok(!once.includes('x7Kq2mZ9vB4nR1tY8wLc') && !once.includes('Qm3Zp8Kw1Vb6Ny4Tr9Hd'), `token shipped: ${once}`);
    assert.equal(once, want, line);
    assert.equal(fast.redact(once).text, once, `second pass changed ${JSON.stringify(once)}`);
  }
});

test('glued GitLab-like kebab-case names with no digit or capital stay, however long', () => {
  for (const line of [
    `x${j('glp', 'at-')}some-long-kebab-case-name-for-the-platform-team-observability-dashboards`,
    `x${j('glp', 'at-')}some-long-kebab-case-name-for-the-platform-team-observability-dashboards-2`,
    `svc${j('gl', 'ft-')}feature-flag-evaluation-service-in-the-default-namespace-of-the-cluster ok`,
  ]) {
    assert.equal(red(line), line, line);
  }
});
