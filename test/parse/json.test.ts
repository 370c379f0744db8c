import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ParseContext, ParseResult } from '../../src/event/types.js';
import { createJsonParser } from '../../src/parse/json.js';
import { parsedWellTyped } from './ecs-check.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'Europe/Berlin' };
const identity = createJsonParser((s) => s);

/** A small stand-in for the real neutralizer: every control, separator and bidi char becomes {U+XXXX}. */
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
function neutralize(s: string): string {
  return s.replace(UNSAFE, (c) => `{U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}}`);
}

function json(line: string, parser = identity): ParseResult {
  return parsedWellTyped(parser, line, ctx);
}

describe('json: common keys', () => {
  test('maps the ECS digest example: ts, level, msg, unknown keys under json.*', () => {
    const r = json(
      '{"ts":"2024-05-20T10:18:05.250+02:00","level":"warn","logger":"auth.service","msg":"password reset requested","user_id":"u-12345","req_id":"c0ffee42","ip":"192.0.2.44","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}',
    );
    assert.equal(r.parser, 'json');
    assert.equal(r.timestamp?.toISOString(), '2024-05-20T08:18:05.250Z');
    assert.equal(r.timezone, undefined);
    assert.equal(r.message, 'password reset requested');
    assert.equal(r.severity, 4);
    assert.deepEqual(r.fields, {
      'log.level': 'warn',
      'json.logger': 'auth.service',
      'json.user_id': 'u-12345',
      'json.req_id': 'c0ffee42',
      'json.ip': '192.0.2.44',
      'json.trace_id': '4bf92f3577b34da6a3ce929d0e0e4736',
    });
  });

  test('pino lines: numeric level and epoch milliseconds', () => {
    const r = json('{"level":30,"time":1716200000123,"pid":4242,"hostname":"web01","msg":"listening"}');
    assert.equal(r.timestamp?.toISOString(), '2024-05-20T10:13:20.123Z');
    assert.equal(r.severity, 6);
    assert.equal(r.fields['log.level'], '30');
    assert.equal(r.fields['json.pid'], '4242');
    assert.equal(r.message, 'listening');
  });

  test('epoch seconds, with fraction', () => {
    assert.equal(json('{"ts":1716200000.5}').timestamp?.toISOString(), '2024-05-20T10:13:20.500Z');
    assert.equal(json('{"timestamp":"1716200000"}').timestamp?.toISOString(), '2024-05-20T10:13:20.000Z');
  });

  test('@timestamp wins over time; a zone-less stamp is read in ctx.timeZone', () => {
    const r = json('{"@timestamp":"2024-05-20T10:00:00","time":"2020-01-01T00:00:00Z"}');
    assert.equal(r.timestamp?.toISOString(), '2024-05-20T08:00:00.000Z');
    assert.equal(r.timezone, 'Europe/Berlin');
    assert.equal(r.fields['json.time'], '2020-01-01T00:00:00Z', 'the unused stamp is kept as data');
  });

  test('an unparseable timestamp is kept as data, not guessed', () => {
    const r = json('{"time":"yesterday","msg":"x"}');
    assert.equal(r.timestamp, undefined);
    assert.equal(r.fields['json.time'], 'yesterday');
  });

  test('severity key and nested log.level', () => {
    assert.equal(json('{"severity":"ERROR","message":"boom"}').severity, 3);
    const r = json('{"log":{"level":"debug","logger":"db"},"message":"q"}');
    assert.equal(r.fields['log.level'], 'debug');
    assert.equal(r.fields['log.logger'], 'db');
    assert.equal(r.severity, 7);
  });
});

