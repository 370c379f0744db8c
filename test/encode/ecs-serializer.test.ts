/**
 * The per-shape serializer learns which slots change (src/encode/ecs.ts,
 * ShapeSerializer): after its first events, runs of unchanging slots are
 * remembered as one piece of text and volatile string slots are written
 * between constant quotes; a slot that starts changing, or a string slot that
 * gets another type, makes it regenerate. None of that may change a byte.
 * These tests drive long sequences of events of one shape (past the profile
 * and several reviews) and hold every payload to an oracle written
 * independently of ecs.ts: JSON.stringify of a plainly nested document, then
 * \uXXXX for every character a Unicode property class calls unsafe.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { ECS_VERSION } from '../../src/ecs/generated.js';
import { encodeEcs, nestEcsGeneric, stringifyEcs } from '../../src/encode/ecs.js';
import type { EcsFields, FieldValue, LogEvent } from '../../src/event/types.js';

function logEvent(fields: EcsFields): LogEvent {
  return { fields, severity: 6, source: { input: 'test', identity: 'x' }, classId: 'c', name: 'n' };
}

function escapeCodePoint(ch: string): string {
  let out = '';
  for (let i = 0; i < ch.length; i++) out += '\\u' + ch.charCodeAt(i).toString(16).padStart(4, '0');
  return out;
}

function define(obj: object, name: string, v: unknown): void {
  Object.defineProperty(obj, name, { value: v, enumerable: true, writable: true, configurable: true });
}

/** JSON.stringify of the canonically ordered nested document + the escaping post-pass, written the obvious way. */
function oracle(input: EcsFields): string {
  const f: EcsFields = {};
  for (const name in input) {
    const v = input[name];
    if (v !== undefined && v !== '') define(f, name, v);
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
      if (!Object.hasOwn(obj, s)) define(obj, s, {});
      obj = obj[s] as Record<string, unknown>;
    }
    define(obj, segs[segs.length - 1] as string, f[name]);
  }
  return JSON.stringify(root).replace(/[\x7f-\x9f\p{Cf}\p{Variation_Selector}\u2028\u2029]/gu, escapeCodePoint);
}

/** The emoji forms the neutralizer keeps raw: the oracle escapes their selectors, the encoder (rightly) does not. */
const EMOJI_FORM = /[\ufe0f\u20e3\u200d]/;

/**
 * The payload equals the module's reference (JSON.stringify of the generic nesting, then the
 * escaping post-pass) and, for events without an emoji form, the independent oracle.
 */
function check(fields: EcsFields, what: string): void {
  const out = encodeEcs(logEvent(fields));
  const reference = stringifyEcs(nestEcsGeneric(fields));
  if (out !== reference) assert.equal(out, reference, what);
  if (!EMOJI_FORM.test(reference) && out !== oracle(fields)) assert.equal(out, oracle(fields), what);
}

// Texts that need no escape, that need JSON's escapes, the post-pass's, or both; lone surrogates; emoji forms.
const TEXTS = [
  'plain', 'x', 'a longer plain value of forty-odd characters', '203.0.113.7', '2024-05-20T10:13:20.000Z',
  '"quoted"', 'back\\slash', 'tab\there', '\u0001', '\x7f', '\u0085', '\u2028', '\u202e', '\ufeff', '\ud800', 'x\udc00y',
  '😀', 'é', 'Grüße', '1\ufe0f\u20e3', '\u0001\ufe0f\u20e3', '<134>1 - - - - - [x@1 a="b"] forged',
] as const;
const NUMBERS = [0, -0, 1, 22, 65535, 1e21, -1e-7, 1.5, 5e-324, 2 ** 53 + 2] as const;

/** How one slot's value moves over a sequence of events. */
type Behaviour =
  | { kind: 'constant'; v: FieldValue }
  | { kind: 'every'; period: number; pool: FieldValue[] } // changes every `period` events
  | { kind: 'counter'; prefix: string } // a new string every event (event.id, event.hash)
  | { kind: 'number'; step: number } // a new number every event (log.offset)
  | { kind: 'fresh-array'; v: string[] } // an equal array, a new object each event (event.category)
  | { kind: 'new-array'; pool: string[] } // a new array with new elements every event (related.ip)
  | { kind: 'mutated'; at: number } // ONE array object, changed in place at event `at`
  | { kind: 'frozen'; v: string[] } // one frozen array (host.ip)
  | { kind: 'turns'; at: number; before: string; after: FieldValue }; // a string slot that gets another type

