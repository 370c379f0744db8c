/**
 * Review of 0bf0bce (glued SSN): redaction is no longer stable when a glued SSN follows a mask that
 * maskEnd widened over a card. "--token 4111 1111 1111 1111/x123-45-6789": the first pass masks the
 * --token value "4111" and widens the mask over the card; "/x123-45-6789" was in no value, so the
 * glued SSN (one word with its letter, by the header of redact.ts) stays. On a second pass the --token
 * value reads "[REDACTED:token]/x123-45-6789": a value that begins with our mask is turned down and
 * scanned again, and the glued-SSN rule now masks "x123-45-6789" there. 0bf0bce~1 gives the same text
 * on both passes. (The glued card rule has had the same flaw: "… 1111/x4111 1111 1111 1111".)
 * The pipeline redacts twice: a JSON line with a \u escape is re-serialised and redacted again
 * (RecordProcessor.canonicalJson), and a second pass that finds anything replaces event.original
 * with the canonical form and tags it original_normalized.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counters } from '../../src/monitor/counters.js';
import { RecordProcessor } from '../../src/processor.js';
import { REDACT_KINDS } from '../../src/sanitize/redact.js';
import { fast, red } from './both-redactors.js';

test('a glued SSN after a mask widened over a card is left alike on the first and the second pass', () => {
  for (const [line, once] of [
    ['--token 4111 1111 1111 1111/x123-45-6789', '--token [REDACTED:token]/x123-45-6789'],
    ['X-Api-Key: 4111 1111 1111 1111/x123-45-6789', 'X-Api-Key: [REDACTED:api_key]/x123-45-6789'],
    ['--password 4111 1111 1111 1111.x123-45-6789', '--password [REDACTED:password].x123-45-6789'],
    ['htpasswd -c f u 4111 1111 1111 1111&x123-45-6789', 'htpasswd -c f u [REDACTED:pan]&x123-45-6789'],
    // The same for a glued card (older than 0bf0bce).
    ['--token 4111 1111 1111 1111/x4111 1111 1111 1111', '--token [REDACTED:token]/x4111 1111 1111 1111'],
  ] as const) {
    assert.equal(red(line), once, line);
    // Got, e.g.: "--token [REDACTED:token]/x[REDACTED:ssn]" with one redaction.
    assert.deepEqual(fast.redact(once), { text: once, redactions: 0 }, `second pass over ${once}`);
  }
});

test('through the record path: a JSON line with a \\u escape keeps its own spelling', () => {
  const p = new RecordProcessor({
    agentId: 'web-01',
    parser: 'auto',
    format: 'ecs',
    cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: [...REDACT_KINDS], custom: [] },
    maxLineBytes: 1024,
    counters: new Counters(),
    timeZone: 'UTC',
    host: { name: 'web-01', ips: [] },
    now: () => new Date('2026-11-22T12:00:00Z'),
  });
  const line = '{"message":"caf\\u00e9 run --token 4111 1111 1111 1111/x123-45-6789 ok"}';
  const r = p.process({ bytes: Buffer.from(line), source: { input: 'app', identity: 'fp:1', path: '/var/log/app.log', offset: 0, end: 10 } });
  // Got: {"message":"café run --token [REDACTED:token]/x[REDACTED:ssn] ok"}, tagged original_normalized.
  assert.equal(r.event.fields['event.original'], '{"message":"caf\\u00e9 run --token [REDACTED:token]/x123-45-6789 ok"}');
  assert.ok(!(r.event.fields['tags'] as string[]).includes('original_normalized'));
});
