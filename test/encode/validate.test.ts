import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { EcsVersion } from '@elastic/ecs';

import { decodeCef } from '../../src/encode/cef.js';
import { nestEcs } from '../../src/encode/ecs.js';
import { ECS_ALLOWED, checkCategorization } from '../../src/encode/ecs-allowed.js';
import {
  createValidators,
  ECS_SCHEMA_URL,
  encodeEvent,
  INVALID_CLASS_ID,
  TAG_SCHEMA_INVALID,
} from '../../src/encode/validate.js';
import type { EcsFields, LogEvent } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';

const validators = createValidators();
const CEF = { vendor: 'logward', product: 'logward', version: '0.1.0' };

const GOOD: EcsFields = {
  '@timestamp': '2024-05-20T10:13:20.000Z',
  'ecs.version': EcsVersion,
  message: 'Failed password for admin',
  'event.kind': 'event',
  'event.category': ['authentication'],
  'event.type': ['start'],
  'event.outcome': 'failure',
  'event.id': '0123456789abcdef0123456789abcdef',
  'event.original': 'May 20 10:13:20 web01 sshd[4242]: Failed password for admin',
  'source.ip': '203.0.113.7',
  'source.port': 52344,
  'http.response.status_code': 401,
  'host.ip': ['10.0.0.1', 'fe80::1'],
  'logward.input': 'auth',
  'labels.env': 'prod',
  tags: ['invalid_user'],
};
function logEvent(fields: EcsFields): LogEvent {
  return { fields, severity: 4, source: { input: 'auth', identity: 'x' }, classId: 'auth:fail', name: 'Auth failed' };
}

test('the schema file carries exactly the ECS enums and top-level field sets of the installed @elastic/ecs', () => {
  const schema = JSON.parse(readFileSync(ECS_SCHEMA_URL, 'utf8')) as {
    properties: Record<string, { properties?: Record<string, { enum?: string[]; items?: { enum?: string[] } }> }>;
  };
  const event = schema.properties['event']?.properties ?? {};
  const hint = 'schemas/ecs-event.schema.json is out of date with @elastic/ecs: update the enums';
  assert.deepEqual(event['kind']?.enum, ECS_ALLOWED.kind, hint);
  assert.deepEqual(event['category']?.items?.enum, ECS_ALLOWED.category, hint);
  assert.deepEqual(event['type']?.items?.enum, ECS_ALLOWED.type, hint);
  assert.deepEqual(event['outcome']?.enum, ECS_ALLOWED.outcome, hint);
  assert.deepEqual(
    Object.keys(schema.properties).filter((k) => k !== 'logward' && k !== 'json').sort(),
    [...ECS_ALLOWED.topLevel],
    hint,
  );
});

test('a typical event is valid ECS', () => {
  assert.deepEqual(validators.validateEcs(nestEcs(GOOD)), { ok: true });
});

const INVALID: [string, EcsFields, RegExp][] = [
  ['bad ip', { ...GOOD, 'source.ip': '999.1.1.1' }, /source\.ip/],
  ['port 70000', { ...GOOD, 'source.port': 70000 }, /source\.port/],
  ['port as a string', { ...GOOD, 'source.port': '80' }, /source\.port/],
  ['category bogus', { ...GOOD, 'event.category': ['bogus'] }, /event\.category/],
  ['kind bogus', { ...GOOD, 'event.kind': 'bogus' }, /event\.kind/],
  ['pairing not expected', { ...GOOD, 'event.type': ['access'] }, /"access" is not expected with event.category \[authentication\]/],
  ['unknown top-level field', { ...GOOD, 'bogus.x': 'y' }, /unknown field "bogus"/],
  ['bad @timestamp', { ...GOOD, '@timestamp': '20 May 2024' }, /@timestamp/],
  ['status code 42', { ...GOOD, 'http.response.status_code': 42 }, /status_code/],
  ['label that is not a string', { ...GOOD, 'labels.n': 5 }, /labels\.n/],
];

