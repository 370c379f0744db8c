/**
 * Review of 0bf0bce (glued SSN): an SSN or a card right after the last character of an escape ships.
 * The boundary look-behinds of the SSN and card rules read the "2" of nginx's \x22 or of a URL's
 * %22 / %20 as a digit of a longer number, and the "D" of %3D, the "A" of %3A or the "C" of %2C as a
 * letter of a word. So the number is no number of its own, and the glued-SSN rule does not take it
 * either (it wants a letter or "_" inside the turned-down value). This is older than 0bf0bce
 * (0bf0bce~1 ships the same), but it is the case the commit is about: "cvv%3Dx123-45-6789" (glued to a
 * letter of the value) is now masked, while "cvv%3D123-45-6789" (the value is the SSN) still ships,
 * and the module elsewhere reads \x22 and %3D as a quote and an "=" (bounded(), KV_SEP, KV_VALUE).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counters } from '../../src/monitor/counters.js';
import { RecordProcessor } from '../../src/processor.js';
import { REDACT_KINDS } from '../../src/sanitize/redact.js';
import { red } from './both-redactors.js';

test('a turned-down value that is an SSN after %3D or nginx \\x22 is masked, as the glued one is', () => {
  // The commit's own case, in its URL-encoded and nginx-escaped spellings: the glued variant is masked...
  assert.equal(red('cvv%3Dx123-45-6789'), 'cvv%3Dx[REDACTED:ssn]');
  assert.equal(red('{\\x22cvv\\x22:\\x22x123-45-6789\\x22}'), '{\\x22cvv\\x22:\\x22x[REDACTED:ssn]\\x22}');
  // ...and the plain SSN as the whole value shipped (got the line unchanged).
  assert.equal(red('cvv%3D123-45-6789'), 'cvv%3D[REDACTED:ssn]');
  assert.equal(red('{\\x22cvv\\x22:\\x22123-45-6789\\x22}'), '{\\x22cvv\\x22:\\x22[REDACTED:ssn]\\x22}');
  // As "cvv=123-45-6789" and {"cvv":"123-45-6789"} always were.
  assert.equal(red('cvv=123-45-6789'), 'cvv=[REDACTED:ssn]');
  assert.equal(red('{"cvv":"123-45-6789"}'), '{"cvv":"[REDACTED:ssn]"}');
});

test('an SSN or a card right after an escaped quote, "=", ":" or "," is masked', () => {
  const cases: [string, string][] = [
    // nginx's default escaping of a logged request body.
    ['"{\\x22ssn\\x22:\\x22123-45-6789\\x22}"', '"{\\x22ssn\\x22:\\x22[REDACTED:ssn]\\x22}"'],
    ['"{\\x22card\\x22:\\x224111111111111111\\x22}"', '"{\\x22card\\x22:\\x22[REDACTED:pan]\\x22}"'],
    ['"{\\x22card\\x22:\\x224111 1111 1111 1111\\x22}"', '"{\\x22card\\x22:\\x22[REDACTED:pan]\\x22}"'],
    // URL-encoded JSON and forms in a query string (analytics beacons, callback payloads).
    ['e=%7B%22ssn%22%3A%22123-45-6789%22%7D', 'e=%7B%22ssn%22%3A%22[REDACTED:ssn]%22%7D'],
    ['e=%7B%22pan%22%3A%224111111111111111%22%7D', 'e=%7B%22pan%22%3A%22[REDACTED:pan]%22%7D'],
    ['data=ssn%3D123-45-6789%26x%3D1', 'data=ssn%3D[REDACTED:ssn]%26x%3D1'],
    ['data=card%3D4111111111111111%26x%3D1', 'data=card%3D[REDACTED:pan]%26x%3D1'],
    ['q=ids%3A123-45-6789%2C234-56-7890', 'q=ids%3A[REDACTED:ssn]%2C[REDACTED:ssn]'],
    ['q=name%20123-45-6789', 'q=name%20[REDACTED:ssn]'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('through the record path: an nginx line with an escaped JSON body ships no SSN and no card', () => {
  const processor = new RecordProcessor({
    agentId: 'web-01',
    parser: 'auto',
    format: 'ecs',
    cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: [...REDACT_KINDS], custom: [] },
    maxLineBytes: 1 << 20,
    counters: new Counters(),
    timeZone: 'UTC',
    host: { name: 'web-01', ips: [] },
    now: () => new Date('2026-11-22T12:00:00Z'),
  });
  const src = { input: 'review', identity: 'fp:1', path: '/var/log/nginx/access.log', offset: 0, end: 10 };
  for (const line of [
    '203.0.113.9 - - [22/Nov/2026:10:00:01 +0000] "POST /apply HTTP/1.1" 200 5 "-" "curl/8" "{\\x22name\\x22:\\x22bob\\x22,\\x22ssn\\x22:\\x22123-45-6789\\x22}"',
    '203.0.113.9 - - [22/Nov/2026:10:00:01 +0000] "POST /pay HTTP/1.1" 200 5 "-" "curl/8" "{\\x22card\\x22:\\x224111111111111111\\x22,\\x22cvv\\x22:\\x22123\\x22}"',
    '203.0.113.9 - - [22/Nov/2026:10:00:01 +0000] "GET /t?e=%7B%22ssn%22%3A%22123-45-6789%22%2C%22card%22%3A%224111111111111111%22%7D HTTP/1.1" 200 5 "-" "curl/8"',
  ]) {
    const r = processor.process({ bytes: Buffer.from(line), source: src });
    // Got: the SSN and the card in message, event.original and url.* (the cvv beside the card was masked).
    assert.ok(!r.payload.includes('123-45-6789'), r.payload);
    assert.ok(!r.payload.includes('4111111111111111'), r.payload);
  }
});

test('what the escapes stand before stays as it was: numbers that are no SSN or card', () => {
  for (const line of [
    'GET /s?q=%22123-45-67890%22&page=%2012 HTTP/1.1',
    '"{\\x22order\\x22:\\x22ORD-123-45-6789\\x22,\\x22qty\\x22:\\x2212\\x22}"',
    'e=%7B%22n%22%3A%224111111111111112%22%7D',
    'q=v%3D1.123-45-6789 ratio%3D0.4111111111111111',
    'q=%3D666-12-3456%3D923-45-6789',
  ]) {
    assert.equal(red(line), line, line);
  }
});
