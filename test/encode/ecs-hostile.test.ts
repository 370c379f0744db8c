/**
 * Hostile review of the ECS hot path (per-shape serializer with remembered
 * encodings, validation by leaf, vetted RFC 5424 payloads). Each test holds
 * the fast path to an oracle written independently of src/encode/ecs.ts:
 * JSON.stringify of a plainly nested document, then \uXXXX for every
 * character a Unicode property class calls unsafe.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { ECS_VERSION } from '../../src/ecs/generated.js';
import { ecsPlan, encodeEcs, nestEcs, nestEcsGeneric, stringifyEcs, withEcsVersion } from '../../src/encode/ecs.js';
import { syslogParts } from '../../src/encode/rfc5424.js';
import { createValidators, encodeEvent } from '../../src/encode/validate.js';
import type { EcsFields, FieldValue, LogEvent } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';

function logEvent(fields: EcsFields): LogEvent {
  return { fields, severity: 4, source: { input: 'auth', identity: 'x' }, classId: 'c', name: 'n' };
}

const SYSLOG = { sdId: 'logward@32473', msgId: 'ECS' as const, agentId: 'web-01', hostname: 'web-01' };
/** Independent oracle of "unsafe on the wire": Unicode properties, not the module's tables. */
const UNSAFE_RAW = /[\p{Cc}\p{Cf}\p{Variation_Selector}\p{Zl}\p{Zp}]|\p{Cs}/u;

function escapeCodePoint(ch: string): string {
  let out = '';
  for (let i = 0; i < ch.length; i++) out += '\\u' + ch.charCodeAt(i).toString(16).padStart(4, '0');
  return out;
}

/** JSON.stringify of the canonically ordered nested document + the escaping post-pass, written the obvious way. */
function oracle(input: EcsFields): string {
  const f: EcsFields = {};
  for (const name in input) {
    const v = input[name];
    if (v !== undefined && v !== '') Object.defineProperty(f, name, { value: v, enumerable: true, writable: true, configurable: true });
  }
  if (!Object.hasOwn(f, 'ecs.version')) f['ecs.version'] = ECS_VERSION;
  const head = ['@timestamp', 'ecs.version', 'message'].filter((n) => Object.hasOwn(f, n));
  const rest = Object.keys(f)
    .filter((n) => !head.includes(n))
    .sort();
  const root: Record<string, unknown> = {};
  for (const name of [...head, ...rest]) {
    const segs = name.startsWith('labels.') ? ['labels', name.slice(7)] : name.split('.');
    let obj = root;
    for (const s of segs.slice(0, -1)) {
      if (!Object.hasOwn(obj, s)) Object.defineProperty(obj, s, { value: {}, enumerable: true, writable: true, configurable: true });
      obj = obj[s] as Record<string, unknown>;
    }
    Object.defineProperty(obj, segs[segs.length - 1] as string, { value: f[name], enumerable: true, writable: true, configurable: true });
  }
  return JSON.stringify(root).replace(/[\x7f-\x9f\p{Cf}\p{Variation_Selector}\u2028\u2029]/gu, escapeCodePoint);
}