describe('json: ECS-shaped keys', () => {
  test('nested objects and dotted keys become ECS fields of the right type', () => {
    const r = json(
      '{"user":{"name":"bob","id":42},"source.ip":"192.0.2.44","source":{"port":"443"},"http":{"response":{"status_code":401}},"event.category":"authentication","event":{"type":["start"],"outcome":"failure"}}',
    );
    assert.equal(r.fields['user.name'], 'bob');
    assert.equal(r.fields['user.id'], '42', 'keyword from a number');
    assert.equal(r.fields['source.ip'], '192.0.2.44');
    assert.equal(r.fields['source.port'], 443, 'long from numeric text');
    assert.equal(r.fields['http.response.status_code'], 401);
    assert.deepEqual(r.fields['event.category'], ['authentication'], 'array field from a single value');
    assert.deepEqual(r.fields['event.type'], ['start']);
    assert.equal(r.fields['event.outcome'], 'failure');
  });

  test('values of an incompatible type go to json.* instead', () => {
    assert.equal(json('{"source":{"port":99999}}').fields['json.source.port'], '99999', 'ports are 0..65535');
    const r = json('{"source":{"ip":"not-an-ip","port":"https"},"http":{"response":{"status_code":40.5}},"user":{"name":{"first":"a"}}}');
    assert.equal(r.fields['source.ip'], undefined);
    assert.equal(r.fields['json.source.ip'], 'not-an-ip');
    assert.equal(r.fields['json.source.port'], 'https');
    assert.equal(r.fields['json.http.response.status_code'], '40.5');
    assert.equal(r.fields['json.user.name.first'], 'a');
  });

  test('values outside the ECS allowed lists go to json.*', () => {
    const r = json('{"event":{"kind":"weird","category":["authentication","hacking"],"outcome":"maybe"}}');
    assert.equal(r.fields['event.kind'], undefined);
    assert.equal(r.fields['event.category'], undefined);
    assert.equal(r.fields['event.outcome'], undefined);
    assert.equal(r.fields['json.event.kind'], 'weird');
    assert.deepEqual(r.fields['json.event.category'], ['authentication', 'hacking']);
  });

  test('a category/type pair ECS does not expect moves to json.* as a whole and is tagged', () => {
    const r = json('{"event":{"category":["authentication"],"type":["denied"]}}');
    assert.equal(r.fields['event.category'], undefined);
    assert.equal(r.fields['event.type'], undefined);
    assert.deepEqual(r.fields['json.event.category'], ['authentication']);
    assert.deepEqual(r.fields['json.event.type'], ['denied']);
    assert.deepEqual(r.tags, ['ecs_category_type_mismatch']);
    const ok = json('{"event":{"category":["web"],"type":["access"]}}');
    assert.deepEqual(ok.fields['event.type'], ['access']);
    assert.equal(ok.tags, undefined);
  });

  test('fields the agent owns cannot be forged by the line', () => {
    const r = json('{"event":{"id":"forged","sequence":5,"created":"2020-01-01T00:00:00Z"},"ecs":{"version":"1.0"},"agent":{"id":"x"},"tags":["a"],"log":{"file":{"path":"/etc/shadow"}}}');
    for (const k of ['event.id', 'event.sequence', 'event.created', 'ecs.version', 'agent.id', 'tags', 'log.file.path']) {
      assert.equal(r.fields[k], undefined, k);
      assert.notEqual(r.fields[`json.${k}`], undefined, `json.${k}`);
    }
  });

  test('labels stay flat keyword strings', () => {
    const r = json('{"labels":{"env":"prod","shard":3,"deep":{"x":1}}}');
    assert.equal(r.fields['labels.env'], 'prod');
    assert.equal(r.fields['labels.shard'], '3');
    assert.equal(r.fields['labels.deep.x'], undefined);
    assert.equal(r.fields['json.labels.deep.x'], '1');
  });

  test('a date field is normalized to UTC ISO', () => {
    const r = json('{"event":{"start":"2024-05-20T10:00:00+02:00"}}');
    assert.equal(r.fields['event.start'], '2024-05-20T08:00:00.000Z');
  });
});

describe('json: custom namespace limits', () => {
  test('arrays of scalars become string[]; mixed arrays are JSON-encoded', () => {
    const r = json('{"ids":[1,2,"x",true],"mixed":[1,{"a":2}],"empty":[],"nothing":null}');
    assert.deepEqual(r.fields['json.ids'], ['1', '2', 'x', 'true']);
    assert.equal(r.fields['json.mixed'], '[1,{"a":2}]');
    assert.equal(r.fields['json.empty'], undefined);
    assert.equal(r.fields['json.nothing'], undefined);
  });

  test('objects deeper than 4 levels are JSON-encoded', () => {
    const r = json('{"a":{"b":{"c":{"d":{"e":1,"f":[2]}}}}}');
    assert.equal(r.fields['json.a.b.c.d'], '{"e":1,"f":[2]}');
  });

  test('ECS paths may go deeper than 4 levels', () => {
    const r = json('{"process":{"entry_leader":{"parent":{"session_leader":{"pid":4242}}}}}');
    assert.equal(r.fields['process.entry_leader.parent.session_leader.pid'], 4242);
  });

  test('at most 100 custom fields, then a tag', () => {
    const obj: Record<string, number> = {};
    for (let i = 0; i < 150; i++) obj[`k${i}`] = i;
    const r = json(JSON.stringify(obj));
    const custom = Object.keys(r.fields).filter((k) => k.startsWith('json.'));
    assert.equal(custom.length, 100);
    assert.deepEqual(r.tags, ['json_fields_capped']);
  });

  test('absurdly deep nesting does not throw', () => {
    const depth = 200_000;
    const r = json(`{"a":${'['.repeat(depth)}${']'.repeat(depth)},"msg":"still here"}`);
    assert.equal(r.message, 'still here');
    assert.equal(typeof r.fields['json.a'], 'string');
  });
});

