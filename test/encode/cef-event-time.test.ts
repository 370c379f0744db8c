/**
 * CEF's rt is epoch milliseconds: the schema's epochMs takes digits only, so a
 * time before 1970 (a negative number) has no spelling. buildCef leaves rt
 * out then, and encodeEvent, which requires rt, ships the schema_invalid
 * stand-in at the read time. The parsers therefore never hand on such an
 * event time (test/parse/access-ranges.test.ts, syslog-ranges.test.ts): the
 * line's stamp stays as json.timestamp and the event keeps its parse.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { buildCef, decodeCef, type CefEvent } from '../../src/encode/cef.js';
import { createValidators, encodeEvent } from '../../src/encode/validate.js';
import type { EcsFields, LogEvent } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';

const v = createValidators();
const OPTS = { vendor: 'logward', product: 'logward', version: '0.1.0' };
const NOW = new Date('2026-11-22T12:00:00.000Z');

function logEvent(fields: EcsFields): LogEvent {
  return { fields: { 'host.name': 'h', 'source.ip': '203.0.113.7', 'event.original': 'line', ...fields }, source: { input: 'x', identity: 'x' }, severity: 6, classId: 'c', name: 'n' };
}

function cef(rt: string): CefEvent {
  return { version: 0, vendor: 'v', product: 'p', deviceVersion: '1', classId: 'c', name: 'n', severity: 3, extension: { rt } };
}

test('the CEF schema takes rt as non-negative epoch milliseconds only', () => {
  for (const rt of ['0', '1', '253402300799999']) assert.equal(v.validateCef(cef(rt)).ok, true, rt);
  for (const rt of ['-1', '-1000', '01', '1.5', '', '2024-05-20T10:13:20Z']) assert.equal(v.validateCef(cef(rt)).ok, false, rt);
});

test('buildCef gives no rt for an @timestamp before 1970; encodeEvent then ships the stand-in at the read time', () => {
  const ev = logEvent({ '@timestamp': '1969-12-31T23:59:59.000Z' });
  assert.equal(buildCef(ev, OPTS).extension['rt'], undefined);
  const counters = new Counters();
  const out = encodeEvent(ev, 'cef', { cef: OPTS, counters, validators: v, now: () => NOW });
  assert.equal(out.valid, false);
  const x = decodeCef(out.payload);
  assert.equal(x.classId, 'logward:schema_invalid');
  assert.equal(x.extension['rt'], String(NOW.getTime()));
  assert.equal(x.extension['src'], undefined, 'the stand-in carries none of the parse');
  assert.equal(counters.get('events_invalid'), 1);
});

test('the read time in @timestamp (what a parser falls back to) encodes with rt and the parse', () => {
  const ev = logEvent({ '@timestamp': NOW.toISOString(), 'json.timestamp': '31/Dec/1969:23:59:59 +0000', tags: ['timestamp_invalid'] });
  const counters = new Counters();
  const out = encodeEvent(ev, 'cef', { cef: OPTS, counters, validators: v, now: () => NOW });
  assert.equal(out.valid, true, out.payload);
  const x = decodeCef(out.payload).extension;
  assert.equal(x['rt'], String(NOW.getTime()));
  assert.equal(x['src'], '203.0.113.7');
  assert.equal(x['cs1'], 'timestamp_invalid');
  assert.equal(counters.get('events_invalid'), 0);
});
