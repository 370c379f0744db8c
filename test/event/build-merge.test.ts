/**
 * The event's fields are made by one generated object literal per shape
 * (src/event/build.ts, mergeFields) instead of spreads and some twenty
 * property adds (mergeFieldsGeneric, the reference). Same keys, same values,
 * same key order, for any sources: keys that collide with the agent's own,
 * undefined values, "__proto__", array-index keys, values of every type.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { AgentValues, EventBuilder, IsoCache, mergeFields, mergeFieldsGeneric } from '../../src/event/build.js';
import type { EcsFields, FieldValue, ParseResult, RawRecord } from '../../src/event/types.js';

function define(obj: object, name: string, v: unknown): void {
  Object.defineProperty(obj, name, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Keys and values, in order, with "__proto__" and index keys as own data properties: what deepEqual cannot see. */
function entries(f: EcsFields): [string, unknown][] {
  return Reflect.ownKeys(f).map((k) => [String(k), (Object.getOwnPropertyDescriptor(f, k) as PropertyDescriptor).value]);
}

// The agent's own keys (which win or give way by rule), keys a parser may set, and hostile ones.
const KEYS = [
  '@timestamp', 'ecs.version', 'message', 'event.kind', 'event.created', 'event.original', 'event.hash', 'event.id',
  'event.module', 'event.timezone', 'event.severity', 'log.file.path', 'log.offset', 'agent.type', 'agent.name',
  'agent.id', 'agent.version', 'host.name', 'host.ip', 'logward.input', 'related.ip', 'related.user', 'tags',
  'source.ip', 'user.name', 'event.category', 'process.pid', 'json.a', 'labels.x.y',
  '__proto__', 'constructor', 'toString', '0', '10', '4294967294', '4294967295', '-1', '01', '"', '\\', "'];globalThis.__logwardPwned=1;//",
] as const;
const value: fc.Arbitrary<FieldValue | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('', 'x', 'event', '203.0.113.7', 'admin', '\u2028'),
  fc.constantFrom(0, -0, 7, 1.5),
  fc.boolean(),
  fc.constant<string[]>(['a', 'b']),
);
const source: fc.Arbitrary<EcsFields | undefined> = fc.option(
  fc.array(fc.tuple(fc.constantFrom(...KEYS), value), { maxLength: 8 }).map((pairs) => {
    const o: EcsFields = {};
    for (const [k, v] of pairs) define(o, k, v);
    return o;
  }),
  { nil: undefined },
);
const agent = { id: 'web-01', version: '9.9.9', hostName: 'web-01.example.com', ecsVersion: '9.3.0' };
const values = fc.record({
  message: fc.option(fc.constantFrom('m', ''), { nil: undefined }),
  timezone: fc.option(fc.constant('Europe/Berlin'), { nil: undefined }),
  severity: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
  path: fc.option(fc.constant('/var/log/auth.log'), { nil: undefined }),
  offset: fc.option(fc.nat(), { nil: undefined }),
  hostIps: fc.option(fc.constant(Object.freeze(['192.0.2.10'])), { nil: undefined }),
});

test('property: the compiled merger gives the generic merge exactly (keys, values, order), on first sight and after', () => {
  fc.assert(
    fc.property(source, source.map((p) => p ?? {}), source, values, (r, p, x, set) => {
      const v = new AgentValues(agent, set.hostIps);
      Object.assign(v, { message: set.message, timezone: set.timezone, severity: set.severity, path: set.path, offset: set.offset });
      Object.assign(v, { timestamp: 't', created: 'c', original: 'o', hash: 'h', id: 'i', module: 'auth', input: 'in' });
      const expected = entries(mergeFieldsGeneric(r, p, x, v));
      // First sighting (generic), second (compiles), third (compiled).
      for (let i = 0; i < 3; i++) {
        const f = mergeFields(r, p, x, v);
        assert.deepEqual(entries(f), expected, `call ${i}`);
        assert.equal(Object.getPrototypeOf(f), Object.prototype);
      }
      assert.equal((globalThis as { __logwardPwned?: unknown }).__logwardPwned, undefined);
    }),
    { numRuns: 1500 },
  );
});

test('the builder gives the same event on the generic and the compiled path: the first three events of a shape', () => {
  const raw: RawRecord = {
    bytes: Buffer.from('line'),
    source: { input: 'auth', identity: 'fp:abc', path: '/var/log/auth.log', offset: 812, end: 900 },
    fields: { 'process.pid': 7, 'host.ip': ['10.9.9.9'], 'event.kind': undefined },
  };
  const parsed: ParseResult = {
    parser: 'auth',
    timestamp: new Date('2026-11-22T10:01:02.000Z'),
    timezone: 'UTC',
    message: 'Failed password for admin',
    fields: { 'event.category': ['authentication'], 'user.name': 'admin', 'source.ip': '203.0.113.9', tags: ['x'] },
  };
  const now = new Date('2026-11-22T10:05:00.000Z');
  const events = [0, 1, 2].map(() => new EventBuilder({ ...agent, hostIps: ['192.0.2.10'] }).build({ raw, original: 'line', parsed, tags: ['t'], now }));
  const [first, ...rest] = events.map((e) => ({ ...e, fields: entries(e.fields) }));
  for (const e of rest) assert.deepEqual(e, first);
  assert.deepEqual(first?.fields.slice(0, 4), [
    ['ecs.version', '9.3.0'],
    ['message', 'Failed password for admin'],
    ['process.pid', 7],
    // A source's host.ip keeps its place and gets the host's addresses.
    ['host.ip', ['192.0.2.10']],
  ]);
});

test('property: IsoCache gives toISOString exactly, for any instant and any sequence of instants', () => {
  const cache = new IsoCache();
  const instant = fc.oneof(
    fc.integer({ min: -8.64e15, max: 8.64e15 }),
    fc.integer({ min: -62167219200001, max: -62167219199000 }), // around year 0
    fc.integer({ min: 253402300799000, max: 253402300800999 }), // around year 10000
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(instant, fc.array(fc.integer({ min: -61000, max: 61000 }), { maxLength: 6 }))), (starts) => {
      for (const [start, steps] of starts) {
        let ms = start;
        for (const step of [0, ...steps]) {
          ms = Math.max(-8.64e15, Math.min(8.64e15, ms + step));
          const d = new Date(ms);
          assert.equal(cache.of(d), d.toISOString());
        }
      }
    }),
    { numRuns: 500 },
  );
  assert.throws(() => cache.of(new Date(Number.NaN)), RangeError);
});

test('an event with more fields than one generated literal takes (bounds the code) keeps the generic merge, every time', () => {
  const p: EcsFields = {};
  for (let i = 0; i < 300; i++) p[`json.k${i}`] = i % 2 === 0 ? `v${i}` : i;
  const v = new AgentValues(agent, undefined);
  Object.assign(v, { timestamp: 't', created: 'c', original: 'o', hash: 'h', id: 'i', module: 'json', input: 'in', message: 'm' });
  const expected = entries(mergeFieldsGeneric(undefined, p, undefined, v));
  for (let i = 0; i < 3; i++) assert.deepEqual(entries(mergeFields(undefined, p, undefined, v)), expected);
});