const text = fc.constantFrom(...TEXTS);
const scalar: fc.Arbitrary<FieldValue> = fc.oneof(text, fc.constantFrom(...NUMBERS), fc.boolean());
const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  fc.record({ kind: fc.constant('constant' as const), v: fc.oneof(scalar, fc.array(text, { minLength: 1, maxLength: 3 })) }),
  fc.record({ kind: fc.constant('every' as const), period: fc.integer({ min: 1, max: 600 }), pool: fc.array(scalar, { minLength: 2, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('counter' as const), prefix: text }),
  fc.record({ kind: fc.constant('number' as const), step: fc.constantFrom(1, 150, -7, 0.5) }),
  fc.record({ kind: fc.constant('fresh-array' as const), v: fc.array(text, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('new-array' as const), pool: fc.array(text, { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('mutated' as const), at: fc.integer({ min: 0, max: 1500 }) }),
  fc.record({ kind: fc.constant('frozen' as const), v: fc.array(text, { minLength: 1, maxLength: 2 }) }),
  fc.record({
    kind: fc.constant('turns' as const),
    at: fc.integer({ min: 1, max: 1500 }),
    before: text,
    after: fc.oneof(fc.constantFrom(...NUMBERS), fc.boolean(), fc.array(text, { maxLength: 2 })),
  }),
);

/** A value that is never "" (that would drop the field and change the shape). */
function nonEmpty(v: FieldValue): FieldValue {
  return v === '' ? 'e' : v;
}

/** The slot's value at event i; `state` keeps the one mutable array of a "mutated" slot. */
function valueAt(b: Behaviour, i: number, state: { arr?: string[] }): FieldValue {
  switch (b.kind) {
    case 'constant':
      return nonEmpty(b.v);
    case 'every':
      return nonEmpty(b.pool[Math.floor(i / b.period) % b.pool.length] as FieldValue);
    case 'counter':
      // A new string object each event, equal to the last one every third event.
      return `${b.prefix}-${Math.floor(i / 3) % 2 === 0 ? i : i - (i % 3)}`;
    case 'number':
      return i * b.step;
    case 'fresh-array':
      return [...b.v];
    case 'new-array':
      return [b.pool[i % b.pool.length] as string, String(i)];
    case 'mutated':
      state.arr ??= ['m0', 'm1'];
      if (i === b.at) state.arr[1] = '\u2028';
      if (i === b.at + 1) state.arr.push('pushed');
      return state.arr;
    case 'frozen':
      return Object.freeze([...b.v]) as unknown as string[];
    case 'turns':
      return i < b.at ? `${b.before}${i % 5}` : nonEmpty(b.after);
  }
}

// Segments that would break generated code or a key literal if they were ever embedded as code.
const SEGMENTS = ['a', 'b', 'user', 'name', 'ip', '__proto__', 'constructor', '0', '10', '"', '\\', '${x}', '\u2028', '😀', '\ud800', "']);globalThis.__logwardPwned=1;//"] as const;
const fieldName = fc.oneof(
  fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 3 }).map((s) => s.join('.')),
  fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 2 }).map((s) => 'labels.' + s.join('.')),
);

/** Names that nest without a value/parent clash (those throw, tested elsewhere). */
function consistent(names: readonly string[]): string[] {
  const out: string[] = [];
  const paths: string[][] = [];
  for (const n of names) {
    const p = n.startsWith('labels.') ? ['labels', n.slice(7)] : n.split('.');
    if (p.some((s) => s === '') || n === 'ecs' || n.startsWith('ecs.') || n === '@timestamp' || out.includes(n)) continue;
    const clash = paths.some((q) => (q.length < p.length ? q.every((s, k) => p[k] === s) : q.length > p.length && p.every((s, k) => q[k] === s)));
    if (clash) continue;
    out.push(n);
    paths.push(p);
  }
  return out;
}

test('property: over long sequences of one shape, every payload of the learning serializer is byte-identical to the oracle', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fieldName, behaviour), { minLength: 1, maxLength: 10 }),
      fc.integer({ min: 20, max: 2300 }),
      (slots, length) => {
        const names = consistent(slots.map(([n]) => n));
        const behaviours = names.map((n) => (slots.find(([m]) => m === n) as [string, Behaviour])[1]);
        const states = names.map(() => ({}));
        for (let i = 0; i < length; i++) {
          // A fresh fields object per event, as the builder makes; @timestamp changes every 7 events.
          const fields: EcsFields = { '@timestamp': new Date(Date.UTC(2024, 4, 20) + 1000 * Math.floor(i / 7)).toISOString() };
          names.forEach((n, k) => define(fields, n, valueAt(behaviours[k] as Behaviour, i, states[k] as { arr?: string[] })));
          check(fields, `event ${i} of ${length}`);
        }
        assert.equal((globalThis as { __logwardPwned?: unknown }).__logwardPwned, undefined);
      },
    ),
    { numRuns: 60 },
  );
});

test('a shape like the agent\'s: stable runs, volatile strings, a slot that starts changing late, one that turns into a number', () => {
  const related = ['203.0.113.7'];
  for (let i = 0; i < 5000; i++) {
    const fields: EcsFields = {
      '@timestamp': `2024-05-20T10:13:${String(Math.floor(i / 100) % 60).padStart(2, '0')}.000Z`,
      'ecs.version': '9.3.0',
      message: `Failed password for user${i % 7} from 203.0.113.${i % 250}`,
      'agent.id': 'web-01',
      'agent.name': 'web-01',
      'event.category': ['authentication'],
      'event.created': `2024-05-20T10:13:20.${String(Math.floor(i / 40) % 1000).padStart(3, '0')}Z`,
      'event.hash': `h${i}`,
      'event.original': i % 3 === 0 ? `"quoted" line ${i}` : `line ${i} é`,
      // Stable for the profile and the first review, then changing on every event: it must become volatile.
      'log.file.path': i < 1500 ? '/var/log/auth.log' : `/var/log/auth.log.${i}`,
      'log.offset': i * 150,
      // A string for 3000 events, then a number: the quoted slot sends that event to the generic path.
      'process.pid': i < 3000 ? `p${i}` : i,
      'related.ip': related,
      'host.ip': Object.freeze(['10.0.0.1']) as unknown as string[],
    };
    if (i === 2500) related.push('2001:db8::1');
    check(fields, `event ${i}`);
  }
});
