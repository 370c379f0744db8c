/**
 * The decimal-comma exception (found by review): a card that is the last
 * element of a JSON number array, or the last CSV column after a numeric column, is read as the
 * fraction of a decimal comma and shipped. "[4111111111111111,5555555555554444]" masks the first
 * card and ships the second ("1,5555…" looks like a decimal), "…,1001,4111111111111111" ships the card.
 * No decimal comma is followed by "]" (an array closes), and no decimal's integer part follows a comma.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { red } from './both-redactors.js';


test('a card closing a JSON number array, or a CSV row after a numeric column, is masked', () => {
  const cases: [string, string][] = [
    ['{"cards":[4111111111111111,5555555555554444]}', '{"cards":[[REDACTED:pan],[REDACTED:pan]]}'],
    ['{"ids":[12,4111111111111111]}', '{"ids":[12,[REDACTED:pan]]}'],
    ['2026-11-22T10:00:00Z,1001,4111111111111111', '2026-11-22T10:00:00Z,1001,[REDACTED:pan]'],
    ['1001,17,5555555555554444 ok', '1001,17,[REDACTED:pan] ok'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('decimal commas still pass', () => {
  for (const line of [
    'Wert=0,4532015112830366',
    'Summe 12,4111111111111111 EUR',
    'id 1001,4111111111111111 x',
    'Wert=0,4532015112830366.',
    '2026-11-22;1001;0,4532015112830366',
    'x 1.234,56 y 12,5',
  ]) assert.equal(red(line), line, line);
});
