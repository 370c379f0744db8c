/**
 * Variation selectors are invisible: "ro\uFE0Eot" reads as "root". The
 * encoders' last line of defence writes them as tokens / \u escapes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeCef, encodeCef } from '../../src/encode/cef.js';
import { encodeEcs } from '../../src/encode/ecs.js';
import { isUnsafeCodePoint, MAYBE_UNSAFE, replaceUnsafe } from '../../src/encode/unsafe-chars.js';
import type { LogEvent } from '../../src/event/types.js';

const VARIATION_SELECTOR = /^\p{Variation_Selector}$/u;

test('every variation selector (U+180B-180D, U+180F, U+FE00-FE0F, U+E0100-E01EF) is unsafe, and the pre-check sees it', () => {
  const all: number[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) if (VARIATION_SELECTOR.test(String.fromCodePoint(cp))) all.push(cp);
  assert.equal(all.length, 3 + 1 + 16 + 240, 'Unicode has 260 variation selectors');
  for (const cp of all) {
    const s = String.fromCodePoint(cp);
    assert.equal(isUnsafeCodePoint(cp), true, cp.toString(16));
    assert.ok(MAYBE_UNSAFE.test(s), cp.toString(16));
    assert.equal(replaceUnsafe(`a${s}b`), `a{U+${cp.toString(16).toUpperCase()}}b`);
  }
  // Their neighbours are not.
  for (const cp of [0x180a, 0x1810, 0xfdff, 0xfe10, 0xe00ff, 0xe01f0]) assert.equal(isUnsafeCodePoint(cp), false, cp.toString(16));
});

test('a user name with a variation selector is shown with its token in CEF and escaped in ECS, never as "root"', () => {
  const ev: LogEvent = {
    fields: { '@timestamp': '2024-05-20T10:13:20.123Z', 'user.name': 'ro\uFE0Eot', 'source.ip': '203.0.113.7', 'event.category': ['authentication'], message: 'm \u{E0100}' },
    source: { input: 'auth', identity: 'x' },
    severity: 4,
    classId: 'auth:authn_login_fail',
    name: 'Login failed',
  };
  const cef = decodeCef(encodeCef(ev, { vendor: 'v', product: 'p', version: '1' }));
  assert.equal(cef.extension['duser'], 'ro{U+FE0E}ot');
  assert.equal(cef.extension['msg'], 'm {U+E0100}');
  const ecs = encodeEcs(ev);
  assert.ok(ecs.includes('"ro\\ufe0eot"'), ecs);
  assert.ok(!/\p{Variation_Selector}/u.test(ecs), ecs);
});
