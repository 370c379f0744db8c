/**
 * log.file.path is a file name, and whoever can write the log directory chooses
 * it: it is neutralized like every other text field (DESIGN "Safe text": no
 * output field carries a raw control or invisible character), and the event
 * says so with log_injection_neutralized. event.id stays derived from the
 * source identity and offset, never from the name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeCef } from '../../src/encode/cef.js';
import { EventBuilder } from '../../src/event/build.js';
import type { ParseResult, RawRecord } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';
import { RecordProcessor, type ProcessorOptions } from '../../src/processor.js';

const agent = { id: 'web-01', version: '9.9.9', hostName: 'web-01.example.com', hostIps: ['192.0.2.10'], ecsVersion: '9.3.0' };
const now = new Date('2026-11-22T10:05:00.000Z');
const parsed: ParseResult = { parser: 'plain', message: 'hello', fields: {} };
const HOSTILE = '/var/log/app\u0001\uFE0F\u20E3\u202Egol.txt';
const SHOWN = '/var/log/app{U+0001}{U+FE0F}\u20E3{U+202E}gol.txt';

function record(path: string | undefined): RawRecord {
  return { bytes: Buffer.from('hello'), source: { input: 'files', identity: 'fp:abc', offset: 812, end: 818, ...(path !== undefined ? { path } : {}) } };
}

function processor(format: ProcessorOptions['format']): RecordProcessor {
  return new RecordProcessor({
    agentId: 'web-01',
    parser: 'plain',
    format,
    cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: [], custom: [] },
    maxLineBytes: 1024,
    counters: new Counters(),
    timeZone: 'UTC',
    host: { name: 'web-01', ips: [] },
    now: () => now,
  });
}

test('a file name with a control, a selector and a bidi override is shipped with tokens and tagged', () => {
  const b = new EventBuilder(agent);
  const ev = b.build({ raw: record(HOSTILE), original: 'hello', parsed, tags: [], now });
  assert.equal(ev.fields['log.file.path'], SHOWN);
  assert.deepEqual(ev.fields['tags'], ['log_injection_neutralized']);
  // Not twice when the line was neutralized too.
  const both = b.build({ raw: record(HOSTILE), original: 'hello', parsed, tags: ['log_injection_neutralized', 'truncated'], now });
  assert.deepEqual(both.fields['tags'], ['log_injection_neutralized', 'truncated']);
  // The next event from an ordinary file is not tagged (nothing is carried over from the last name).
  const plain = b.build({ raw: record('/var/log/auth.log'), original: 'hello', parsed, tags: [], now });
  assert.equal(plain.fields['log.file.path'], '/var/log/auth.log');
  assert.equal(plain.fields['tags'], undefined);
});

test('event.id comes from the source identity and offset, the same whatever the file is called', () => {
  const b = new EventBuilder(agent);
  const ids = [HOSTILE, '/var/log/auth.log', undefined].map((p) => b.build({ raw: record(p), original: 'hello', parsed, tags: [], now }).fields['event.id']);
  assert.equal(ids[0], ids[1]);
  assert.equal(ids[0], ids[2]);
  // The source reference itself (checkpoints, reopening) keeps the real name.
  const raw = record(HOSTILE);
  assert.equal(b.build({ raw, original: 'hello', parsed, tags: [], now }).source.path, HOSTILE);
});

test('names that need nothing are kept as they are, emoji and non-ASCII included', () => {
  const b = new EventBuilder(agent);
  for (const path of ['/var/log/nginx/access.log', '/srv/logs/caf\u00e9 \u2764\uFE0F/1\uFE0F\u20E3.log', '/tmp/{x}.log']) {
    const ev = b.build({ raw: record(path), original: 'hello', parsed, tags: [], now });
    assert.equal(ev.fields['log.file.path'], path);
    assert.equal(ev.fields['tags'], undefined, path);
  }
  // A typed token is escaped so that it cannot pass for one of ours.
  assert.equal(b.build({ raw: record('/tmp/{U+000A}.log'), original: 'hello', parsed, tags: [], now }).fields['log.file.path'], '/tmp/{U+007B}U+000A}.log');
});

test('end to end: the ECS line holds no raw selector after the escaped control, and CEF filePath shows the tokens', () => {
  const ecs = processor('ecs').process(record(HOSTILE));
  assert.equal(ecs.valid, true);
  assert.ok(!/[\p{Cc}\p{Cf}\p{Variation_Selector}]/u.test(ecs.payload), ecs.payload);
  const doc = JSON.parse(ecs.payload) as { log: { file: { path: string } }; tags: string[] };
  assert.equal(doc.log.file.path, SHOWN);
  assert.ok(doc.tags.includes('log_injection_neutralized'));

  const cef = processor('cef').process(record(HOSTILE));
  assert.equal(cef.valid, true);
  const ext = decodeCef(cef.payload).extension;
  assert.equal(ext['filePath'], SHOWN);
  assert.ok(String(ext['cs1']).split(',').includes('log_injection_neutralized'), String(ext['cs1']));
});
