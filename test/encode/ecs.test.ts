import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EcsVersion } from '@elastic/ecs';
import fc from 'fast-check';

import { encodeEcs, nestEcs, nestEcsGeneric, stringifyEcs } from '../../src/encode/ecs.js';
import { syslogParts } from '../../src/encode/rfc5424.js';
import { EncodeError } from '../../src/encode/encode-error.js';
import type { EcsFields, FieldValue, LogEvent } from '../../src/event/types.js';

/** Independent oracle: Unicode properties, not the module's tables. */
const UNSAFE_RAW = /[\p{Cc}\p{Cf}\p{Variation_Selector}\p{Zl}\p{Zp}]|\p{Cs}/u;

function logEvent(fields: EcsFields): LogEvent {
  return { fields, severity: 6, source: { input: 'test', identity: 'x' }, classId: 'test', name: 'test' };
}

/** The reference nesting, written the obvious way (plain objects, defineProperty for every key). */
function referenceNest(fields: EcsFields): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const f: EcsFields = { ...fields };
  if (f['ecs.version'] === undefined || f['ecs.version'] === '') f['ecs.version'] = EcsVersion;
  for (const [name, v] of Object.entries(f)) {
    if (v === undefined || v === '') continue;
    const segs = name.startsWith('labels.') ? ['labels', name.slice(7)] : name.split('.');
    let obj = root;
    for (const s of segs.slice(0, -1)) {
      if (!Object.hasOwn(obj, s)) Object.defineProperty(obj, s, { value: {}, enumerable: true, writable: true, configurable: true });
      obj = obj[s] as Record<string, unknown>;
    }
    Object.defineProperty(obj, segs[segs.length - 1] as string, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return root;
}

const TYPICAL: EcsFields = {
  'ecs.version': '9.3.0',
  message: 'Failed password for invalid user admin from 203.0.113.7 port 52344 ssh2',
  'source.ip': '203.0.113.7',
  'source.port': 52344,
  'event.category': ['authentication'],
  'event.outcome': 'failure',
  '@timestamp': '2024-05-20T10:13:20.000Z',
  'user.name': 'admin',
  tags: ['invalid_user'],
  'labels.tty': 'pts/0',
};

test('nests flat fields with @timestamp, ecs, message first and the rest in name order', () => {
  assert.equal(
    encodeEcs(logEvent(TYPICAL)),
    '{"@timestamp":"2024-05-20T10:13:20.000Z","ecs":{"version":"9.3.0"},' +
      '"message":"Failed password for invalid user admin from 203.0.113.7 port 52344 ssh2",' +
      '"event":{"category":["authentication"],"outcome":"failure"},"labels":{"tty":"pts/0"},' +
      '"source":{"ip":"203.0.113.7","port":52344},"tags":["invalid_user"],"user":{"name":"admin"}}',
  );
});

test('key order does not depend on the order fields were set in', () => {
  const reversed = Object.fromEntries(Object.entries(TYPICAL).reverse());
  const a = encodeEcs(logEvent(TYPICAL));
  for (let i = 0; i < 3; i++) assert.equal(encodeEcs(logEvent(reversed)), a); // generic path, then compiled
});

test('labels keep dotted keys flat, __proto__ is an ordinary key, empty values are omitted', () => {
  const fields: EcsFields = {
    '@timestamp': '2024-05-20T10:13:20.000Z', 'labels.a.b': 'x', 'labels.__proto__': 'p', '__proto__.x': 'q',
    message: '', 'event.kind': undefined,
  };
  for (let i = 0; i < 3; i++) {
    const out = encodeEcs(logEvent(fields));
    const back = JSON.parse(out) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(back), ['@timestamp', 'ecs', '__proto__', 'labels']);
    assert.equal(Object.getPrototypeOf(back['labels']), Object.prototype);
    assert.equal(back['labels']?.['a.b'], 'x');
    assert.equal(Object.getOwnPropertyDescriptor(back['labels'], '__proto__')?.value, 'p');
    assert.equal(back['ecs']?.['version'], EcsVersion);
    assert.ok(!out.includes('"message"'));
  }
});

test('a field that is both a value and a parent, an empty segment or NaN is an EncodeError, every time', () => {
  for (const fields of [
    { 'source.ip': '1.2.3.4', 'source.ip.x': 'y' },
    { source: 'x', 'source.ip': '1.2.3.4' },
    { 'a..b': 'x' },
    { 'labels.': 'x' },
    { 'event.severity': Number.NaN },
    { 'event.sequence': [1, Infinity] },
  ] as EcsFields[]) {
    for (let i = 0; i < 3; i++) assert.throws(() => encodeEcs(logEvent(fields)), EncodeError, JSON.stringify(fields));
  }
});

