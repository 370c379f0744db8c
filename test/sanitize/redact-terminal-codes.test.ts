/**
 * A card (or SSN) right after a terminal escape sequence is masked (found by review).
 *
 * 1. A card boundary that accepted a card glued to a letter only when the letter was the "m"
 *    of an SGR colour code shipped cards after other CSI sequences. Every other CSI sequence ends in a letter too:
 *    ESC[K / ESC[2K (erase line: every progress redraw, GitLab CI's ESC[0K), ESC[1G, ESC[H,
 *    ESC[1A, ESC[?25l (cursor hide). Those cards must be masked too.
 * 2. Pre-existing: in a JSON line (Docker json-file of a TTY container, any JSON logger) the
 *    neutralizer never sees ESC: it is the six characters "\u001b", so the boundary's
 *    "{U+001B}[" exception does not apply and event.original / message carry the card
 *    (util.inspect colours numbers: "\u001b[33m4111111111111111\u001b[39m"). The canonical-JSON
 *    re-check does not help: JSON.stringify writes the escape back. The SSN rule has no
 *    colour-code exception at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { red } from './both-redactors.js';


test('a card right after any CSI sequence (not only a colour code) is masked', () => {
  const cases: [string, string][] = [
    ['{U+001B}[2K4111 1111 1111 1111', '{U+001B}[2K[REDACTED:pan]'],
    ['{U+001B}[0K4111111111111111', '{U+001B}[0K[REDACTED:pan]'],
    ['{U+000D}{U+001B}[K5555-5555-5555-4444', '{U+000D}{U+001B}[K[REDACTED:pan]'],
    ['{U+001B}[2K{U+001B}[1G4111 1111 1111 1111 ok', '{U+001B}[2K{U+001B}[1G[REDACTED:pan] ok'],
    ['{U+001B}[1;1H3782 822463 10005', '{U+001B}[1;1H[REDACTED:pan]'],
    ['{U+001B}[?25l4111 1111 1111 1111', '{U+001B}[?25l[REDACTED:pan]'],
    // The parameters are still one group: no card starts inside them.
    ['{U+001B}[14111 1111 1111 1111', '{U+001B}[14111 1111 1111 1111'],
    ['{U+001B}[2K14111 1111 1111 1111', '{U+001B}[2K14111 1111 1111 1111'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('a card or SSN right after a colour code written as a JSON or C escape is masked', () => {
  const cases: [string, string][] = [
    ['{"log":"card=\\u001b[33m4111111111111111\\u001b[39m\\n","stream":"stdout"}', '{"log":"card=\\u001b[33m[REDACTED:pan]\\u001b[39m\\n","stream":"stdout"}'],
    ['{"msg":"\\u001B[1m4111 1111 1111 1111\\u001B[22m"}', '{"msg":"\\u001B[1m[REDACTED:pan]\\u001B[22m"}'],
    ['GET /\\x1b[33m4111111111111111 HTTP/1.1', 'GET /\\x1b[33m[REDACTED:pan] HTTP/1.1'],
    ['ssn {U+001B}[1m123-45-6789{U+001B}[0m', 'ssn {U+001B}[1m[REDACTED:ssn]{U+001B}[0m'],
    ['{"log":"\\u001b[33m123-45-6789\\u001b[39m"}', '{"log":"\\u001b[33m[REDACTED:ssn]\\u001b[39m"}'],
    // Still no card or SSN glued to a word.
    ['x m4111111111111111 am123-45-6789', 'x m4111111111111111 am123-45-6789'],
    ['u001b[33m4111111111111111', 'u001b[33m4111111111111111'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});