describe('json: not mine', () => {
  test('lines that are not one JSON object return null', () => {
    for (const line of ['{broken', '[1,2]', 'null', '"str"', '{"a":1} trailing', 'plain text', '', '{', '}{']) {
      assert.equal(identity(line, ctx), null, line);
    }
  });

  test('leading and trailing blanks are fine', () => {
    assert.equal(identity('  {"msg":"x"}  ', ctx)?.message, 'x');
  });
});

describe('json: every decoded string passes the sanitizer', () => {
  test('keys, values, messages, levels, array items and encoded objects are all sanitized', () => {
    const seen: string[] = [];
    const parser = createJsonParser((s) => {
      seen.push(s);
      return `S(${s})`;
    });
    const r = json(
      '{"msg":"m","level":"info","user":{"name":"bob"},"custom":"v","list":["a","b"],"a":{"b":{"c":{"d":{"e":"deep"}}}},"labels":{"env":"prod"}}',
      parser,
    );
    assert.equal(r.message, 'S(m)');
    assert.equal(r.fields['log.level'], 'S(info)');
    // Keys are sanitized too: ECS names only match when the sanitizer leaves them alone,
    // which the real one does for plain ASCII keys.
    for (const [k, v] of Object.entries(r.fields)) {
      const segments = k.split('.');
      if (k !== 'log.level') {
        assert.equal(segments[0], 'json', `sanitized keys are no ECS names: ${k}`);
        assert.ok(segments.slice(1).every((s) => /^S\(.*\)$/.test(s)), `key ${k} sanitized`);
      }
      const values = Array.isArray(v) ? v : [v];
      for (const x of values) assert.ok(String(x).startsWith('S('), `value of ${k} sanitized: ${String(x)}`);
    }
    for (const s of ['m', 'info', 'user', 'name', 'bob', 'custom', 'v', 'list', 'a', 'b', 'labels', 'env', 'prod']) {
      assert.ok(seen.includes(s), `sanitizer saw ${s}`);
    }
    assert.ok(seen.includes('{"e":"deep"}'), 'the JSON-encoded deep object went through the sanitizer');
  });

  test('escapes decoded by JSON.parse (ESC, NUL, LF, U+2028, RLO) never reach a field raw', () => {
    const parser = createJsonParser(neutralize);
    const line = String.raw`{"msg":"a\u001b[2Jb\nforged","k\u202eey":"v\u2028w","arr":["\u0000"],"deep":{"a":{"b":{"c":{"d":"\u2029"}}}},"user":{"name":"ev\u202eil"}}`;
    const r = json(line, parser);
    const all = JSON.stringify(r);
    assert.equal(UNSAFE.test(r.message ?? ''), false);
    UNSAFE.lastIndex = 0;
    for (const [k, v] of Object.entries(r.fields)) {
      for (const s of [k, ...(Array.isArray(v) ? v.map(String) : [String(v)])]) {
        UNSAFE.lastIndex = 0;
        assert.equal(UNSAFE.test(s), false, `raw control in ${JSON.stringify(s)}`);
      }
    }
    assert.equal(r.message, 'a{U+001B}[2Jb{U+000A}forged');
    assert.equal(r.fields['json.k{U+202E}ey'], 'v{U+2028}w');
    assert.deepEqual(r.fields['json.arr'], ['{U+0000}']);
    assert.equal(r.fields['user.name'], 'ev{U+202E}il');
    assert.ok(all.includes('{U+2029}'), 'encoded deep value neutralized');
  });

  test('a secret spelled with JSON escapes reaches the redactor decoded', () => {
    const parser = createJsonParser((s) => s.replace(/password=\S+/g, 'password=[REDACTED:password]'));
    const r = json(String.raw`{"msg":"login pass\u0077ord=hunter2"}`, parser);
    assert.equal(r.message, 'login password=[REDACTED:password]');
  });
});