test('controls, U+2028/2029, NEL, bidi, zero-width and lone surrogates are \\u escapes that parse back unchanged', () => {
  const nasty = 'a\u0000b\u001b[31m\u007f\u0085\u2028\u2029\u202e\u2066\u200b\u200d\ufeff\u00ad\ud800x\udc00\u{e0041}"\\\n\r\t😀é';
  const out = encodeEcs(logEvent({ message: nasty, 'labels.k\u202e': nasty }));
  assert.ok(!UNSAFE_RAW.test(out), out);
  assert.ok(out.includes('\\u2028') && out.includes('\\u202e') && out.includes('\\u0085') && out.includes('\\udb40\\udc41'));
  assert.ok(out.includes('😀é'), 'ordinary non-ASCII stays raw UTF-8');
  const back = JSON.parse(out) as { message: string; labels: Record<string, string> };
  assert.equal(back.message, nasty);
  assert.equal(back.labels['k\u202e'], nasty);
});

test('a multiline message is one line of JSON', () => {
  const message = 'line one\nline two\r\nline three';
  const out = encodeEcs(logEvent({ message, 'event.original': message }));
  assert.equal(out.split('\n').length, 1);
  assert.equal((JSON.parse(out) as { message: string }).message, message);
});

const segment = fc.oneof(
  fc.constantFrom('source', 'ip', 'event', 'labels', 'a', 'b', '__proto__', 'constructor', '0', '10', 'tags', 'x-y'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).filter((s) => !s.includes('.')),
);
const fieldName = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('.'));
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: fc.constantFrom('\u2028', '\u2029', '\u0085', '\u202e', '\u200b', '\ud800', '\udfff', '"', '\\', '\n', 'a', '😀'), maxLength: 12 }),
);
const value: fc.Arbitrary<FieldValue> = fc.oneof(
  anyText,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x)), // JSON has no -0
  fc.boolean(),
  fc.array(anyText, { maxLength: 3 }),
  fc.array(fc.integer(), { maxLength: 3 }),
);

/** Drops names that collide as value-and-parent (those must throw; tested above). */
function consistent(fields: EcsFields): EcsFields {
  const names = Object.keys(fields).filter((n) => fields[n] !== '' && fields[n] !== undefined);
  const paths = names.map((n) => (n.startsWith('labels.') ? ['labels', n.slice(7)] : n.split('.')));
  const out: EcsFields = {};
  for (const [i, n] of names.entries()) {
    const p = paths[i] as string[];
    const clash = paths.some((q, j) => j !== i && q.length > p.length && p.every((s, k) => q[k] === s)) ||
      paths.some((q, j) => j !== i && q.length < p.length && q.every((s, k) => p[k] === s));
    if (!clash && !(n === 'ecs' || n.startsWith('ecs.version.'))) Object.defineProperty(out, n, { value: fields[n], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const SYSLOG = { sdId: 'logward@32473', msgId: 'ECS' as const, agentId: 'web-01', hostname: 'web-01' };

test('property: JSON.parse(encodeEcs) equals the nested input for arbitrary unicode in every name and value', () => {
  fc.assert(
    fc.property(fc.dictionary(fieldName, value, { maxKeys: 12 }), (raw) => {
      const fields = consistent(raw);
      const expected = referenceNest(fields);
      // Three times: first sighting (generic), second (compiles), third (cached plan).
      for (let i = 0; i < 3; i++) {
        const out = encodeEcs(logEvent(fields));
        // The compiled serializer writes exactly what JSON.stringify + the post-pass write.
        assert.equal(out, stringifyEcs(nestEcsGeneric(fields)));
        // ...and nothing RFC 5424 would neutralize, so the pipeline may pass it as vetted.
        assert.deepEqual(syslogParts(logEvent(fields), out, SYSLOG, true), syslogParts(logEvent(fields), out, SYSLOG));
        assert.ok(!UNSAFE_RAW.test(out), out);
        assert.ok(!out.includes('\n'));
        assert.deepEqual(JSON.parse(out), JSON.parse(JSON.stringify(expected)));
        assert.deepEqual(JSON.parse(out), expected);
      }
      assert.equal(stringifyEcs(nestEcs(fields)), stringifyEcs(nestEcsGeneric(fields)));
    }),
    { numRuns: 300 },
  );
});

test('a remembered encoding never outlives a change: arrays mutated in place, new arrays, equal values', () => {
  const tags = ['first'];
  const fields: EcsFields = { '@timestamp': '2024-05-20T10:13:20.000Z', message: 'm', tags, 'source.port': 1 };
  const outs: string[] = [];
  for (let i = 0; i < 3; i++) outs.push(encodeEcs(logEvent(fields))); // generic, compiled, remembered
  tags[0] = 'second';
  fields['source.port'] = 2;
  const after = JSON.parse(encodeEcs(logEvent(fields))) as { tags: string[]; source: { port: number } };
  assert.deepEqual(after.tags, ['second']);
  assert.equal(after.source.port, 2);
  tags.push('third');
  assert.deepEqual((JSON.parse(encodeEcs(logEvent(fields))) as { tags: string[] }).tags, ['second', 'third']);
  assert.deepEqual((JSON.parse(encodeEcs(logEvent({ ...fields, tags: ['first'] }))) as { tags: string[] }).tags, ['first']);
  assert.equal(new Set(outs).size, 1);
});
