/**
 * Access lines (nginx, apache) with one value out of what the encoders can
 * write: a status outside 100..599 (nginx logs 000 when the client went away
 * before a response, some sites send 999), or a time before 1970 or past
 * 9999. The rest of the parse stays (client, request, user agent…); the
 * value goes under json.<field> as the line had it and the event is tagged,
 * as the regex parser does (field_type_mismatch, timestamp_invalid). Each of
 * these lines used to fail the whole event: a stand-in tagged schema_invalid
 * with none of the parse went out (ECS for a status, CEF for a time).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodeCef } from '../../src/encode/cef.js';
import type { ParseContext, ParseResult, Parser } from '../../src/event/types.js';
import type { ParserName } from '../../src/parse/index.js';
import { parseApache } from '../../src/parse/apache.js';
import { parseNginx } from '../../src/parse/nginx.js';
import { testProcessor, at } from './processor-fixture.js';
import { parsedWellTyped } from './ecs-check.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'Europe/Berlin' };
const NOW = new Date('2026-11-22T12:00:00Z');

const GOOD = '203.0.113.7 - alice [22/Nov/2026:10:01:02 +0100] "GET /login?next=%2F HTTP/1.1" 200 612 "https://example.com/" "curl/8.5.0"';
const STAMP = '22/Nov/2026:10:01:02 +0100';

function withStatus(status: string): string {
  return GOOD.replace('" 200 612', `" ${status} 612`);
}

function withStamp(stamp: string): string {
  return GOOD.replace(STAMP, stamp);
}

/** Everything the good line parses to except the named fields. */
function restOf(r: ParseResult, except: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r.fields)) if (!except.includes(k)) out[k] = v;
  return out;
}

function processor(parser: ParserName, format: 'ecs' | 'cef'): ReturnType<typeof testProcessor> {
  return testProcessor({ parser, format, now: () => NOW });
}

const src = { input: 'web', identity: 'fp:1', path: '/var/log/nginx/access.log', offset: 0, end: 10 };


const PARSERS: readonly [ParserName, Parser][] = [
  ['nginx', parseNginx],
  ['apache', parseApache],
];

describe('access log: a status outside 100..599', () => {
  test('000 (client went away), 999, 099, 600: no status code, the text under json.*, outcome unknown, the rest kept', () => {
    for (const [name, parse] of PARSERS) {
      const good = parsedWellTyped(parse, GOOD, ctx);
      assert.equal(good.tags, undefined);
      for (const status of ['000', '999', '099', '600', '001']) {
        const line = withStatus(status);
        const r = parsedWellTyped(parse, line, ctx);
        const label = `${name} ${status}`;
        assert.equal(r.fields['http.response.status_code'], undefined, label);
        assert.equal(r.fields['json.http.response.status_code'], status, `${label}: the text the line had`);
        // Not success, not failure: the request was logged, its result is not known (ECS "unknown").
        assert.equal(r.fields['event.outcome'], 'unknown', label);
        assert.deepEqual(r.tags, ['field_type_mismatch'], label);
        assert.deepEqual(r.timestamp, good.timestamp, label);
        assert.equal(r.message, `GET /login?next=%2F HTTP/1.1 ${status}`, label);
        assert.deepEqual(
          restOf(r, ['json.http.response.status_code', 'event.outcome']),
          restOf(good, ['http.response.status_code', 'event.outcome']),
          `${label}: client, user, request, bytes, referrer, user agent as in the good line`,
        );
      }
    }
  });

  test('the bounds 100 and 599 are statuses, as before', () => {
    for (const [status, outcome] of [['100', 'success'], ['599', 'failure'], ['399', 'success'], ['400', 'failure']] as const) {
      const r = parsedWellTyped(parseNginx, withStatus(status), ctx);
      assert.equal(r.fields['http.response.status_code'], Number(status));
      assert.equal(r.fields['event.outcome'], outcome);
      assert.equal(r.fields['json.http.response.status_code'], undefined);
      assert.equal(r.tags, undefined);
    }
  });

  test('a 000 line ships valid in ECS and CEF with its parse; CEF has no cn1', () => {
    for (const [name] of PARSERS) {
      const line = withStatus('000');
      const ecs = processor(name, 'ecs');
      const out = ecs.p.process({ bytes: Buffer.from(line), source: src });
      assert.equal(out.valid, true, `${name}: ${out.payload.slice(0, 400)}`);
      const doc = JSON.parse(out.payload) as Record<string, unknown>;
      assert.equal(at(doc, 'source.ip'), '203.0.113.7');
      assert.equal(at(doc, 'url.original'), '/login?next=%2F');
      assert.equal(at(doc, 'http.request.method'), 'GET');
      assert.equal(at(doc, 'user_agent.original'), 'curl/8.5.0');
      assert.equal(at(doc, 'http.response.status_code'), undefined);
      assert.equal(at(doc, 'json.http.response.status_code'), '000');
      assert.equal(at(doc, 'event.outcome'), 'unknown');
      assert.equal(at(doc, '@timestamp'), '2026-11-22T09:01:02.000Z');
      assert.equal(at(doc, 'event.original'), line);
      assert.deepEqual(at(doc, 'tags'), ['field_type_mismatch']);
      assert.equal(ecs.counters.get('events_invalid'), 0);

      const cef = processor(name, 'cef');
      const c = cef.p.process({ bytes: Buffer.from(line), source: src });
      assert.equal(c.valid, true, `${name}: ${c.payload}`);
      const x = decodeCef(c.payload).extension;
      assert.equal(x['src'], '203.0.113.7');
      assert.equal(x['request'], '/login?next=%2F');
      assert.equal(x['cn1'], undefined, 'no status code to give');
      assert.equal(x['outcome'], 'unknown');
      assert.equal(x['rt'], String(Date.parse('2026-11-22T09:01:02.000Z')));
      assert.equal(x['cs2'], line);
      assert.equal(cef.counters.get('events_invalid'), 0);
    }
  });
});

