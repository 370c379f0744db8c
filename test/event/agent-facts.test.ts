/**
 * A log line cannot pass for the agent: not its alerts' severity, not the
 * device it names in CEF, not the host's addresses, not the related.* pivots.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeCef, encodeCef } from '../../src/encode/cef.js';
import { assembleSyslog, syslogParts } from '../../src/encode/rfc5424.js';
import { EventBuilder } from '../../src/event/build.js';
import { classify, SEVERITY } from '../../src/event/classify.js';
import { InternalEvents } from '../../src/event/internal.js';
import { tamperSpec } from '../../src/event/signals.js';
import type { EcsFields, LogEvent, ParseResult, RawRecord } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';
import { RecordProcessor } from '../../src/processor.js';

const FORGED =
  '{"event":{"kind":"alert","action":"log_file_truncated","category":["file"],"type":["change"]},"host":{"hostname":"evil-host"},"message":"Log file /var/log/auth.log was truncated"}';
const CEF_OPTS = { vendor: 'logward', product: 'logward', version: '0.1.0' };
const src = { input: 'app', identity: 'fp:1', path: '/var/log/app.json', offset: 0, end: 10 };

function processor(format: 'ecs' | 'cef', ips: string[] = []): RecordProcessor {
  return new RecordProcessor({
    agentId: 'A1',
    parser: 'auto',
    format,
    cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: ['password'], custom: [] },
    maxLineBytes: 64 * 1024,
    counters: new Counters(),
    timeZone: 'UTC',
    host: { name: 'real-host', ips },
    now: () => new Date('2026-11-22T12:00:00Z'),
  });
}

test("a JSON line forging the agent's tamper alert gets neither its severity nor its device: CEF severity 3, PRI info, dvchost the agent's host", () => {
  const r = processor('cef').process({ bytes: Buffer.from(FORGED), source: src });
  assert.equal(r.valid, true);
  const cef = decodeCef(r.payload);
  assert.equal(cef.severity, 3);
  assert.equal(cef.classId, 'json:log_file_truncated');
  assert.equal(cef.extension['dvchost'], 'real-host');
  assert.ok(!r.payload.includes('dvchost=evil-host'), r.payload);
  assert.equal(r.event.severity, SEVERITY.informational);
  const msg = assembleSyslog(syslogParts(r.event, r.payload, { sdId: 'logward@32473', msgId: 'CEF', agentId: 'A1', hostname: 'real-host' }));
  assert.ok(msg.startsWith('<134>1 '), msg.slice(0, 40));

  // The agent's own alert for the same thing keeps its rank.
  const own = new InternalEvents({ id: 'A1', version: '0.1.0', hostName: 'real-host', ecsVersion: '9.3.0', session: 's' }).make(
    tamperSpec({ kind: 'truncated', path: '/var/log/auth.log', identity: 'fp:1' }, 'auth'),
  );
  assert.equal(decodeCef(encodeCef(own, CEF_OPTS)).severity, 9);
});

test('in ECS the forged line is an event of kind "event" on the real host; its claims are json.* data', () => {
  const r = processor('ecs', ['192.0.2.10']).process({ bytes: Buffer.from(FORGED), source: src });
  const doc = JSON.parse(r.payload) as { event: { kind: string }; host: Record<string, unknown>; json: { event: { kind: string }; host: { hostname: string } } };
  assert.equal(doc.event.kind, 'event');
  assert.deepEqual(doc.host, { ip: ['192.0.2.10'], name: 'real-host' });
  assert.equal(doc.json.event.kind, 'alert');
  assert.equal(doc.json.host.hostname, 'evil-host');
});

test("only the agent's own events rank as alerts by their kind", () => {
  const f: EcsFields = { 'event.kind': 'alert' };
  assert.equal(classify(f, 'logward', undefined).severity, SEVERITY.alert);
  for (const parser of ['json', 'regex', 'syslog', 'auth']) {
    assert.equal(classify(f, parser, undefined).severity, SEVERITY.informational, parser);
    assert.equal(classify(f, parser, 3).severity, 3, `${parser}: the line's own level`);
  }
});

test("dvchost is the agent's host even where a syslog line names another; the line's HOSTNAME stays in ECS", () => {
  const line = 'Nov 22 10:01:02 other-host sshd[812]: Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2';
  const cef = processor('cef').process({ bytes: Buffer.from(line), source: src });
  assert.equal(decodeCef(cef.payload).extension['dvchost'], 'real-host');
  const ecs = processor('ecs').toEvent({ bytes: Buffer.from(line), source: src });
  assert.equal(ecs.fields['host.hostname'], 'other-host');
  assert.equal(ecs.fields['log.syslog.hostname'], 'other-host');
  assert.equal(ecs.fields['host.name'], 'real-host');
});

test('CEF dvchost comes from host.name, never host.hostname', () => {
  const ev: LogEvent = {
    fields: { '@timestamp': '2024-05-20T10:13:20.123Z', 'host.name': 'real-host', 'host.hostname': 'evil-host', message: 'm' },
    source: { input: 'x', identity: 'x' },
    severity: 6,
    classId: 'c',
    name: 'n',
  };
  assert.equal(decodeCef(encodeCef(ev, CEF_OPTS)).extension['dvchost'], 'real-host');
  const noName = { ...ev, fields: { ...ev.fields, 'host.name': undefined } };
  assert.equal(decodeCef(encodeCef(noName, CEF_OPTS)).extension['dvchost'], undefined);
});

const agentNoIps = { id: 'web-01', version: '9.9.9', hostName: 'web-01', ecsVersion: '9.3.0' };
const raw: RawRecord = { bytes: Buffer.from('line'), source: { input: 'app', identity: 'fp:abc', path: '/var/log/app.log', offset: 0, end: 5 } };
const now = new Date('2026-11-22T10:05:00.000Z');

test('related.* is always computed by the builder: a planted related.user or related.ip no field backs does not survive', () => {
  const planted: ParseResult = { parser: 'regex', fields: { 'related.user': ['root'], 'related.ip': ['203.0.113.66'], message: 'x' } };
  const ev = new EventBuilder(agentNoIps).build({ raw, original: 'x', parsed: planted, tags: [], now });
  assert.equal(ev.fields['related.user'], undefined);
  assert.equal(ev.fields['related.ip'], undefined);
  const mixed: ParseResult = { parser: 'regex', fields: { 'related.user': ['root'], 'user.name': 'bob', 'source.ip': '192.0.2.1' } };
  const ev2 = new EventBuilder(agentNoIps).build({ raw, original: 'x', parsed: mixed, tags: [], now });
  assert.deepEqual(ev2.fields['related.user'], ['bob']);
  assert.deepEqual(ev2.fields['related.ip'], ['192.0.2.1']);
});

test('host.ip is the agent host’s addresses or absent, never a parser’s', () => {
  const planted: ParseResult = { parser: 'regex', fields: { 'host.ip': ['192.0.2.66'] } };
  assert.equal(new EventBuilder(agentNoIps).build({ raw, original: 'x', parsed: planted, tags: [], now }).fields['host.ip'], undefined);
  const withIps = new EventBuilder({ ...agentNoIps, hostIps: ['192.0.2.10'] }).build({ raw, original: 'x', parsed: planted, tags: [], now });
  assert.deepEqual(withIps.fields['host.ip'], ['192.0.2.10']);
});
