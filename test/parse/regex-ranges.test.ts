/**
 * The regex parser with captures out of their field's type or range: the
 * event ships, valid in both formats, and the text the line had stays
 * visible (json.<field> in ECS, the line in CEF's cs2), as the json parser
 * does. Each of these lines used to lose the value or fail the whole event
 * (a stand-in tagged schema_invalid went out instead).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { decodeCef } from '../../src/encode/cef.js';
import type { ParseContext } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';
import { ecsField, valueKind } from '../../src/parse/ecs-catalog.js';
import { createRegexParser } from '../../src/parse/regex.js';
import { RecordProcessor } from '../../src/processor.js';
import { testProcessor, at } from './processor-fixture.js';
import { parsedWellTyped } from './ecs-check.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'UTC' };

/** An application's access line: time, pid, client address and port, status, bytes, start of the request, message. */
const PATTERN = String.raw`^(?<timestamp>\S+) app\[(?<process__pid>[^\]]+)\]: (?<source__ip>\S+):(?<source__port>\S+) status=(?<http__response__status_code>\S+) bytes=(?<http__response__bytes>\S+) started=(?<event__start>\S+) (?<message>.*)$`;

const GOOD = '2024-05-20T10:13:20.000Z app[4242]: 203.0.113.9:52114 status=401 bytes=179 started=2024-05-20T10:13:19.000Z login refused';

/** GOOD with one capture replaced: [label, field the capture was meant for, the line]. */
const BAD: readonly [string, string, string][] = [
  ['port 70000', 'source.port', GOOD.replace(':52114 ', ':70000 ')],
  ['port -1', 'source.port', GOOD.replace(':52114 ', ':-1 ')],
  ['status 999', 'http.response.status_code', GOOD.replace('status=401', 'status=999')],
  ['status 42', 'http.response.status_code', GOOD.replace('status=401', 'status=42')],
  ['pid past 2^31-1', 'process.pid', GOOD.replace('app[4242]', 'app[2147483648]')],
  ['negative pid', 'process.pid', GOOD.replace('app[4242]', 'app[-5]')],
  ['pid that is no number', 'process.pid', GOOD.replace('app[4242]', 'app[main]')],
  ['negative byte count', 'http.response.bytes', GOOD.replace('bytes=179', 'bytes=-3')],
  ['address that is no IP', 'source.ip', GOOD.replace('203.0.113.9', 'gateway')],
  ['date before the year 0', 'event.start', GOOD.replace('started=2024-05-20T10:13:19.000Z', 'started=0000-01-01T00:30:00+01:00')],
];

function processor(format: 'ecs' | 'cef'): ReturnType<typeof testProcessor> {
  return testProcessor({ parser: 'regex', regex: PATTERN, format });
}

const src = { input: 'app', identity: 'fp:1', path: '/var/log/app.log', offset: 0, end: 10 };


