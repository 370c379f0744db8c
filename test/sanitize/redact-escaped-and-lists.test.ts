/**
 * Cards that reached the output through the line-level redaction (found by review).
 *  1. after a JSON short escape (\t, \n, \r): line-level redaction sees a JSON line as written, so
 *     "declined:\t4111111111111111" is the word "t4111…" to the boundary look-behind, and a card on a
 *     message's second line ("…\n4111 1111 1111 1111") ships in event.original. 400bb04 made
 *     JSON-written terminal codes a boundary, not JSON-written whitespace. The SSN rule likewise.
 *  2. the second card of a comma-separated list ("4111…,5500…"): read as the fraction of a decimal
 *     comma whose integer part is a 16-digit card. 400bb04 fixed only the list inside "[…]".
 *  3. after a 24-bit foreground+background SGR: its 29 parameter characters exceed the {0,16} bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Counters } from '../../src/monitor/counters.js';
import { RecordProcessor } from '../../src/processor.js';
import { createRedactor, createReferenceRedactor, REDACT_KINDS } from '../../src/sanitize/redact.js';

const fast = createRedactor({ builtin: [...REDACT_KINDS], custom: [] });
const ref = createReferenceRedactor({ builtin: [...REDACT_KINDS], custom: [] });
const CARD = /4111 ?1111 ?1111 ?1111|5500 ?0000 ?0000 ?0004|123-45-6789/;

function shipped(line: string, format: 'ecs' | 'cef'): string {
  const p = new RecordProcessor({
    agentId: 'web-01', parser: 'auto', format, cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: [...REDACT_KINDS], custom: [] }, maxLineBytes: 1 << 20, counters: new Counters(), timeZone: 'UTC',
    host: { name: 'web-01', ips: [] }, now: () => new Date('2026-11-22T12:00:00Z'),
  });
  return p.process({ bytes: Buffer.from(line), source: { input: 'review', identity: 'fp:1', path: '/var/log/app.log', offset: 0, end: 10 } }).payload;
}

const leaks: Record<string, string[]> = {
  'JSON-escaped TAB/LF/CR before a card or SSN': [
    '{"log":"charge declined:\\t4111111111111111\\n","stream":"stdout","time":"2026-11-22T12:00:00Z"}',
    '{"msg":"charge declined\\n4111 1111 1111 1111","level":"warn"}',
    '{"msg":"charge declined\\r\\n4111-1111-1111-1111","level":"warn"}',
    '{"msg":"charge declined:\\u00094111 1111 1111 1111","level":"warn"}',
    '{"msg":"applicant\\t123-45-6789","level":"info"}',
  ],
  'the second card of a comma-separated list': [
    'Nov 22 12:00:00 web-01 app[12]: cards 4111111111111111,5500000000000004',
    '{"msg":"batch","cards":"4111111111111111,5500000000000004"}',
  ],
  'a card after a 24-bit fg+bg colour code': ['Nov 22 12:00:00 web-01 app[12]: \u001b[38;2;255;255;255;48;2;0;0;0m4111 1111 1111 1111'],
};

for (const [what, lines] of Object.entries(leaks)) {
  test(`no card or SSN reaches the output: ${what}`, () => {
    for (const line of lines) {
      for (const format of ['ecs', 'cef'] as const) {
        const out = shipped(line, format);
        assert.doesNotMatch(out, CARD, `${format} shipped a secret of ${line}:\n${out}`);
      }
    }
  });
}

test('benign neighbours stay unchanged, and the pre-screen agrees with the reference', () => {
  const benign = [
    'Wert=0,4532015112830366',
    'amount 12,4111111111111111;',
    'C:\\\\Windows\\\\tmp4111111111111111', // an escaped backslash and then a word
    'build v1.2.3 took 4111ms',
    '{"msg":"done\\n","elapsed_ms":1234}',
    'ratio 1234567890123,4',
    '{U+001B}[38;2;255;255;255;48;2;0;0;0mOK',
  ];
  for (const l of benign) assert.equal(fast.redact(l).text, l, l);
  for (const l of [...benign, ...Object.values(leaks).flat()]) assert.equal(fast.redact(l).text, ref.redact(l).text, l);
});
