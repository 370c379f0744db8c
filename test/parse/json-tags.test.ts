/**
 * A JSON value that cannot be what its ECS name says (wrong type, out of range, not an allowed
 * value), or a time key that gives no usable event time, is kept as text under json.* and the event
 * says so, with the tags the regex and hand-written parsers use: the SIEM can tell "the app sent
 * port 'abc'" from "the app sent no port", and "no time in the line" from "a time we could not use".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ParseContext, ParseResult } from '../../src/event/types.js';
import { createJsonParser } from '../../src/parse/json.js';
import { parsedWellTyped } from './ecs-check.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'UTC' };
const parse = createJsonParser((s) => s);

function json(line: string): ParseResult {
  return parsedWellTyped(parse, line, ctx);
}

test('a port that is no number is kept under json.* and tagged field_type_mismatch', () => {
  const r = json('{"msg":"conn","source.port":"abc","source.ip":"203.0.113.9"}');
  assert.equal(r.fields['source.port'], undefined);
  assert.equal(r.fields['json.source.port'], 'abc');
  assert.equal(r.fields['source.ip'], '203.0.113.9');
  assert.deepEqual(r.tags, ['field_type_mismatch']);
});

test('a status code out of range and an event.type ECS does not allow are tagged too', () => {
  const r = json('{"msg":"x","http":{"response":{"status_code":0}},"event":{"type":"login"}}');
  assert.equal(r.fields['json.http.response.status_code'], '0');
  assert.equal(r.fields['json.event.type'], 'login');
  assert.deepEqual(r.tags, ['field_type_mismatch']);
});

test('fields that fit, unknown keys and labels are no mismatch', () => {
  const r = json('{"ts":1700000000,"msg":"ok","source.port":22,"request_id":"r-1","labels":{"team":"a"},"user":{"name":"bob"}}');
  assert.equal(r.fields['source.port'], 22);
  assert.equal(r.fields['json.request_id'], 'r-1');
  assert.equal(r.tags, undefined);
});

test('a time key before 1970 or unreadable: read time stands in, the stamp is kept, tagged timestamp_invalid', () => {
  for (const [line, key] of [
    ['{"@timestamp":"1969-12-31T23:59:59Z","message":"old"}', 'json.@timestamp'],
    ['{"time":"2026-13-45T10:00:00Z","msg":"x"}', 'json.time'],
    ['{"ts":-100000000000,"msg":"x"}', 'json.ts'],
  ] as const) {
    const r = json(line);
    assert.equal(r.timestamp, undefined, line);
    assert.ok(r.fields[key] !== undefined, `${line}: ${key} kept`);
    assert.deepEqual(r.tags, ['timestamp_invalid'], line);
  }
});

test('a later time key that works wins, and nothing is tagged', () => {
  const r = json('{"@timestamp":"garbage","ts":1700000000,"msg":"x"}');
  assert.equal(r.timestamp?.toISOString(), '2023-11-14T22:13:20.000Z');
  assert.equal(r.tags, undefined);
});

test('a null time key is no time given: no tag', () => {
  const r = json('{"time":null,"msg":"x"}');
  assert.equal(r.timestamp, undefined);
  assert.equal(r.tags, undefined);
});

test('a number under a time key that reads as no date (a duration, a counter) is no event time: it stays as data', () => {
  // 0.532 s read as an epoch was 1970-01-01T00:00:00.532Z: the SIEM filed the event 56 years back.
  for (const [line, kept] of [
    ['{"time":0.532,"msg":"done"}', '0.532'],
    ['{"ts":12,"msg":"done"}', '12'],
    ['{"timestamp":99999999,"msg":"x"}', '99999999'],
  ] as const) {
    const r = json(line);
    assert.equal(r.timestamp, undefined, line);
    assert.equal(r.fields[`json.${Object.keys(JSON.parse(line) as object)[0]}`], kept, line);
  }
  // From 1e8 (1973-03-03 in seconds) a number is an epoch, as digit strings of 9 or more are.
  assert.equal(json('{"ts":100000000}').timestamp?.toISOString(), '1973-03-03T09:46:40.000Z');
  assert.equal(json('{"ts":1716200000.5}').timestamp?.toISOString(), '2024-05-20T10:13:20.500Z');
  assert.equal(json('{"ts":1716200000500}').timestamp?.toISOString(), '2024-05-20T10:13:20.500Z');
});

test('a duration under a time key, or an empty value, is no mismatch and no invalid time', () => {
  for (const line of ['{"time":"12ms","msg":"done"}', '{"time":0.532,"msg":"done"}', '{"ts":"","message":"x","user.name":""}', '{"message":"m","event.category":[]}']) {
    assert.equal(json(line).tags, undefined, line);
  }
});
