/**
 * RESCAN_FREE (src/sanitize/redact.ts): a turned-down value this short is scanned again even once the
 * line's rescan budget is spent. The budget is for long values nested in one another ("cvv=cvv=…"), and
 * past it a long turned-down value is masked whole as [REDACTED:unscanned]; a short one still hides no
 * more than a card's first group, a counter or a path, and is looked at as on any other line. Nothing
 * held this: with the constant at 0, every short turned-down value after a spent budget became
 * [REDACTED:unscanned], the counter and the code with it, and "session=4111 1111 1111 1111" shipped
 * twelve card digits after that mask (the mask took the value "4111" only). The effect is observed on
 * the output, never on time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { red } from './both-redactors.js';

const chain = (m: number): string => `${'cvv='.repeat(m)}x`;

/**
 * A crafted request that spends the rescan budget: one long chain of nested turned-down values
 * (rescanned until the budget is short of the next one, the rest masked [REDACTED:unscanned]), then
 * `short` chains of values of 32 characters or less, each rescanned and drawing on what is left.
 */
function spender(short: number): string {
  return `203.0.113.9 - - "GET /s?q=${chain(100)}${`&a=${chain(8)}`.repeat(short)} HTTP/1.1" 200 512`;
}

/** Short turned-down values holding a card, a counter, a code that is none, and an SSN in a path. */
const TAIL = ' "session=4111 1111 1111 1111 session=42 cvv=12345 PWD=/srv/claims/123-45-6789 ;"';

test('past a spent rescan budget, short turned-down values are scanned again as on any other line', () => {
  const alone = red(TAIL);
  assert.equal(alone, ' "session=[REDACTED:pan] session=42 cvv=12345 PWD=/srv/claims/[REDACTED:ssn] ;"');
  for (let short = 0; short <= 40; short += 4) {
    const out = red(spender(short) + TAIL);
    // The budget was spent: the long chain's rest is masked whole.
    assert.ok(out.includes('[REDACTED:unscanned]'), `${short}: the budget was never spent`);
    assert.ok(out.endsWith(alone), `${short}: ${out.slice(-110)}`);
    assert.ok(!out.includes('1111 1111 1111'), `${short}: card digits shipped`);
  }
});
