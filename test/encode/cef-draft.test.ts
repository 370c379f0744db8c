/**
 * The CEF path encodeEvent takes (src/encode/cef.ts CefDraft, validate.ts
 * CefDraftValidation): the mapping writes parallel arrays, plain values go to
 * the wire as they are, and key sets seen before are validated value by
 * value. Every line must be the one the object form gave (test/encode/
 * cef-reference.ts, the code before), and every verdict the whole schema's,
 * for values at and across every policy and bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { buildCef, cefDraft, encodeCef, serializeCef, type CefOptions } from '../../src/encode/cef.js';
import { checkCategorization } from '../../src/encode/ecs-allowed.js';
import { createValidators, encodeEvent, INVALID_CLASS_ID } from '../../src/encode/validate.js';
import type { EcsFields, FieldValue, LogEvent } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';
import { referenceBuildCef, referenceSerializeCef } from './cef-reference.js';

const HOSTILE_TEXT = [
  'admin', ' padded ', 'a=b\\c', 'tab\there', 'line\nbreak\r', 'ünïcödé', 'rtl\u202eoverride', 'zw\u200bsp', '😀 ok', '❤️',
  'x'.repeat(1100), 'y'.repeat(64), '', ' ', '\t', '=', '\\', 'end ', ' start', 'pipe|bar', '\ud800lone',
];

// Per ECS field that the mapping reads: values on both sides of what CEF can hold; undefined = absent.
const POOLS: Record<string, (FieldValue | undefined)[]> = {
  '@timestamp': ['2024-05-20T10:13:20.000Z', '2024-05-20T10:13:21.000Z', '0001-01-01T00:00:00.000Z', 'not a date', '+275760-09-13T00:00:00.000Z'],
  'source.ip': ['203.0.113.7', 'fe80::1', '999.1.1.1', 'x:y', '', undefined],
  'source.port': [22, 65535, 70000, -1, '22', undefined],
  'destination.ip': ['198.51.100.2', '::1', '1.2.3', '1::2::3', undefined],
  'destination.port': [443, 65536, undefined],
  'source.domain': HOSTILE_TEXT,
  'user.name': [...HOSTILE_TEXT, undefined],
  'user.id': ['1000', '', undefined],
  'source.user.name': ['alice', undefined],
  'user.effective.name': ['root', ' ', undefined],
  'event.category': [['authentication'], ['web'], ['process'], ['authentication', 'network'], undefined],
  'event.type': [['start'], ['info'], ['access'], undefined],
  'event.outcome': ['failure', 'success', undefined],
  'event.action': ['authn_login_fail', 'a'.repeat(70), 'act=ion', undefined],
  'event.reason': ['invalid user', undefined],
  'error.message': ['boom', undefined],
  'network.protocol': ['ssh', 'p'.repeat(40), undefined],
  'url.original': ['/p?x=1&y=2', '/plain', undefined],
  'http.response.status_code': [200, 404, 2 ** 64, undefined],
  'host.name': ['web-01', 'h'.repeat(120), undefined],
  'agent.id': ['web-01', 'a'.repeat(300), undefined],
  'process.name': ['sshd', undefined],
  'process.pid': [812, -5, '812', 2 ** 40, undefined],
  'log.file.path': ['/var/log/auth.log', 'C:\\logs\\x.log', undefined],
  'event.id': ['4982291a7048ab10f4d4-0', 'i'.repeat(50), undefined],
  message: HOSTILE_TEXT,
  tags: [[], ['a', 'b'], [' '], ['x=y'], undefined],
  'event.original': HOSTILE_TEXT,
  'event.dataset': ['auth.log', undefined],
};
const NAMES = Object.keys(POOLS);
const CLASS_IDS = ['auth:ssh_login_failure', 'web|access', 'cls\\x', 'c'.repeat(1030), 'nl\nhere'];
const EVENT_NAMES = ['SSH login failed', 'n'.repeat(600), 'a|b', 'tab\tname'];
const OPTIONS: CefOptions[] = [
  { vendor: 'logward', product: 'logward', version: '0.1.0' },
  { vendor: 'Ac|me', product: 'Log\\Agent', version: 'v'.repeat(40) },
];

function eventOf(present: number, picks: number[], extra: number): LogEvent {
  const fields: EcsFields = {};
  NAMES.forEach((n, i) => {
    if (n !== '@timestamp' && n !== 'message' && (present & (2 ** (i % 30))) === 0) return;
    const pool = POOLS[n] as (FieldValue | undefined)[];
    const v = pool[(picks[i] as number) % pool.length];
    if (v !== undefined) fields[n] = v;
  });
  return {
    fields,
    source: { input: 'test', identity: 'x' },
    severity: [5, 3, 0, 7, 9][extra % 5] as number,
    classId: CLASS_IDS[(extra >> 3) % CLASS_IDS.length] as string,
    name: EVENT_NAMES[(extra >> 6) % EVENT_NAMES.length] as string,
  };
}

test('property: the CEF line and verdict of encodeEvent are the object form\'s, event after event of one key set', () => {
  const validators = createValidators();
  const counters = new Counters();
  const now = (): Date => new Date('2024-05-20T10:13:25.000Z');
  fc.assert(
    fc.property(
      fc.nat({ max: 2 ** 30 - 1 }),
      fc.array(fc.tuple(fc.array(fc.nat(), { minLength: NAMES.length, maxLength: NAMES.length }), fc.nat()), { minLength: 2, maxLength: 10 }),
      fc.nat({ max: 9 }),
      (present, rounds, o) => {
        const cef = OPTIONS[o < 8 ? 0 : 1] as CefOptions;
        for (const [picks, extra] of rounds) {
          const ev = eventOf(present, picks, extra);
          const obj = referenceBuildCef(ev, cef);
          // The key set is named by a sum of bits: a key written twice would name another set.
          const draft = cefDraft(ev, cef);
          assert.equal(new Set(draft.keys.map((k) => k.name)).size, draft.keys.length);
          assert.equal(draft.keySet, draft.keys.reduce((sum, k) => sum + k.bit, 0));
          // The object form is the same object, keys in the same order.
          assert.deepEqual(Object.entries(buildCef(ev, cef).extension), Object.entries(obj.extension));
          const expectedValid =
            validators.validateCef(obj).ok && checkCategorization(ev.fields) === null && obj.extension['rt'] !== undefined;
          const got = encodeEvent(ev, 'cef', { counters, cef, validators, now });
          assert.equal(got.valid, expectedValid, JSON.stringify(ev));
          if (expectedValid) assert.equal(got.payload, referenceSerializeCef(obj));
          else assert.ok(got.payload.includes(`|${INVALID_CLASS_ID}|`));
          // Without validation, the line of any event (valid or not) is the object form's, or the same error.
          let want: string | Error;
          try {
            want = referenceSerializeCef(obj);
          } catch (e) {
            want = e as Error;
          }
          if (typeof want === 'string') assert.equal(encodeCef(ev, cef), want);
          else assert.throws(() => encodeCef(ev, cef), { message: want.message });
        }
      },
    ),
    { numRuns: 400 },
  );
});

test('a key set accepted once still rejects a later event of that set whose value its key cannot hold', () => {
  const validators = createValidators();
  const counters = new Counters();
  const cef = OPTIONS[0] as CefOptions;
  const base: EcsFields = {
    '@timestamp': '2024-05-20T10:13:20.000Z', message: 'm', 'event.category': ['authentication'], 'event.type': ['start'],
    'source.ip': '203.0.113.7', 'source.port': 22,
  };
  const ev = (fields: EcsFields): LogEvent => ({ fields, source: { input: 't', identity: 'x' }, severity: 5, classId: 'c', name: 'n' });
  assert.equal(encodeEvent(ev(base), 'cef', { counters, cef, validators }).valid, true);
  // Same keys (src, spt), values the schema refuses: an IPv4 that is not one, a port past 65535.
  assert.equal(encodeEvent(ev({ ...base, 'source.ip': '999.1.1.1' }), 'cef', { counters, cef, validators }).valid, false);
  assert.equal(encodeEvent(ev({ ...base, 'source.port': 70000 }), 'cef', { counters, cef, validators }).valid, false);
  assert.equal(encodeEvent(ev(base), 'cef', { counters, cef, validators }).valid, true);
  // Every typed key the mapping writes, by value: an IPv6 key (c6a3) and a long (cn1) past what they hold.
  const v6 = { ...base, 'destination.ip': '::1', 'http.response.status_code': 200 };
  assert.equal(encodeEvent(ev(v6), 'cef', { counters, cef, validators }).valid, true);
  assert.equal(encodeEvent(ev({ ...v6, 'destination.ip': '1::2::3' }), 'cef', { counters, cef, validators }).valid, false);
  assert.equal(encodeEvent(ev({ ...v6, 'http.response.status_code': 2 ** 64 }), 'cef', { counters, cef, validators }).valid, false);
  // A severity the header cannot hold (syslog 9 maps to -1).
  assert.equal(encodeEvent({ ...ev(base), severity: 9 }, 'cef', { counters, cef, validators }).valid, false);
});

test('the draft names its key set: one number per set of mapped keys, -1 for a hand-built event', () => {
  const cef = OPTIONS[0] as CefOptions;
  const ev = (fields: EcsFields): LogEvent => ({ fields, source: { input: 't', identity: 'x' }, severity: 5, classId: 'c', name: 'n' });
  const a = cefDraft(ev({ '@timestamp': '2024-05-20T10:13:20.000Z', 'source.ip': '203.0.113.7' }), cef);
  const b = cefDraft(ev({ '@timestamp': '2024-05-20T10:13:21.000Z', 'source.ip': '198.51.100.1' }), cef);
  const c = cefDraft(ev({ '@timestamp': '2024-05-20T10:13:20.000Z', 'source.ip': 'fe80::1' }), cef);
  assert.equal(a.keySet, b.keySet);
  assert.notEqual(a.keySet, c.keySet);
  assert.ok(a.keySet > 0 && c.keySet > 0);
  // An object form written by hand goes through the whole schema every time.
  assert.equal(serializeCef({ ...buildCef(ev({ message: 'x' }), cef) }), 'CEF:0|logward|logward|0.1.0|c|n|4|msg=x');
});