describe('access log: a time the encoders cannot write', () => {
  const BAD_STAMPS = [
    '31/Dec/1969:23:59:59 +0000', // one second before CEF rt's 0
    '01/Jan/1970:00:30:00 +0100', // 1969-12-31T23:30Z once the offset is applied
    '01/Jan/0000:00:00:00 +0000', // an ECS date, but no event time (rt)
    '31/Dec/9999:23:59:59 -0100', // 10000-01-01T00:59:59Z: past what a date-time can write
  ];

  test('the parse stays, the stamp goes to json.timestamp, tag timestamp_invalid, no event time', () => {
    for (const [name, parse] of PARSERS) {
      const good = parsedWellTyped(parse, GOOD, ctx);
      for (const stamp of BAD_STAMPS) {
        const label = `${name} ${stamp}`;
        const r = parsedWellTyped(parse, withStamp(stamp), ctx);
        assert.equal(r.timestamp, undefined, label);
        assert.equal(r.fields['json.timestamp'], stamp, label);
        assert.deepEqual(r.tags, ['timestamp_invalid'], label);
        assert.deepEqual(restOf(r, ['json.timestamp']), good.fields, label);
        assert.equal(r.message, good.message, label);
      }
    }
  });

  test('a date that does not exist is timestamp_invalid as before, its text kept the same way', () => {
    const r = parsedWellTyped(parseNginx, withStamp('30/Feb/2026:10:01:02 +0100'), ctx);
    assert.equal(r.timestamp, undefined);
    assert.deepEqual(r.tags, ['timestamp_invalid']);
    assert.equal(r.fields['json.timestamp'], '30/Feb/2026:10:01:02 +0100');
    assert.equal(r.fields['source.ip'], '203.0.113.7');
  });

  test('the edges 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z are event times, as before', () => {
    assert.equal(parsedWellTyped(parseNginx, withStamp('01/Jan/1970:00:00:00 +0000'), ctx).timestamp?.getTime(), 0);
    assert.equal(parsedWellTyped(parseNginx, withStamp('01/Jan/1970:01:00:00 +0100'), ctx).timestamp?.getTime(), 0);
    const last = parsedWellTyped(parseNginx, withStamp('31/Dec/9999:23:59:59 +0000'), ctx);
    assert.equal(last.timestamp?.toISOString(), '9999-12-31T23:59:59.000Z');
    assert.equal(last.tags, undefined);
  });

  test('both at once, and apache vhost_combined: each value kept, both tags, the rest parsed', () => {
    const line = 'www.example.com:443 ' + withStamp('31/Dec/1969:23:59:59 +0000').replace('" 200 612', '" 000 612');
    const r = parsedWellTyped(parseApache, line, ctx);
    assert.equal(r.timestamp, undefined);
    assert.equal(r.fields['json.timestamp'], '31/Dec/1969:23:59:59 +0000');
    assert.equal(r.fields['json.http.response.status_code'], '000');
    assert.deepEqual(r.tags, ['field_type_mismatch', 'timestamp_invalid']);
    assert.equal(r.fields['url.domain'], 'www.example.com');
    assert.equal(r.fields['url.port'], 443);
    assert.equal(r.fields['source.ip'], '203.0.113.7');
    assert.equal(r.fields['user.name'], 'alice');
  });

  test('a pre-1970 line ships valid in ECS and CEF with its parse; @timestamp is the read time', () => {
    for (const [name] of PARSERS) {
      for (const stamp of BAD_STAMPS) {
        const line = withStamp(stamp);
        const label = `${name} ${stamp}`;
        const ecs = processor(name, 'ecs');
        const out = ecs.p.process({ bytes: Buffer.from(line), source: src });
        assert.equal(out.valid, true, `${label}: ${out.payload.slice(0, 400)}`);
        const doc = JSON.parse(out.payload) as Record<string, unknown>;
        assert.equal(at(doc, '@timestamp'), NOW.toISOString(), label);
        assert.equal(at(doc, 'json.timestamp'), stamp, label);
        assert.equal(at(doc, 'source.ip'), '203.0.113.7', label);
        assert.equal(at(doc, 'http.response.status_code'), 200, label);
        assert.equal(at(doc, 'event.original'), line, label);
        assert.deepEqual(at(doc, 'tags'), ['timestamp_invalid'], label);

        const cef = processor(name, 'cef');
        const c = cef.p.process({ bytes: Buffer.from(line), source: src });
        assert.equal(c.valid, true, `${label}: ${c.payload}`);
        const x = decodeCef(c.payload).extension;
        assert.equal(x['rt'], String(NOW.getTime()), label);
        assert.equal(x['src'], '203.0.113.7', label);
        assert.equal(x['cn1'], '200', label);
        assert.equal(x['cs2'], line, label);
        assert.equal(ecs.counters.get('events_invalid') + cef.counters.get('events_invalid'), 0, label);
      }
    }
  });
});
