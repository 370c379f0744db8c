/**
 * The rescan budget (src/sanitize/redact.ts, rescanBudget) is for long turned-down values nested in one
 * another ("cvv=cvv=…"): past it a long turned-down value is masked whole as [REDACTED:unscanned]. On a
 * run of digit groups every group start is a card-rule match that issuer, length or Luhn turns down, and
 * each was scanned again from its next character, about 20 characters a group, drawing on that budget:
 * a benign line of a few hundred groups ("pids 2101 2102 …", a list of ids or counters) spent it, and a
 * long turned-down value after them (a working directory) was masked whole. Values of RESCAN_FREE (32)
 * characters or less, which were always scanned again, no longer draw on it: their cost is bounded per
 * match. The budget still bounds the rest; that is checked by counting the characters the scan passes
 * over (a work counter on RegExp.prototype.exec), never by time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { red } from './both-redactors.js';

/**
 * A line of `groups` numbers of four digits, then a working directory of 40+ characters. Each number
 * starts a card-rule match (its first digit is an issuer's, so the pre-screen wakes the card rule), and
 * none can be a card's first group: no issuer's prefix lies in 2001..2199. (Consecutive numbers from
 * 2200 on make Mir and Mastercard numbers that pass Luhn, and ARE masked: see the header of redact.ts.)
 */
function digitsThenPwd(groups: number, pwd = '/srv/releases/2026-11-22/app-server-blue-green'): string {
  const pids = Array.from({ length: groups }, (_, i) => String(2001 + (i % 199))).join(' ');
  return `Nov 22 10:00:00 web-01 audit[812]: reaped ${pids} ; PWD=${pwd} ; USER=deploy`;
}

test('a long turned-down value after many digit groups is scanned, not masked whole', () => {
  for (const groups of [100, 600, 2_000]) {
    const line = digitsThenPwd(groups);
    // Got: "… ; PWD=[REDACTED:unscanned] ; USER=deploy" from 600 groups on.
    assert.equal(red(line), line, `${groups} groups`);
  }
  // The same with other separators and group sizes a card's grouped forms take.
  const stats = `stats ${'2345 6789 '.repeat(400)}cvv=not-provided-by-the-gateway-for-this-order end`;
  assert.equal(red(stats), stats);
  const cols = `cols ${'5123 456789 '.repeat(300)}PWD=/home/deploy/checkouts/feature-long-branch-name ; USER=deploy`;
  assert.equal(red(cols), cols);
});

test('what the scanned value holds is masked as itself, and a card among the groups is still masked', () => {
  const line = digitsThenPwd(600, '/srv/claims/2026/november/scans/ab123-45-6789');
  assert.ok(red(line).endsWith(' ; PWD=/srv/claims/2026/november/scans/ab[REDACTED:ssn] ; USER=deploy'), red(line).slice(-90));
  const card = `${digitsThenPwd(600).replace('reaped 2001', 'reaped 4111 1111 1111 1111 x 2001')}`;
  const out = red(card);
  assert.ok(out.includes('reaped [REDACTED:pan] x 2001 2002'), out.slice(0, 90));
  assert.ok(!out.includes('unscanned'), out.slice(-90));
});

test('a crafted line still spends the budget: nested values after the digit groups are closed, not opened', () => {
  const chain = `${'cvv='.repeat(400)}x`;
  const secret = ' PWD=/srv/claims/2026/november/scans/batch-17/4111 1111 1111 1111 ; USER=root';
  const line = `${'2345 6789 '.repeat(400)}q=${chain}${secret}`;
  const out = red(line);
  assert.ok(out.includes('[REDACTED:unscanned]'), 'the nested chain spent the budget');
  assert.ok(!out.includes('1111 1111 1111'), out.slice(-120));
});

/**
 * Characters the scan passes over while `fn` runs: for each exec of a global or sticky regex (the
 * combined rules' exec loop, and the card look-ups of maskEnd and gluedEnd), from where it starts to
 * the end of its match (or of the text). A rescan starts before where the last match ended, so it
 * counts again. The anchored one-shot tests of a value (placeholder, cvv code) are left out.
 */
function scanWork(fn: () => void): number {
  const exec = RegExp.prototype.exec;
  let work = 0;
  RegExp.prototype.exec = function counted(this: RegExp, s: string): RegExpExecArray | null {
    if (!this.global && !this.sticky) return exec.call(this, s);
    const from = this.lastIndex;
    const m = exec.call(this, s);
    work += (m === null ? s.length : m.index + m[0].length) - from;
    return m;
  };
  try {
    fn();
  } finally {
    RegExp.prototype.exec = exec;
  }
  return work;
}

const MiB = 1 << 20;
const fill = (unit: string, n: number): string => unit.repeat(Math.ceil(n / unit.length)).slice(0, n);

test('1 MiB lines of digit groups, nested values and both take work linear in their length', () => {
  const lines: Record<string, string> = {
    'space groups': fill('2345 6789 ', MiB),
    'card-like groups failing Luhn': fill('4111 1111 1111 1112 ', MiB),
    '4-6 groups': fill('3782 822463 ', MiB),
    'dashed and dotted groups': fill('2345-6789-3456.7890.', MiB),
    'ssn shapes, glued and not': fill('cvv=x923-45-6789 123-00-4567 ', MiB),
    'glued SSNs in one turned-down value, and outside': `PWD=/${fill('x123-45-6789/', MiB / 2)} ${fill('x123-45-6789 ', MiB / 2)}`,
    'short nested chains': fill(`&a=${'cvv='.repeat(8)}x`, MiB),
    'groups then a long nested chain': `${fill('2345 6789 ', MiB - 65_536)}q=${'cvv='.repeat(16_383)}x`,
    'groups between long chains': fill(`${'2345 6789 '.repeat(50)}q=${'cvv='.repeat(40)}x `, MiB),
  };
  for (const [name, line] of Object.entries(lines)) {
    let out = '';
    const work = scanWork(() => {
      out = red(line);
    });
    // Both redactors ran (red compares them): twice one's work. Measured: 4.6 to 6.2 characters a character
    // each. The budget alone allows 2 and a short rescan at most 32 per match; a quadratic scan would be
    // thousands of times the length.
    assert.ok(work <= 2 * (8 * line.length + 8192), `${name}: ${(work / line.length).toFixed(1)} characters scanned per character`);
    assert.ok(out.length > 0);
  }
});
