import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import fc from 'fast-check';

import { EcsVersion } from '@elastic/ecs';

import { decodeCef } from '../../src/encode/cef.js';
import { ecsPlan, nestEcs, withEcsVersion } from '../../src/encode/ecs.js';
import { isCanonicalIsoMs } from '../../src/encode/iso-time.js';
import { ECS_ALLOWED, checkCategorization } from '../../src/encode/ecs-allowed.js';
import {
  cefSchema,
  createValidators,
  ECS_SCHEMA_URL,
  ecsSchema,
  encodeEvent,
  INVALID_CLASS_ID,
  TAG_SCHEMA_INVALID,
} from '../../src/encode/validate.js';
import type { EcsFields, FieldValue, LogEvent } from '../../src/event/types.js';
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

test('remembered format values never let a different bad value through: impossible dates and addresses are still refused', () => {
  const v = createValidators();
  const good = { ...GOOD, 'event.created': '2024-02-29T23:59:59.999Z' };
  // Accepted values are remembered; every one of these differs from them only slightly.
  for (let i = 0; i < 3; i++) assert.deepEqual(v.validateEcs(nestEcs(good)), { ok: true });
  const near: [string, EcsFields][] = [
    ['Feb 30', { ...good, '@timestamp': '2024-02-30T10:13:20.000Z' }],
    ['Feb 29 in a common year', { ...good, 'event.created': '2023-02-29T23:59:59.999Z' }],
    ['hour 24', { ...good, '@timestamp': '2024-05-20T24:13:20.000Z' }],
    ['no zone', { ...good, '@timestamp': '2024-05-20T10:13:20.000' }],
    ['IPv4 octet 256', { ...good, 'source.ip': '203.0.113.256' }],
    ['IPv6 with two ::', { ...good, 'host.ip': ['10.0.0.1', 'fe80::1::2'] }],
  ];
  for (const [what, fields] of near) {
    assert.equal(v.validateEcs(nestEcs(fields)).ok, false, what);
    // ...and the valid neighbour is still valid afterwards.
    assert.deepEqual(v.validateEcs(nestEcs(good)), { ok: true }, `after ${what}`);
  }
});

test('the hot-path and the explaining validators agree: every invalid event gets a reason from the schema', () => {
  // The hot path runs ajv's core engine, the explanation Ajv2020; a disagreement
  // would show up as the placeholder reason instead of a real one.
  const counters = new Counters();
  for (const [what, fields] of INVALID) {
    const r = encodeEvent(logEvent(fields), 'ecs', { counters, validators: createValidators() });
    assert.equal(r.valid, false, what);
    assert.doesNotMatch((r.errors ?? []).join('\n'), /no detail from the schema/, what);
  }
});