for (const [what, fields, why] of INVALID) {
  test(`invalid ECS (${what}) is replaced by a minimal valid event, counted, never dropped`, () => {
    const counters = new Counters();
    const r = encodeEvent(logEvent(fields), 'ecs', { counters, validators });
    assert.equal(r.valid, false);
    assert.match((r.errors ?? []).join('\n'), why);
    assert.equal(counters.get('events_invalid'), 1);
    const doc = JSON.parse(r.payload) as Record<string, Record<string, unknown>>;
    assert.deepEqual(validators.validateEcs(doc), { ok: true });
    assert.equal(doc['event']?.['id'], GOOD['event.id']);
    assert.equal(doc['event']?.['kind'], 'event');
    assert.equal(doc['event']?.['original'], GOOD['event.original']);
    assert.equal(doc['message'] as unknown, GOOD['message']);
    assert.deepEqual(doc['tags'] as unknown, ['invalid_user', TAG_SCHEMA_INVALID]);
    assert.match(String(doc['error']?.['message']), why);
  });
}

test('a shape conflict (value and parent) is replaced too, with the reason', () => {
  const counters = new Counters();
  const r = encodeEvent(logEvent({ ...GOOD, 'source.ip.x': 'y' }), 'ecs', { counters, validators });
  assert.equal(r.valid, false);
  assert.match(JSON.parse(r.payload).error.message as string, /source\.ip/);
  assert.equal(counters.get('events_invalid'), 1);
});

test('a valid event passes through encodeEvent unchanged and is not counted', () => {
  const counters = new Counters();
  const r = encodeEvent(logEvent(GOOD), 'ecs', { counters, validators });
  assert.equal(r.valid, true);
  assert.equal(counters.get('events_invalid'), 0);
  assert.equal(JSON.parse(r.payload).source.ip, '203.0.113.7');
  const c = encodeEvent(logEvent(GOOD), 'cef', { counters, cef: CEF });
  assert.equal(c.valid, true, (c.errors ?? []).join());
  assert.equal(decodeCef(c.payload).extension['src'], '203.0.113.7');
});

for (const [what, fields, why] of [
  ['bad ip', { ...GOOD, 'source.ip': '999.1.1.1' }, /src/],
  ['port 70000', { ...GOOD, 'source.port': 70000 }, /spt/],
  ['category bogus', { ...GOOD, 'event.category': ['bogus'] }, /event\.category "bogus"/],
  ['pairing not expected', { ...GOOD, 'event.type': ['access'] }, /not expected/],
  ['no usable @timestamp', { ...GOOD, '@timestamp': 'never' }, /@timestamp/],
] as [string, EcsFields, RegExp][]) {
  test(`invalid CEF (${what}) is replaced by a schema_invalid CEF event with the same externalId`, () => {
    const counters = new Counters();
    const r = encodeEvent(logEvent(fields), 'cef', { counters, cef: CEF, validators, now: () => new Date(0) });
    assert.equal(r.valid, false);
    assert.match((r.errors ?? []).join('\n'), why);
    assert.equal(counters.get('events_invalid'), 1);
    const x = decodeCef(r.payload);
    assert.equal(x.classId, INVALID_CLASS_ID);
    assert.equal(x.extension['externalId'], GOOD['event.id']);
    assert.equal(x.extension['msg'], GOOD['message']);
    assert.equal(x.extension['cs2'], GOOD['event.original']);
    assert.equal(x.extension['cs1'], `invalid_user,${TAG_SCHEMA_INVALID}`);
    assert.match(x.extension['reason'] ?? '', why);
    assert.match(x.extension['rt'] ?? '', /^[0-9]+$/);
    assert.equal(validators.validateCef({ ...x, version: 0 }).ok, true);
  });
}

test('checkCategorization accepts every expected pairing and rejects an unexpected one', () => {
  for (const [category, types] of ECS_ALLOWED.expectedTypes) {
    for (const type of types) assert.equal(checkCategorization({ 'event.category': [category], 'event.type': [type] }), null);
  }
  assert.equal(checkCategorization({ 'event.category': ['process', 'authentication'], 'event.type': ['start'] }), null);
  assert.notEqual(checkCategorization({ 'event.category': ['threat'], 'event.type': ['start'] }), null);
  assert.notEqual(checkCategorization({ 'event.outcome': 'maybe' }), null);
});

test('a multiline event is one line in ECS and in CEF, even when it is replaced', () => {
  const message = 'panic: boom\n\tat main()\r\n\tat start()';
  for (const fields of [{ ...GOOD, message }, { ...GOOD, message, 'source.port': -1 }]) {
    for (const format of ['ecs', 'cef'] as const) {
      const r = encodeEvent(logEvent(fields), format, { counters: new Counters(), cef: CEF, validators });
      assert.ok(!/[\r\n]/.test(r.payload), `${format}: ${r.payload}`);
    }
  }
});
