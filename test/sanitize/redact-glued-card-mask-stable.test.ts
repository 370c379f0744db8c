/**
 * A mask the glued-card rule leaves behind a turned-down session value ("session=ab[REDACTED:pan]") is
 * not stable: redacted again, the value reads "ab[REDACTED:pan" (the value stops at "]"), 15 characters,
 * long enough for a session id, and the line becomes "session=[REDACTED:session_token]]": a new
 * redaction, the card's kind gone and a stray "]". Every other mask is stable (redact.test.ts, "redaction
 * is stable"), and the pipeline relies on it: a JSON line with a \u escape is re-serialised and redacted
 * again (RecordProcessor.canonicalJson), and a second pass that finds "a secret the line-level pass
 * missed" replaces event.original with the canonical form and tags it original_normalized.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counters } from '../../src/monitor/counters.js';
import { RecordProcessor } from '../../src/processor.js';
import { fast, red } from './both-redactors.js';

test('a glued card mask has nothing left to redact on a second pass', () => {
  for (const line of [
    'session_id=abc4111 1111 1111 1111',
    'PHPSESSID=x_4111 1111 1111 1111; path=/',
    'session=a4111 1111 1111 1111 123 ok',
    'sshd[2219]: session=ab5555 5555 5555 4444 from 192.0.2.44 port 5123',
    'cvv=abc4111 1111 1111 1111',
    'sudo: alice : PWD=/srv/claims/ab4111 1111 1111 1111 ; USER=root',
  ]) {
    const once = red(line);
    assert.ok(once.includes('[REDACTED:pan]'), once);
    const twice = fast.redact(once);
    assert.deepEqual(twice, { text: once, redactions: 0 }, `re-redacted: ${once} -> ${twice.text}`);
  }
});

test('a JSON line with an escape keeps its original spelling when its only secret is a glued card', () => {
  const p = new RecordProcessor({
    agentId: 'web-01',
    parser: 'auto',
    format: 'ecs',
    cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: ['pan', 'national_id', 'password', 'credentials', 'api_keys', 'private_keys'], custom: [] },
    maxLineBytes: 1024,
    counters: new Counters(),
    timeZone: 'UTC',
    host: { name: 'web-01', ips: [] },
    now: () => new Date('2026-11-22T12:00:00Z'),
  });
  const line = '{"message":"caf\\u00e9 session=ab4111 1111 1111 1111 ok"}';
  const r = p.process({ bytes: Buffer.from(line), source: { input: 'app', identity: 'fp:1', path: '/var/log/app.log', offset: 0, end: 10 } });
  // Got: {"message":"café session=[REDACTED:session_token]] ok"}, tagged original_normalized.
  assert.equal(r.event.fields['event.original'], '{"message":"caf\\u00e9 session=ab[REDACTED:pan] ok"}');
  assert.ok(!(r.event.fields['tags'] as string[]).includes('original_normalized'));
});