describe('regex: a capture out of its field’s type or range is kept under json.*, and the event ships', () => {
  test('the parser keeps the text the line had under json.<field> and tags field_type_mismatch', () => {
    const parse = createRegexParser(PATTERN);
    const good = parsedWellTyped(parse, GOOD, ctx);
    assert.equal(good.tags, undefined);
    for (const [label, field, line] of BAD) {
      const r = parsedWellTyped(parse, line, ctx);
      const text = new RegExp(PATTERN).exec(line)?.groups?.[field.replaceAll('.', '__')];
      assert.ok(text, label);
      assert.equal(r.fields[field], undefined, `${label}: not ${field}`);
      assert.equal(r.fields[`json.${field}`], text, `${label}: json.${field} holds the line's text`);
      assert.deepEqual(r.tags, ['field_type_mismatch'], label);
      assert.equal(r.message, 'login refused', label);
      for (const [k, v] of Object.entries(good.fields)) if (k !== field) assert.deepEqual(r.fields[k], v, `${label}: ${k} as in the good line`);
    }
  });

  test('each such line is a valid event in ECS, the value in json.*; the good line ships as it did', () => {
    const { p, counters } = processor('ecs');
    const good = p.process({ bytes: Buffer.from(GOOD), source: src });
    assert.equal(good.valid, true);
    const goodDoc = JSON.parse(good.payload) as Record<string, unknown>;
    assert.equal(at(goodDoc, 'http.response.status_code'), 401);
    assert.equal(at(goodDoc, 'json'), undefined);
    for (const [label, field, line] of BAD) {
      const r = p.process({ bytes: Buffer.from(line), source: src });
      assert.equal(r.valid, true, `${label}: ${r.payload.slice(0, 400)}`);
      const doc = JSON.parse(r.payload) as Record<string, unknown>;
      const text = new RegExp(PATTERN).exec(line)?.groups?.[field.replaceAll('.', '__')];
      assert.equal(at(doc, `json.${field}`), text, label);
      assert.equal(at(doc, field), undefined, label);
      assert.deepEqual(at(doc, 'tags'), ['field_type_mismatch'], label);
      assert.equal(at(doc, 'event.original'), line, label);
      assert.equal(at(doc, 'message'), 'login refused', label);
    }
    assert.equal(counters.get('events_invalid'), 0);
    assert.equal(counters.get('events_processing_failed'), 0);
  });

  test('each such line is a valid event in CEF, the line in cs2 and no typed key out of range', () => {
    const { p, counters } = processor('cef');
    for (const [label, , line] of BAD) {
      const r = p.process({ bytes: Buffer.from(line), source: src });
      assert.equal(r.valid, true, `${label}: ${r.payload}`);
      const x = decodeCef(r.payload).extension;
      assert.equal(x['cs2Label'], 'event.original', label);
      assert.equal(x['cs2'], line, label);
      assert.equal(x['rt'], String(Date.parse('2024-05-20T10:13:20.000Z')), `${label}: the line's time`);
      if (x['spt'] !== undefined) assert.ok(Number(x['spt']) >= 0 && Number(x['spt']) <= 65535, label);
      if (x['dvcpid'] !== undefined) assert.ok(Number(x['dvcpid']) >= 0 && Number(x['dvcpid']) <= 2_147_483_647, label);
      if (x['cn1'] !== undefined) assert.ok(Number(x['cn1']) >= 100 && Number(x['cn1']) <= 599, label);
      assert.match(x['cs1'] ?? '', /field_type_mismatch/, label);
    }
    assert.equal(counters.get('events_invalid'), 0);
  });

  test('a timestamp before 1970 or unreadable is not the event time: its text is json.timestamp, the event valid', () => {
    const parse = createRegexParser(PATTERN);
    for (const stamp of ['1969-12-31T23:59:59Z', '0000-01-01T00:00:00Z', 'yesterday']) {
      const line = GOOD.replace('2024-05-20T10:13:20.000Z', stamp);
      const r = parsedWellTyped(parse, line, ctx);
      assert.equal(r.timestamp, undefined, stamp);
      assert.equal(r.fields['json.timestamp'], stamp, stamp);
      assert.deepEqual(r.tags, ['timestamp_invalid'], stamp);
      for (const format of ['ecs', 'cef'] as const) {
        const { p, counters } = processor(format);
        const out = p.process({ bytes: Buffer.from(line), source: src });
        assert.equal(out.valid, true, `${format} ${stamp}: ${out.payload.slice(0, 300)}`);
        assert.equal(counters.get('events_invalid'), 0);
      }
    }
    assert.equal(parse(GOOD.replace('2024-05-20T10:13:20.000Z', '1970-01-01T00:00:00Z'), ctx)?.timestamp?.getTime(), 0);
    assert.equal(parse(GOOD.replace('2024-05-20T10:13:20.000Z', '9999-12-31T23:59:59.999Z'), ctx)?.timestamp?.toISOString(), '9999-12-31T23:59:59.999Z');
  });

  test('an event.category and event.type that ECS does not pair move to json.* together, the event valid', () => {
    const pattern = String.raw`^(?<event__category>\w+)/(?<event__type>\w+) (?<message>.*)$`;
    const r = parsedWellTyped(createRegexParser(pattern), 'web/start m', ctx);
    assert.equal(r.fields['event.category'], undefined);
    assert.deepEqual(r.fields['json.event.category'], ['web']);
    assert.deepEqual(r.fields['json.event.type'], ['start']);
    assert.deepEqual(r.tags, ['ecs_category_type_mismatch']);
    assert.deepEqual(createRegexParser(pattern)('web/access m', ctx)?.fields, { 'event.category': ['web'], 'event.type': ['access'] });
    for (const format of ['ecs', 'cef'] as const) {
      const counters = new Counters();
      const p = new RecordProcessor({
        agentId: 'web-01', parser: 'regex', regex: pattern, format, cef: { vendor: 'logward', product: 'logward' },
        redact: { builtin: [], custom: [] }, maxLineBytes: 65536, counters, timeZone: 'UTC', host: { name: 'web-01', ips: [] },
      });
      assert.equal(p.process({ bytes: Buffer.from('web/start m'), source: src }).valid, true, format);
      assert.equal(counters.get('events_invalid'), 0, format);
    }
  });

  test('every numeric bound of the ECS schema holds for regex captures too: the bound a field, one past it json.*', () => {
    type Node = { $ref?: string; properties?: Record<string, Node>; minimum?: number; maximum?: number; type?: string };
    const schema = JSON.parse(readFileSync(new URL('../../schemas/ecs-event.schema.json', import.meta.url), 'utf8')) as Node & { $defs: Record<string, Node> };
    const bounded: [string, number | undefined, number | undefined][] = [];
    const walk = (n: Node, path: string): void => {
      while (n.$ref !== undefined) n = schema.$defs[n.$ref.split('/').pop() as string] as Node;
      if (n.type === 'integer' && (n.minimum !== undefined || n.maximum !== undefined)) bounded.push([path, n.minimum, n.maximum]);
      for (const [k, v] of Object.entries(n.properties ?? {})) walk(v, path === '' ? k : `${path}.${k}`);
    };
    walk(schema, '');
    let checked = 0;
    for (const [path, min, max] of bounded) {
      const def = ecsField(path);
      if (def === undefined || valueKind(def) !== 'integer' || path === 'log.offset') continue; // not a field a line can set
      const parse = createRegexParser(`^(?<${path.replaceAll('.', '__')}>\\S+)$`);
      for (const [inside, outside] of [
        [min, min === undefined ? undefined : min - 1],
        [max, max === undefined ? undefined : max + 1],
      ] as const) {
        if (inside === undefined || outside === undefined) continue;
        assert.equal(parsedWellTyped(parse, String(inside), ctx).fields[path], inside, `${path} = ${inside}`);
        assert.equal(parsedWellTyped(parse, String(outside), ctx).fields[`json.${path}`], String(outside), `${path} = ${outside}`);
      }
      checked++;
    }
    assert.ok(checked >= 15, `checked ${checked}`);
  });
});
