import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ParseContext } from '../../src/event/types.js';
import { getParser } from '../../src/parse/index.js';
import { createRegexParser, RegexPatternError } from '../../src/parse/regex.js';
import { assertWellTyped } from './ecs-check.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'Europe/Berlin' };

describe('regex parser', () => {
  const pattern = String.raw`^(?<timestamp>\S+) (?<log__level>[A-Z]+) (?<source__ip>\S+):(?<source__port>\d+) (?<user__name>\S+) (?<http__response__status_code>\S+) (?<message>.*)$`;

  test('named groups with __ become dotted ECS fields with ECS types', () => {
    const r = createRegexParser(pattern)('2024-05-20T10:13:20.5Z WARN 203.0.113.9:52114 bob 401 login refused', ctx);
    assert.ok(r);
    assertWellTyped(r);
    assert.equal(r.parser, 'regex');
    assert.equal(r.timestamp?.toISOString(), '2024-05-20T10:13:20.500Z');
    assert.equal(r.message, 'login refused');
    assert.equal(r.severity, 4);
    assert.deepEqual(r.fields, {
      'log.level': 'WARN',
      'source.ip': '203.0.113.9',
      'source.port': 52114,
      'user.name': 'bob',
      'http.response.status_code': 401,
    });
  });

  test('a capture that does not fit its ECS type is left out and tagged', () => {
    const r = createRegexParser(pattern)('2024-05-20T10:13:20Z INFO not-an-ip:1 bob OK fine', ctx);
    assert.ok(r);
    assertWellTyped(r);
    assert.equal(r.fields['source.ip'], undefined);
    assert.equal(r.fields['http.response.status_code'], undefined);
    assert.equal(r.fields['source.port'], 1);
    assert.deepEqual(r.tags, ['field_type_mismatch']);
    const port = createRegexParser(pattern)('2024-05-20T10:13:20Z INFO 192.0.2.1:99999 bob 200 ok', ctx);
    assert.equal(port?.fields['source.port'], undefined, 'ports are 0..65535');
  });

  test('zone-less and epoch timestamps', () => {
    const p = createRegexParser(String.raw`^(?<timestamp>\S+ \S+) (?<message>.*)$`);
    const r = p('2026-07-01 12:00:00 hello', ctx);
    assert.equal(r?.timestamp?.toISOString(), '2026-07-01T10:00:00.000Z');
    assert.equal(r?.timezone, 'Europe/Berlin');
    const e = createRegexParser(String.raw`^(?<timestamp>\d+) (?<message>.*)$`)('1716200000 x', ctx);
    assert.equal(e?.timestamp?.toISOString(), '2024-05-20T10:13:20.000Z');
    const bad = p('yesterday noon hello', ctx);
    assert.deepEqual(bad?.tags, ['timestamp_invalid']);
  });

  test('array fields are wrapped and allowed values enforced', () => {
    const p = createRegexParser(String.raw`^(?<event__category>\w+) (?<event__outcome>\w+) (?<labels__team>\w+)`);
    const ok = p('authentication failure red', ctx);
    assert.deepEqual(ok?.fields['event.category'], ['authentication']);
    assert.equal(ok?.fields['event.outcome'], 'failure');
    assert.equal(ok?.fields['labels.team'], 'red');
    const bad = p('hacking maybe red', ctx);
    assert.equal(bad?.fields['event.category'], undefined);
    assert.equal(bad?.fields['event.outcome'], undefined);
    assert.deepEqual(bad?.tags, ['field_type_mismatch']);
  });

  test('no match is "not mine"; no message group keeps the whole line as message', () => {
    const p = createRegexParser(String.raw`user=(?<user__name>\w+)`);
    assert.equal(p('nothing here', ctx), null);
    assert.equal(p('x user=alice y', ctx)?.message, 'x user=alice y');
  });

  test('unusable patterns fail at creation with a typed error', () => {
    const cases: [string, RegExp][] = [
      ['(?<user__name>', /Invalid regular expression|Unterminated/],
      [String.raw`^\S+$`, /no named group/],
      [String.raw`(?<foo__bar>\S+)`, /"foo\.bar" is not an ECS field/],
      [String.raw`(?<labels>\S+)`, /type object/],
      [String.raw`(?<log__syslog>\S+)`, /type object/],
    ];
    for (const [p, msg] of cases) {
      assert.throws(() => createRegexParser(p), (err: unknown) => err instanceof RegexPatternError && msg.test(err.message), p);
    }
  });

  test('getParser("regex") needs a pattern', () => {
    assert.throws(() => getParser('regex', { sanitizeValue: (s) => s }), RegexPatternError);
    assert.equal(typeof getParser('regex', { sanitizeValue: (s) => s, regex: '(?<user__name>\\w+)' }), 'function');
  });
});