test('validation by leaf gives the whole-document verdict and reasons, for every event of a shape', () => {
  const v = createValidators();
  // Values that pass and fail: formats, ranges, enums, $ref'd and anyOf'd definitions, labels, pairing.
  const pools: Record<string, FieldValue[]> = {
    '@timestamp': ['2024-05-20T10:13:20.000Z', '2024-02-30T10:13:20Z', '20 May'],
    'event.created': ['2024-02-29T23:59:59.999Z', '2023-02-29T23:59:59.999Z'],
    'source.ip': ['203.0.113.7', '999.1.1.1', 'fe80::1'],
    'destination.port': [443, 70000],
    'host.ip': [['10.0.0.1', 'fe80::1'], ['10.0.0.1', 'nope']],
    'event.kind': ['event', 'bogus'],
    'event.category': [['authentication'], ['web'], ['nope']],
    'event.type': [['start'], ['access'], ['info']],
    'labels.env': ['prod', 5],
    'user.name': ['admin', 7],
    'agent.id': ['web-01', 3],
    'error.code': ['E1', 7],
    'ecs.version': ['9.4.0', ''],
  };
  const names = Object.keys(pools);
  fc.assert(
    fc.property(
      fc.nat(),
      fc.array(fc.array(fc.nat(), { minLength: names.length, maxLength: names.length }), { minLength: 4, maxLength: 8 }),
      (drop, rounds) => {
        for (const picks of rounds) {
          const fields: EcsFields = { ...GOOD };
          names.forEach((n, i) => {
            const pool = pools[n] ?? [];
            // Mostly the good value (pool[0]): a shape is only validated by leaf once one of its events passed whole.
            const pick = picks[i] ?? 0;
            if ((drop >> i) % 3 !== 0) fields[n] = pool[pick % 5 === 0 ? (pick >> 3) % pool.length : 0];
          });
          const f = withEcsVersion(fields);
          const byLeaf = v.validateEcsFields(f, ecsPlan(f));
          const whole = v.validateEcs(nestEcs(fields));
          assert.deepEqual(byLeaf, whole, JSON.stringify(fields));
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('the hot-path engine accepts and rejects exactly what the schemas\' own 2020-12 engine does', async () => {
  const { default: Ajv2020Module } = await import('ajv/dist/2020.js');
  const { default: addFormatsModule } = await import('ajv-formats');
  const ajv = new Ajv2020Module.default({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormatsModule.default(ajv, ['date-time', 'ipv4', 'ipv6']);
  const reference = { ecs: ajv.compile(ecsSchema()), cef: ajv.compile(cefSchema()) };
  const v = createValidators();
  // Good and bad values for the fields whose schema uses formats, ranges, enums, refs and anyOf.
  const ecsPools: Record<string, FieldValue[]> = {
    '@timestamp': ['2024-05-20T10:13:20.000Z', '2024-02-30T10:13:20Z', '2024-05-20T10:13:20+02:00', '20 May'],
    'event.created': ['2024-02-29T23:59:59.999Z', '2023-02-29T23:59:59.999Z'],
    'source.ip': ['203.0.113.7', '999.1.1.1', 'fe80::1', '1::2::3'],
    'source.port': [52344, 70000, -1],
    'host.ip': [['10.0.0.1', 'fe80::1'], ['10.0.0.1', 'nope']],
    'event.kind': ['event', 'alert', 'bogus'],
    'event.outcome': ['failure', 'maybe'],
    'http.response.status_code': [401, 42],
    'log.syslog.priority': [13, 192],
    'labels.env': ['prod', 5],
    'user.name': ['admin', ''],
    'error.code': ['E1', 7],
  };
  const names = Object.keys(ecsPools);
  fc.assert(
    fc.property(fc.array(fc.nat(), { minLength: names.length, maxLength: names.length }), fc.nat(), (picks, drop) => {
      const fields: EcsFields = { ...GOOD };
      names.forEach((n, i) => {
        const pool = ecsPools[n] ?? [];
        if ((drop >> i) % 4 !== 0) fields[n] = pool[(picks[i] ?? 0) % pool.length];
      });
      const doc = nestEcs(fields);
      assert.equal(v.validateEcs(doc).ok, reference.ecs(doc), JSON.stringify(doc));
    }),
    { numRuns: 400 },
  );
  const cefPools: Record<string, (string | undefined)[]> = {
    rt: ['1716200000000', '-5', 'x', undefined],
    src: ['203.0.113.7', 'fe80::1', undefined],
    c6a2: ['2001:db8::1', '203.0.113.7', undefined],
    c6a2Label: ['source.ip', undefined],
    spt: ['52344', '70000', '080', undefined],
    cs1: ['a,b', undefined],
    cs1Label: ['tags', undefined],
    agt: ['10.0.0.1', undefined],
    customerURI: ['x', undefined],
    'bad key': ['x', undefined],
  };
  const keys = Object.keys(cefPools);
  fc.assert(
    fc.property(fc.array(fc.nat(), { minLength: keys.length, maxLength: keys.length }), fc.constantFrom(3, 11, 'High', 'Bad'), (picks, severity) => {
      const extension: Record<string, string> = { msg: 'm' };
      keys.forEach((k, i) => {
        const pool = cefPools[k] ?? [];
        const value = pool[(picks[i] ?? 0) % pool.length];
        if (value !== undefined) extension[k] = value;
      });
      const obj = { version: 0, vendor: 'v', product: 'p', deviceVersion: '1', classId: 'c', name: 'n', severity, extension };
      assert.equal(v.validateCef(obj).ok, reference.cef(obj), JSON.stringify(obj));
    }),
    { numRuns: 400 },
  );
});

test('the date-time fast path accepts only what ajv-formats\' full date-time check accepts, and every ISO string the agent writes', async () => {
  const { fullFormats } = await import('ajv-formats/dist/formats.js');
  const def = fullFormats['date-time'] as { validate: (s: string) => boolean };
  const iso = fc.date({ min: new Date(Date.UTC(0, 0, 1)), max: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)), noInvalidDate: true }).map((d) => d.toISOString());
  // Mutations of canonical strings: any character of a valid one swapped for a digit, separator or letter.
  const mutated = fc.tuple(iso, fc.nat(23), fc.constantFrom(...'0123456789-:.TZtz +')).map(([s, i, c]) => s.slice(0, i) + c + s.slice(i + 1));
  fc.assert(
    fc.property(fc.oneof(iso, mutated, fc.string({ maxLength: 26 })), (s) => {
      if (isCanonicalIsoMs(s)) assert.ok(def.validate(s), s);
    }),
    { numRuns: 20000 },
  );
  fc.assert(fc.property(iso, (s) => s.length !== 24 || isCanonicalIsoMs(s) || s.slice(17, 19) === '60'), { numRuns: 5000 });
  for (const bad of ['2023-02-29T00:00:00.000Z', '2024-13-01T00:00:00.000Z', '2024-01-01T24:00:00.000Z', '2024-01-01T00:00:60.000Z', '2024-01-01T00:00:00.000+']) {
    assert.equal(isCanonicalIsoMs(bad), false, bad);
  }
  assert.equal(isCanonicalIsoMs('2024-02-29T23:59:59.999Z'), true);
});

test('both event schemas are valid JSON Schema 2020-12 (the agent no longer checks this at start-up)', async () => {
  const { default: Ajv2020Module } = await import('ajv/dist/2020.js');
  const ajv = new Ajv2020Module.default({ strict: true, allowUnionTypes: true });
  for (const [name, schema] of [['ecs-event', ecsSchema()], ['cef-event', cefSchema()]] as const) {
    assert.equal(ajv.validateSchema(schema), true, `${name}.schema.json: ${ajv.errorsText(ajv.errors)}`);
  }
});
