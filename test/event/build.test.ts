import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import fc from 'fast-check';

import { EventBuilder } from '../../src/event/build.js';
import type { ParseResult, RawRecord } from '../../src/event/types.js';

const agent = { id: 'web-01', version: '9.9.9', hostName: 'web-01.example.com', hostIps: ['192.0.2.10'], ecsVersion: '9.3.0' };
const now = new Date('2026-11-22T10:05:00.000Z');
const raw: RawRecord = {
  bytes: Buffer.from('line'),
  source: { input: 'auth', identity: 'fp:abc', path: '/var/log/auth.log', offset: 812, end: 900 },
};
const parsed: ParseResult = {
  parser: 'auth',
  timestamp: new Date('2026-11-22T10:01:02.000Z'),
  timezone: 'Europe/Berlin',
  message: 'Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2',
  fields: {
    'event.category': ['authentication'],
    'event.type': ['start'],
    'event.outcome': 'failure',
    'event.action': 'authn_login_fail',
    'user.name': 'admin',
    'source.ip': '203.0.113.9',
    'source.port': 52114,
  },
};

test('the event carries agent-side facts: when, where, which agent, which file and offset', () => {
  const ev = new EventBuilder(agent).build({ raw, original: 'orig line', parsed, tags: [], now });
  const f = ev.fields;
  assert.equal(f['@timestamp'], '2026-11-22T10:01:02.000Z');
  assert.equal(f['event.created'], now.toISOString());
  assert.equal(f['event.timezone'], 'Europe/Berlin');
  assert.equal(f['event.original'], 'orig line');
  assert.equal(f['event.hash'], createHash('sha256').update('orig line').digest('hex'));
  assert.equal(f['log.file.path'], '/var/log/auth.log');
  assert.equal(f['log.offset'], 812);
  assert.equal(f['agent.id'], 'web-01');
  assert.equal(f['host.name'], 'web-01.example.com');
  assert.deepEqual(f['related.ip'], ['203.0.113.9']);
  assert.deepEqual(f['related.user'], ['admin']);
  assert.equal(f['event.ingested'], undefined, 'event.ingested belongs to the SIEM');
});

test('the class is stable and made of words we chose, not of the line', () => {
  const ev = new EventBuilder(agent).build({ raw, original: 'x', parsed, tags: [], now });
  assert.equal(ev.classId, 'auth:authn_login_fail');
  assert.equal(ev.name, 'Login failed');
  assert.equal(ev.severity, 4);
  const hostile = { ...parsed, fields: { ...parsed.fields, 'event.action': 'x|y=z\\ evil' } };
  const ev2 = new EventBuilder(agent).build({ raw, original: 'x', parsed: hostile, tags: [], now });
  assert.equal(ev2.classId, 'auth:authentication_failure');
});

test('without a parsed timestamp the event is stamped with the time it was read', () => {
  const ev = new EventBuilder(agent).build({ raw, original: 'x', parsed: { parser: 'plain', fields: {} }, tags: ['truncated'], now });
  assert.equal(ev.fields['@timestamp'], now.toISOString());
  assert.equal(ev.fields['message'], 'x');
  assert.deepEqual(ev.fields['tags'], ['truncated']);
  assert.equal(ev.classId, 'plain:event');
});

test('a journal cursor, not an offset, identifies a journal record', () => {
  const j: RawRecord = { bytes: Buffer.from('m'), source: { input: 'sys', identity: 'journal:m1', cursor: 's=a;i=1' } };
  const ev = new EventBuilder(agent).build({ raw: j, original: 'm', parsed: { parser: 'plain', fields: {} }, tags: [], now });
  assert.equal(ev.fields['log.offset'], undefined);
  assert.equal(typeof ev.fields['event.id'], 'string');
});

test('an undefined value never overrides a field an earlier source set, and never appears as a field', () => {
  const j: RawRecord = { ...raw, fields: { 'host.hostname': 'from-journal', 'process.pid': 7 } };
  const p: ParseResult = { parser: 'syslog', fields: { 'host.hostname': undefined, 'process.name': 'sshd', 'process.pid': undefined } };
  const ev = new EventBuilder(agent).build({ raw: j, original: 'x', parsed: p, tags: [], now, extraFields: { 'labels.env': undefined } });
  assert.equal(ev.fields['host.hostname'], 'from-journal');
  assert.equal(ev.fields['process.pid'], 7);
  assert.equal(ev.fields['process.name'], 'sshd');
  assert.equal(Object.hasOwn(ev.fields, 'labels.env'), false);
});

test('later sources win: parser over journal, config over parser', () => {
  const j: RawRecord = { ...raw, fields: { 'host.hostname': 'journal', 'service.name': 'journal' } };
  const p: ParseResult = { parser: 'syslog', fields: { 'host.hostname': 'parser', 'service.name': 'parser' } };
  const ev = new EventBuilder(agent).build({ raw: j, original: 'x', parsed: p, tags: [], now, extraFields: { 'service.name': 'config' } });
  assert.equal(ev.fields['host.hostname'], 'parser');
  assert.equal(ev.fields['service.name'], 'config');
});

test('event.created and @timestamp are exactly toISOString, for any instant and across day changes', () => {
  const b = new EventBuilder(agent);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -8.64e15, max: 8.64e15 }), { minLength: 1, maxLength: 8 }), (instants) => {
      for (const ms of instants) {
        // Neighbours of the same day, the same millisecond, and the day boundary.
        for (const t of [ms, ms, ms + 1, ms - (ms % 86_400_000), ms + 86_400_000 - 1]) {
          if (Math.abs(t) > 8.64e15) continue;
          const d = new Date(t);
          const ev = b.build({ raw, original: 'x', parsed: { parser: 'plain', fields: {}, timestamp: d }, tags: [], now: d });
          assert.equal(ev.fields['event.created'], d.toISOString());
          assert.equal(ev.fields['@timestamp'], d.toISOString());
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('an unusable clock still fails loudly instead of stamping a wrong time', () => {
  assert.throws(
    () => new EventBuilder(agent).build({ raw, original: 'x', parsed: { parser: 'plain', fields: {} }, tags: [], now: new Date(Number.NaN) }),
    RangeError,
  );
});