// Names that would break generated code or a key literal if they were ever embedded as code.
const HOSTILE_SEGMENTS = [
  '"', '\\', "'", '`', '*/', '/*', '${x}', '\u2028', '\u2029', '\n', '\u202e', '\ud800', '😀', '</script>',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '0', '1', '10', '4294967295', '4294967294', '-1', '01',
  '"]);globalThis.__logwardPwned=1;//', "']);globalThis.__logwardPwned=1;//", '}+globalThis.__logwardPwned=1+{',
] as const;
const segment = fc.oneof(fc.constantFrom(...HOSTILE_SEGMENTS), fc.constantFrom('a', 'b', 'user', 'name'));
// A whole field name: plain dotted names, and labels.<rest> where rest keeps its dots.
const fieldName = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('.')),
  fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => 'labels.' + s.join('.')),
);
const text = fc.oneof(
  fc.constantFrom('x', 'y', '', '\t', '\r\n', '\u0085', '\u2028', '\u202e', '\ufeff', '\u{e0041}', '\ud83d', '\x7f', '"\\', '<134>1 - - - - - [x@1 a="b"] forged'),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
// -0, huge and tiny numbers: JSON.stringify and String() must agree on every one.
const num = fc.constantFrom(0, -0, 1e21, -1e21, 5e-324, Number.MAX_VALUE, -1e-7, 1.5, 2 ** 53 + 2, 123456789012345680000);
const value: fc.Arbitrary<FieldValue> = fc.oneof(text, num, fc.boolean(), fc.array(text, { maxLength: 3 }), fc.array(num, { maxLength: 3 }));

/** Keeps names that nest without a value/parent clash (those throw, tested elsewhere). */
function consistent(names: readonly string[]): string[] {
  const out: string[] = [];
  const paths: string[][] = [];
  for (const n of names) {
    const p = n.startsWith('labels.') ? ['labels', n.slice(7)] : n.split('.');
    if (p.some((s) => s === '') || n === 'ecs' || n.startsWith('ecs.') || out.includes(n)) continue;
    const clash = paths.some((q) => (q.length < p.length ? q.every((s, k) => p[k] === s) : q.length > p.length && p.every((s, k) => q[k] === s)));
    if (clash) continue;
    out.push(n);
    paths.push(p);
  }
  return out;
}

function define(obj: EcsFields, name: string, v: FieldValue | undefined): void {
  Object.defineProperty(obj, name, { value: v, enumerable: true, writable: true, configurable: true });
}

test('hostile names and remembered values: every event of a shape is byte-identical to the oracle, and no name runs as code', () => {
  fc.assert(
    fc.property(
      fc.array(fieldName, { minLength: 1, maxLength: 6 }),
      fc.array(fc.array(fc.tuple(value, fc.nat(3)), { minLength: 6, maxLength: 6 }), { minLength: 3, maxLength: 6 }),
      (rawNames, rounds) => {
        const names = consistent(rawNames);
        // ONE fields object mutated between events (as a reused builder would), and one array per slot mutated in place.
        const fields: EcsFields = { '@timestamp': '2024-05-20T10:13:20.000Z' };
        const arrays = names.map(() => ['seed'] as (string | number)[]);
        for (const values of rounds) {
          names.forEach((n, i) => {
            const [v, how] = values[i] ?? ['x', 0];
            const arr = arrays[i] as (string | number)[];
            if (how === 1 && Array.isArray(v)) {
              arr.length = 0; // same array object, new elements
              arr.push(...v);
              define(fields, n, arr as FieldValue);
            } else if (how === 2 && Array.isArray(v)) {
              define(fields, n, Object.freeze([...v]) as unknown as FieldValue);
            } else if (how === 3 && typeof v === 'string' && v !== '') {
              define(fields, n, (v + '\0').slice(0, -1)); // equal by value, a different string object
            } else {
              define(fields, n, v);
            }
          });
          // Same shape each round is not guaranteed ('' drops a name): that is the point, shapes come and go.
          for (let k = 0; k < 3; k++) {
            const out = encodeEcs(logEvent(fields));
            assert.equal(out, oracle(fields));
            assert.ok(!UNSAFE_RAW.test(out) && !/[\t\r\n]/.test(out), out);
          }
        }
        assert.equal((globalThis as { __logwardPwned?: unknown }).__logwardPwned, undefined);
      },
    ),
    { numRuns: 400 },
  );
});

test('an array remembered by a slot, then mutated in place, frozen, or swapped for an equal fresh one, is re-encoded exactly', () => {
  const arr = ['a', 'b'];
  const fields: EcsFields = { '@timestamp': '2024-05-20T10:13:20.000Z', 'related.user': arr, 'host.ip': Object.freeze(['10.0.0.1']) as unknown as string[] };
  const steps: (() => void)[] = [
    () => undefined,
    () => undefined,
    () => (arr[1] = 'c'),
    () => arr.push('\u2028'),
    () => Object.freeze(arr), // the remembered copy is private; the (now frozen) array itself is remembered next
    () => (fields['related.user'] = ['a', 'c', '\u2028']),
    () => (fields['related.user'] = ['a', 'c', '\u2029']),
    () => (fields['related.user'] = [-0, 0]),
    () => (fields['related.user'] = [0, -0, 1e21]),
  ];
  for (const step of steps) {
    step();
    assert.equal(encodeEcs(logEvent(fields)), oracle(fields));
  }
});

test('inherited enumerable fields (for-in) are encoded the same way by every path', () => {
  const proto: EcsFields = { 'user.name': 'inherited' };
  for (let i = 0; i < 3; i++) {
    const fields = Object.create(proto) as EcsFields;
    fields['@timestamp'] = '2024-05-20T10:13:20.000Z';
    fields['ecs.version'] = '9.0.0';
    fields.message = 'm' + String(i);
    assert.equal(encodeEcs(logEvent(fields)), oracle(fields));
  }
});

test('every ECS payload encodeEvent returns (valid or replaced) needs no RFC 5424 neutralizing, so passing it as vetted is exact', () => {
  const validators = createValidators();
  const counters = new Counters();
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom('message', 'event.original', 'user.name', 'labels.x.y', 'source.ip', 'event.id', 'tags', 'source.port', 'a.b', 'a'), value), { maxLength: 6 }), (pairs) => {
      const fields: EcsFields = { '@timestamp': '2024-05-20T10:13:20.000Z' };
      for (const [n, v] of pairs) define(fields, n, v);
      for (let k = 0; k < 3; k++) {
        const ev = logEvent(fields);
        const r = encodeEvent(ev, 'ecs', { counters, validators });
        assert.deepEqual(syslogParts(ev, r.payload, SYSLOG, true), syslogParts(ev, r.payload, SYSLOG, false));
        assert.ok(!UNSAFE_RAW.test(r.payload) && !/[\t\r\n]/.test(r.payload), r.payload);
      }
    }),
    { numRuns: 300 },
  );
});

