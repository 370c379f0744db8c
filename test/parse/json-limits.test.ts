/**
 * The json parser's limits on what a line can make of its keys and values:
 * how deep a field name may go (dots inside keys count), which numbers and
 * dates are ECS fields and which stay data under json.* because an encoder
 * could not write them. Each of these used to fail the whole event (or crash
 * the encoder) instead of shipping it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import type { ParseContext, ParseResult } from '../../src/event/types.js';
import { ecsField, valueKind } from '../../src/parse/ecs-catalog.js';
import { createJsonParser } from '../../src/parse/json.js';
import { testProcessor } from './processor-fixture.js';
import { parsedWellTyped } from './ecs-check.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'UTC' };
const parse = createJsonParser((s) => s);

function json(line: string): ParseResult {
  return parsedWellTyped(parse, line, ctx);
}

function processor(format: 'ecs' | 'cef'): ReturnType<typeof testProcessor> {
  return testProcessor({ format });
}

const src = { input: 'app', identity: 'fp:1', path: '/var/log/app.json', offset: 0, end: 10 };

/** Nesting depth of a parsed JSON value (an object or array counts one level). */
function depth(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  let max = 0;
  for (const x of Object.values(v)) max = Math.max(max, depth(x));
  return max + 1;
}

describe('json: a field name has at most 8 segments, dots in keys included', () => {
  test('a key of 6,000 dotted segments becomes one json.* field of 8 segments, its value kept', () => {
    const key = `${Array.from({ length: 6000 }, () => 'a').join('.')}.b`;
    const r = json(`{"${key}":1,"msg":"dots"}`);
    const names = Object.keys(r.fields).filter((k) => k.startsWith('json.'));
    assert.equal(names.length, 1);
    const name = names[0] as string;
    assert.equal(name.split('.').length, 1 + 8, 'json. plus 8 segments');
    assert.equal(name, `json.a.a.a.a.a.a.a.${Array.from({ length: 5993 }, () => 'a').join('_')}_b`);
    assert.equal(r.fields[name], '1');
    assert.equal(r.message, 'dots');
  });

  test('such a line is an ordinary, valid event in both formats, not a processing error', () => {
    const line = `{"${Array.from({ length: 6000 }, () => 'a').join('.')}":1,"message":"dots"}`;
    for (const format of ['ecs', 'cef'] as const) {
      const { p, counters } = processor(format);
      const r = p.process({ bytes: Buffer.from(line), source: src });
      assert.equal(r.valid, true, format);
      assert.equal(counters.get('events_processing_failed'), 0, format);
      assert.equal(r.event.fields['tags'], undefined, `${format}: no processing_error tag`);
      if (format === 'ecs') {
        const doc = JSON.parse(r.payload) as Record<string, unknown>;
        assert.ok(depth(doc) <= 10, `nesting ${depth(doc)}`);
        assert.equal(doc['message'], 'dots');
      }
    }
  });

  test('dots inside keys and nested objects add up; the excess is folded with "_"', () => {
    const r = json('{"x":{"y.z":{"w":{"v.u.t.s.r":1}}},"a.b.c.d.e.f.g.h.i.j":2}');
    assert.equal(r.fields['json.x.y.z.w.v.u.t.s_r'], '1');
    assert.equal(r.fields['json.a.b.c.d.e.f.g.h_i_j'], '2');
  });

  test('an object at the eighth segment is kept JSON-encoded', () => {
    const r = json('{"a.b.c.d.e.f.g.h":{"x":1}}');
    assert.equal(r.fields['json.a.b.c.d.e.f.g.h'], '{"x":1}');
  });

  test('ordinary dotted keys and deep ECS paths are unchanged', () => {
    const r = json('{"a.b.c.d.e":1,"process":{"entry_leader":{"parent":{"session_leader":{"pid":4242}}}},"cloud.origin.entity.relationships.administers.entity.id":"x"}');
    assert.equal(r.fields['json.a.b.c.d.e'], '1');
    assert.equal(r.fields['process.entry_leader.parent.session_leader.pid'], 4242);
    assert.deepEqual(r.fields['cloud.origin.entity.relationships.administers.entity.id'], ['x'], 'ECS’s deepest field (7 segments)');
  });
});

