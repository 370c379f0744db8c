/**
 * Once a line's rescan budget is spent, a long turned-down value is masked whole as
 * [REDACTED:unscanned] ("closed, not open"). A value stops at the first space, so when it ends with a
 * card's first group ("PWD=/srv/…/ab4111 1111 1111 1111", "PWD=/srv/…/4111 1111 1111 1111") the mask
 * takes that group only and the next twelve digits ship in clear: too few for the card rule once the
 * first group is gone. maskEnd widens every other mask over such a card; this one skips it. (Older
 * than the glued-card commit: 4b47020~1 ships the same twelve digits. The glued-card commit masks the
 * glued card in the same value when the budget is not spent, so the line's author decides, by spending
 * it first, whether the card ships.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { red } from './both-redactors.js';

const chain = (m: number): string => `${'cvv='.repeat(m)}x`;
/** A crafted request that spends the rescan budget (as in redact-rescan-free.test.ts). */
const SPENDER = `203.0.113.9 - - "GET /s?q=${chain(100)}${`&a=${chain(8)}`.repeat(40)} HTTP/1.1" 200 512`;

test('past a spent rescan budget, a long turned-down value that ends with a card first group is masked with the card', () => {
  for (const tail of [
    ' PWD=/srv/claims/2026/november/scans/batch-17/ab4111 1111 1111 1111 ; USER=root',
    ' PWD=/srv/claims/2026/november/scans/batch-17/4111 1111 1111 1111 ; USER=root',
    ' cvv=abcdefghijklmnopqrstuvwxyz0123456789_4111 1111 1111 1111 ok',
  ]) {
    // Alone, the card is masked (the glued one by the glued rule, the other by the card rule).
    assert.ok(!red(tail).includes('1111 1111 1111'), tail);
    const out = red(SPENDER + tail);
    assert.ok(out.includes('[REDACTED:unscanned]'), 'the budget was spent');
    assert.ok(!out.includes('1111 1111 1111'), `card digits shipped: ${out.slice(-80)}`);
  }
});