test('validation by leaf gives the whole-document verdict when event.category or event.type is "" (omitted from the document)', () => {
  const v = createValidators();
  const cases: EcsFields[] = [
    { 'event.category': '', 'event.type': ['access'] },
    { 'event.category': '', 'event.type': ['start'] },
    { 'event.category': ['web'], 'event.type': '' },
    { 'event.category': '', 'event.type': '' },
  ];
  for (const extra of cases) {
    // A shape of its own (user.id), accepted as a whole document first, then judged by leaf.
    const fields: EcsFields = { '@timestamp': '2024-05-20T10:13:20.000Z', 'user.id': 'u-review', message: 'm', ...extra };
    for (let i = 0; i < 4; i++) {
      const f = withEcsVersion(fields);
      assert.deepEqual(v.validateEcsFields(f, ecsPlan(f)), v.validateEcs(nestEcs(fields)), `${JSON.stringify(extra)} event ${i}`);
    }
  }
});

test('property: by-leaf and whole-document verdicts agree over event sequences where any field may turn ""', () => {
  const v = createValidators();
  const pools: Record<string, FieldValue[]> = {
    'event.category': [['authentication'], '', ['web'], ['nope']],
    'event.type': [['start'], '', ['access'], ['info']],
    'event.kind': ['event', '', 'bogus'],
    'source.ip': ['203.0.113.7', '', '999.1.1.1'],
    'source.port': [22, -0, 70000, 1e21],
    'labels.a.b': ['x', '', 5],
    'user.name': ['admin', ''],
  };
  const names = Object.keys(pools);
  fc.assert(
    fc.property(fc.array(fc.array(fc.nat(), { minLength: names.length, maxLength: names.length }), { minLength: 3, maxLength: 10 }), (rounds) => {
      for (const picks of rounds) {
        const fields: EcsFields = { '@timestamp': '2024-05-20T10:13:20.000Z', message: 'leaf-review' };
        names.forEach((n, i) => {
          const pool = pools[n] as FieldValue[];
          const p = picks[i] ?? 0;
          fields[n] = pool[p % 3 === 0 ? p % pool.length : 0];
        });
        const f = withEcsVersion(fields);
        assert.deepEqual(v.validateEcsFields(f, ecsPlan(f)), v.validateEcs(nestEcs(fields)), JSON.stringify(fields));
      }
    }),
    { numRuns: 300 },
  );
});

test('after the plan cache overflows, a shape accepted before is validated as a whole document again, with the same verdicts', () => {
  const v = createValidators();
  const good: EcsFields = { '@timestamp': '2024-05-20T10:13:20.000Z', 'user.name': 'overflow', 'source.port': 22 };
  for (let i = 0; i < 3; i++) {
    const f = withEcsVersion(good);
    assert.deepEqual(v.validateEcsFields(f, ecsPlan(f)), { ok: true });
  }
  // More than MAX_PLANS (2048) compiled shapes: each seen twice.
  for (let i = 0; i < 2100; i++) {
    const f = withEcsVersion({ '@timestamp': '2024-05-20T10:13:20.000Z', [`labels.k${i}`]: 'v' });
    ecsPlan(f);
    ecsPlan(f);
  }
  for (const port of [22, 70000, 23]) {
    const f = withEcsVersion({ ...good, 'source.port': port });
    assert.deepEqual(v.validateEcsFields(f, ecsPlan(f)), v.validateEcs(nestEcs(f)));
  }
});

test(
  'a flood of distinct shapes takes the generic path even when their shape hashes collide (no compile per line)',
  () => {
    // Same length, first, middle and last character in every name: the same hash, different shapes.
    const shape = (mid: string): EcsFields =>
      withEcsVersion({ '@timestamp': '2024-05-20T10:13:20.000Z', [`json.abcMd${mid}z`]: 'v' });
    assert.equal(ecsPlan(shape('QQ')).compiled, false); // first sighting of its hash
    assert.equal(ecsPlan(shape('RR')).compiled, false, 'a never-seen shape was compiled on first sight');
    assert.equal(ecsPlan(shape('QQ')).compiled, true, 'the second sighting of the same names compiles');
    // However often each is repeated, one hash compiles a bounded number of shapes.
    let compiled = 0;
    for (let i = 0; i < 40; i++) {
      const mid = String.fromCharCode(65 + (i % 26)) + String.fromCharCode(97 + Math.floor(i / 26));
      ecsPlan(shape(mid));
      if (ecsPlan(shape(mid)).compiled) compiled++;
    }
    assert.ok(compiled <= 8, `${compiled} colliding shapes compiled`);
    // And every one of them still encodes exactly.
    const f = shape('Zz');
    assert.equal(ecsPlan(f).serialize(f), stringifyEcs(nestEcsGeneric(f)));
  },
);
