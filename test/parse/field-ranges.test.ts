/**
 * field-ranges.ts is the one table of what an ECS field may hold beyond its
 * type. It must agree with the ECS schema (walked here, so the table cannot
 * fall behind it), and the parsers and the CEF encoder must draw the same
 * lines: a value a parser keeps as a field is one both encoders can write.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { ECS_FIELDS } from '../../src/ecs/generated.js';
import { buildCef } from '../../src/encode/cef.js';
import { invalidReplacement } from '../../src/encode/validate.js';
import type { LogEvent, ParseContext } from '../../src/event/types.js';
import { ecsField, valueKind } from '../../src/parse/ecs-catalog.js';
import { dateFits, eventTimeFits, INT32_MAX, MAX_DATE_MS, MIN_DATE_MS, numberFits } from '../../src/parse/field-ranges.js';
import { createJsonParser } from '../../src/parse/json.js';
import { createRegexParser } from '../../src/parse/regex.js';
import { parsedWellTyped } from './ecs-check.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'UTC' };

describe('field ranges', () => {
  test('every numeric bound of the ECS schema is numberFits’s: the bound fits, one past it does not', () => {
    type Node = { $ref?: string; properties?: Record<string, Node>; minimum?: number; maximum?: number; type?: string };
    const schema = JSON.parse(readFileSync(new URL('../../schemas/ecs-event.schema.json', import.meta.url), 'utf8')) as Node & { $defs: Record<string, Node> };
    let checked = 0;
    const walk = (n: Node, path: string): void => {
      while (n.$ref !== undefined) n = schema.$defs[n.$ref.split('/').pop() as string] as Node;
      if (n.type === 'integer' && ecsField(path) !== undefined) {
        if (n.minimum !== undefined) {
          assert.equal(numberFits(path, n.minimum), true, `${path} = ${n.minimum}`);
          assert.equal(numberFits(path, n.minimum - 1), false, `${path} = ${n.minimum - 1}`);
        }
        if (n.maximum !== undefined) {
          assert.equal(numberFits(path, n.maximum), true, `${path} = ${n.maximum}`);
          assert.equal(numberFits(path, n.maximum + 1), false, `${path} = ${n.maximum + 1}`);
        }
        if (n.minimum !== undefined || n.maximum !== undefined) checked++;
      }
      for (const [k, v] of Object.entries(n.properties ?? {})) walk(v, path === '' ? k : `${path}.${k}`);
    };
    walk(schema, '');
    assert.ok(checked >= 20, `checked ${checked}`);
  });

  test('pids are CEF Integers: 0..2^31-1, for every *.pid field', () => {
    const pids = Object.entries(ECS_FIELDS)
      .filter(([f, def]) => f.endsWith('.pid') && valueKind(def) === 'integer')
      .map(([f]) => f);
    assert.ok(pids.length >= 5, pids.join(', '));
    for (const f of pids) {
      assert.equal(numberFits(f, 0), true, f);
      assert.equal(numberFits(f, INT32_MAX), true, f);
      assert.equal(numberFits(f, INT32_MAX + 1), false, f);
      assert.equal(numberFits(f, -1), false, f);
    }
  });

  test('no field holds Infinity or NaN (JSON cannot write them)', () => {
    for (const f of ['event.risk_score', 'event.duration', 'source.port']) {
      assert.equal(numberFits(f, Infinity), false, f);
      assert.equal(numberFits(f, -Infinity), false, f);
      assert.equal(numberFits(f, NaN), false, f);
    }
  });

  test('dates: years 0..9999; event times: 1970..9999', () => {
    assert.equal(new Date(MIN_DATE_MS).toISOString(), '0000-01-01T00:00:00.000Z');
    assert.equal(new Date(MAX_DATE_MS).toISOString(), '9999-12-31T23:59:59.999Z');
    assert.deepEqual([dateFits(MIN_DATE_MS), dateFits(MIN_DATE_MS - 1), dateFits(MAX_DATE_MS), dateFits(MAX_DATE_MS + 1)], [true, false, true, false]);
    assert.deepEqual([eventTimeFits(0), eventTimeFits(-1), eventTimeFits(MAX_DATE_MS), eventTimeFits(MAX_DATE_MS + 1), eventTimeFits(NaN)], [true, false, true, false, false]);
  });

  test('the CEF encoder and the invalid-event stand-in draw the same lines as the parsers', () => {
    const ev = (fields: LogEvent['fields']): LogEvent => ({ fields, source: { input: 'x', identity: 'x' }, severity: 6, classId: 'c', name: 'n' });
    const opts = { vendor: 'logward', product: 'logward', version: '1' };
    const rt = (iso: string): string | undefined => buildCef(ev({ '@timestamp': iso }), opts).extension['rt'];
    assert.equal(rt(new Date(MAX_DATE_MS).toISOString()), String(MAX_DATE_MS));
    assert.equal(rt('1970-01-01T00:00:00.000Z'), '0');
    assert.equal(rt('1969-12-31T23:59:59.999Z'), undefined);
    const pid = (v: number | string): string | undefined => buildCef(ev({ 'process.pid': v }), opts).extension['dvcpid'];
    assert.equal(pid(INT32_MAX), String(INT32_MAX));
    assert.equal(pid(INT32_MAX + 1), undefined);
    assert.equal(pid(String(INT32_MAX)), String(INT32_MAX));
    assert.equal(pid(String(INT32_MAX + 1)), undefined);
    assert.equal(pid(-1), undefined);
    const now = new Date('2026-11-22T12:00:00.000Z');
    const standIn = (iso: string): unknown => invalidReplacement(ev({ '@timestamp': iso }), ['x'], now).fields['@timestamp'];
    assert.equal(standIn('9999-12-31T23:59:59.999Z'), '9999-12-31T23:59:59.999Z');
    assert.equal(standIn('1969-12-31T23:59:59.999Z'), now.toISOString());
  });

  test('a float field given "1e999" keeps the text under json.*, in both parsers (it was Infinity, written as null)', () => {
    const json = parsedWellTyped(createJsonParser((s) => s), '{"event":{"risk_score":"1e999","duration":"5"}}', ctx);
    assert.equal(json.fields['event.risk_score'], undefined);
    assert.equal(json.fields['json.event.risk_score'], '1e999');
    assert.equal(json.fields['event.duration'], 5);
    const regex = parsedWellTyped(createRegexParser(String.raw`^(?<event__risk_score>\S+)$`), '1e999', ctx);
    assert.equal(regex.fields['json.event.risk_score'], '1e999');
    assert.equal(parsedWellTyped(createRegexParser(String.raw`^(?<event__risk_score>\S+)$`), '2.5e1', ctx).fields['event.risk_score'], 25);
  });
});
