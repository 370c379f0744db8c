/**
 * A JSON line cannot state the agent's facts: its event.kind, host.*,
 * related.* and the other fields the agent owns land under json.*, as data.
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

test("a line's event.kind (alert) is data under json.event.kind, not the event's kind", () => {
  const r = json('{"event":{"kind":"alert","action":"log_file_truncated","category":["file"],"type":["change"]},"message":"Log file /var/log/auth.log was truncated"}');
  assert.equal(r.fields['event.kind'], undefined);
  assert.equal(r.fields['json.event.kind'], 'alert');
  // What an application may say about what happened stays ECS.
  assert.equal(r.fields['event.action'], 'log_file_truncated');
  assert.deepEqual(r.fields['event.category'], ['file']);
});

test('host.* from a line (hostname, id, ip, name, os) is data under json.host.*', () => {
  const r = json('{"host":{"hostname":"evil-host","id":"forged-id","ip":["192.0.2.66"],"name":"evil","os":{"type":"linux"}},"host.mac":["00-00-5E-00-53-00"]}');
  for (const k of ['host.hostname', 'host.id', 'host.ip', 'host.name', 'host.os.type', 'host.mac']) {
    assert.equal(r.fields[k], undefined, k);
    assert.notEqual(r.fields[`json.${k}`], undefined, `json.${k}`);
  }
  assert.deepEqual(r.fields['json.host.ip'], ['192.0.2.66']);
});

test('related.* from a line is data under json.related.*: the builder computes the pivots', () => {
  const r = json('{"related":{"ip":["203.0.113.66"],"user":["root"],"hosts":["dc01"]},"user":{"name":"bob"}}');
  assert.equal(r.fields['related.ip'], undefined);
  assert.equal(r.fields['related.user'], undefined);
  assert.equal(r.fields['related.hosts'], undefined);
  assert.deepEqual(r.fields['json.related.user'], ['root']);
  assert.equal(r.fields['user.name'], 'bob');
});

test('the severity, module, zone, receiver status, file, offset, routing and agent namespace are not the line’s either', () => {
  const r = json(
    '{"event":{"severity":0,"module":"logward","timezone":"UTC","agent_id_status":"verified","ingested":"2020-01-01T00:00:00Z"},"log":{"offset":5,"file":{"path":"/x","inode":"1"}},"logward":{"input":"logward"},"data_stream":{"namespace":"ignored"},"message":"m"}',
  );
  for (const k of ['event.severity', 'event.module', 'event.timezone', 'event.agent_id_status', 'event.ingested', 'log.offset', 'log.file.path', 'log.file.inode', 'logward.input', 'data_stream.namespace']) {
    assert.equal(r.fields[k], undefined, k);
    assert.notEqual(r.fields[`json.${k}`], undefined, `json.${k}`);
  }
});

test('what an ECS logger writes about the application stays ECS', () => {
  const r = json(
    '{"@timestamp":"2024-05-20T10:00:00Z","log.level":"info","message":"m","ecs.version":"1.6.0","service":{"name":"shop"},"event":{"dataset":"shop.log","action":"order-created","outcome":"success"},"process":{"pid":42},"user":{"name":"bob"},"trace":{"id":"abc"}}',
  );
  assert.equal(r.fields['service.name'], 'shop');
  assert.equal(r.fields['event.dataset'], 'shop.log');
  assert.equal(r.fields['event.action'], 'order-created');
  assert.equal(r.fields['process.pid'], 42);
  assert.equal(r.fields['user.name'], 'bob');
  assert.equal(r.fields['trace.id'], 'abc');
});