describe('json: values an encoder cannot write stay data under json.*', () => {
  test('a negative pid is json.process.pid, not process.pid', () => {
    const r = json('{"process":{"pid":-5,"parent":{"pid":-1}}}');
    assert.equal(r.fields['process.pid'], undefined);
    assert.equal(r.fields['json.process.pid'], '-5');
    assert.equal(r.fields['json.process.parent.pid'], '-1');
  });

  test('a pid past 2^31-1 (CEF dvcpid is a 32-bit Integer) is data; 0 and 2^31-1 are pids', () => {
    assert.equal(json('{"process":{"pid":2147483648}}').fields['json.process.pid'], '2147483648');
    assert.equal(json('{"process":{"pid":2147483647}}').fields['process.pid'], 2147483647);
    assert.equal(json('{"process":{"pid":0}}').fields['process.pid'], 0);
  });

  test('negative ports, byte counts and status codes outside 100..599 are data', () => {
    const r = json('{"source":{"port":-1,"bytes":-3},"http":{"response":{"status_code":99}},"log":{"syslog":{"priority":192}}}');
    assert.equal(r.fields['json.source.port'], '-1');
    assert.equal(r.fields['json.source.bytes'], '-3');
    assert.equal(r.fields['json.http.response.status_code'], '99');
    assert.equal(r.fields['json.log.syslog.priority'], '192');
  });

  test('an epoch stamp past the year 9999 is not the event time: the line keeps it as data', () => {
    const r = json('{"ts":8.64e15,"msg":"m"}');
    assert.equal(r.timestamp, undefined);
    assert.equal(r.fields['json.ts'], '8640000000000000');
  });

  test('a stamp before 1970 (no CEF rt) or after 9999 is not the event time; a later key may be', () => {
    const before = json('{"@timestamp":"1969-12-31T23:59:59Z","time":"2024-05-20T10:00:00Z"}');
    assert.equal(before.timestamp?.toISOString(), '2024-05-20T10:00:00.000Z');
    assert.equal(before.fields['json.@timestamp'], '1969-12-31T23:59:59Z');
    const after = json('{"timestamp":"9999-12-31T23:00:00-02:00"}');
    assert.equal(after.timestamp, undefined);
    assert.equal(after.fields['json.timestamp'], '9999-12-31T23:00:00-02:00');
    assert.equal(json('{"@timestamp":"9999-12-31T23:59:59.999Z"}').timestamp?.toISOString(), '9999-12-31T23:59:59.999Z');
    assert.equal(json('{"@timestamp":"1970-01-01T00:00:00Z"}').timestamp?.getTime(), 0);
  });

  test('an ECS date field outside the years 0..9999 is data', () => {
    const r = json('{"event":{"start":"0000-01-01T00:30:00+01:00","end":"0000-01-01T00:00:00Z"}}');
    assert.equal(r.fields['event.start'], undefined);
    assert.equal(r.fields['json.event.start'], '0000-01-01T00:30:00+01:00');
    assert.equal(r.fields['event.end'], '0000-01-01T00:00:00.000Z');
  });

  test('such lines are valid events in both formats, the value shipped, nothing rejected', () => {
    const lines = [
      '{"process":{"pid":-5},"message":"p"}',
      '{"ts":8.64e15,"message":"t"}',
      '{"@timestamp":"1969-12-31T23:59:59Z","message":"old"}',
      '{"process":{"pid":9999999999},"message":"big"}',
      '{"source":{"port":70000},"http":{"response":{"status_code":600}},"message":"x"}',
    ];
    for (const format of ['ecs', 'cef'] as const) {
      const { p, counters } = processor(format);
      for (const line of lines) {
        const r = p.process({ bytes: Buffer.from(line), source: src });
        assert.equal(r.valid, true, `${format}: ${line}: ${r.payload.slice(0, 300)}`);
        if (format === 'cef') {
          assert.doesNotMatch(r.payload, /dvcpid=(-|\d{10})|rt=(-|\d{16})/, r.payload);
          assert.match(r.payload, /\|rt=\d{13} /);
        }
      }
      assert.equal(counters.get('events_invalid'), 0, format);
    }
  });

  test('every numeric bound of the ECS schema is known to the parser: one past it is data, the bound itself a field', () => {
    type Node = { $ref?: string; properties?: Record<string, Node>; minimum?: number; maximum?: number; type?: string };
    const schema = JSON.parse(readFileSync(new URL('../../schemas/ecs-event.schema.json', import.meta.url), 'utf8')) as Node & { $defs: Record<string, Node> };
    const bounded: [string, number | undefined, number | undefined][] = [];
    const walk = (n: Node, path: string): void => {
      while (n.$ref !== undefined) n = schema.$defs[n.$ref.split('/').pop() as string] as Node;
      if (n.type === 'integer' && (n.minimum !== undefined || n.maximum !== undefined)) bounded.push([path, n.minimum, n.maximum]);
      for (const [k, v] of Object.entries(n.properties ?? {})) walk(v, path === '' ? k : `${path}.${k}`);
    };
    walk(schema, '');
    assert.ok(bounded.length >= 20, `found ${bounded.length} bounded fields`);
    let checked = 0;
    for (const [path, min, max] of bounded) {
      const def = ecsField(path);
      if (def === undefined || valueKind(def) !== 'integer' || path === 'log.offset') continue; // not a field a line can set
      const line = (n: number): string => {
        const obj: Record<string, unknown> = {};
        let cur = obj;
        const segs = path.split('.');
        segs.slice(0, -1).forEach((s) => (cur = (cur[s] = {}) as Record<string, unknown>));
        cur[segs[segs.length - 1] as string] = n;
        return JSON.stringify(obj);
      };
      if (min !== undefined) {
        assert.equal(json(line(min)).fields[path], min, `${path} = ${min}`);
        assert.equal(json(line(min - 1)).fields[`json.${path}`], String(min - 1), `${path} = ${min - 1}`);
      }
      if (max !== undefined) {
        assert.equal(json(line(max)).fields[path], max, `${path} = ${max}`);
        assert.equal(json(line(max + 1)).fields[`json.${path}`], String(max + 1), `${path} = ${max + 1}`);
      }
      checked++;
    }
    assert.ok(checked >= 15, `checked ${checked}`);
  });
});
