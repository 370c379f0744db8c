/**
 * Variation selectors are invisible: "ro\uFE0Eot" reads as "root". The
 * encoders' last line of defence writes them as tokens / \u escapes, except in
 * the emoji forms the neutralizer keeps too ("❤️", "1️⃣", "👨‍👩‍👧").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeCef, encodeCef, headerText } from '../../src/encode/cef.js';
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

test('emoji the neutralizer keeps (presentation selector, keycap, ZWJ sequence) leave the encoders raw, in CEF and ECS', () => {
  const emoji = 'I \u2764\uFE0F it \u{1F468}\u200D\u{1F469}\u200D\u{1F467} \u{1F3F3}\uFE0F\u200D\u{1F308} 1\uFE0F\u20E3 \u{1F469}\u{1F3FD}\u200D\u{1F4BB}';
  assert.equal(replaceUnsafe(emoji), emoji);
  const ev: LogEvent = {
    fields: { '@timestamp': '2024-05-20T10:13:20.123Z', 'user.name': 'bob \u263A\uFE0F', message: emoji, 'event.category': ['authentication'] },
    source: { input: 'chat', identity: 'x' },
    severity: 6,
    classId: 'app:chat',
    name: 'Chat message',
  };
  const cef = decodeCef(encodeCef(ev, { vendor: 'v', product: 'p', version: '1' }));
  assert.equal(cef.extension['msg'], emoji);
  assert.equal(cef.extension['duser'], 'bob \u263A\uFE0F');
  const ecs = encodeEcs(ev);
  assert.ok(ecs.includes(JSON.stringify(emoji)), ecs);
  assert.equal((JSON.parse(ecs) as { message: string }).message, emoji);
});

test('a selector or ZWJ that no emoji licenses is still replaced by the encoders, even next to a kept one', () => {
  const cases: [string, string][] = [
    ['\u2764\uFE0F ro\uFE0Eot', '\u2764\uFE0F ro{U+FE0E}ot'],
    ['\u2764\uFE0F\uFE0F', '\u2764\uFE0F{U+FE0F}'],
    ['2\uFE0F', '2{U+FE0F}'],
    ['ro\u200Dot \u{1F469}\u200D', 'ro{U+200D}ot \u{1F469}{U+200D}'],
    ['\u2764\uFE00', '\u2764{U+FE00}'],
    ['\u{1F3F4}\u{E0067}\u{E007F}', '\u{1F3F4}{U+E0067}{U+E007F}'],
  ];
  for (const [input, want] of cases) assert.equal(replaceUnsafe(input), want, JSON.stringify(input));
  const ev: LogEvent = {
    fields: { '@timestamp': '2024-05-20T10:13:20.123Z', message: '\u2764\uFE0F ro\u200Dot' },
    source: { input: 'chat', identity: 'x' },
    severity: 6,
    classId: 'app:chat',
    name: 'Chat message',
  };
  assert.equal(decodeCef(encodeCef(ev, { vendor: 'v', product: 'p', version: '1' })).extension['msg'], '\u2764\uFE0F ro{U+200D}ot');
  assert.ok(encodeEcs(ev).includes('"\u2764\uFE0F ro\\u200dot"'), encodeEcs(ev));
});

test('a CEF value cut at its length limit inside an emoji sequence never ends in a raw ZWJ or an orphaned selector', () => {
  const chat = (message: string): LogEvent => ({
    fields: { '@timestamp': '2024-05-20T10:13:20.123Z', message },
    source: { input: 'chat', identity: 'x' },
    severity: 6,
    classId: 'app:chat',
    name: 'Chat message',
  });
  const msgOf = (message: string): string => decodeCef(encodeCef(chat(message), { vendor: 'v', product: 'p', version: '1' })).extension['msg'] ?? '';
  // msg holds 1023 code points: each line below is cut right after its joiner or selector.
  const pad = 'a'.repeat(1021);
  assert.equal(msgOf(`${pad}\u{1F468}\u200D\u{1F469}`), `${pad}\u{1F468}`, 'a family cut after its ZWJ');
  assert.equal(msgOf(`${pad}x1\uFE0F\u20E3`), `${pad}x1`, 'a keycap cut before U+20E3');
  assert.equal(msgOf(`${pad.slice(1)}\u{1F3F3}\uFE0F\u200D\u{1F308}`), `${pad.slice(1)}\u{1F3F3}\uFE0F`, 'a flag cut after its ZWJ keeps its own selector');
  assert.equal(msgOf(`${pad}x\u2764\uFE0F`), `${pad}x\u2764`, 'cut before the selector: nothing to orphan');
  // The header's own cut (a keycap parted from its U+20E3 loses its selector too).
  assert.equal(headerText('ab1\uFE0F\u20E3', 4), 'ab1');
  assert.equal(headerText('a\u{1F468}\u200D\u{1F469}', 3), 'a\u{1F468}');
});

test('CEF judges a keycap on the text before escaping: a selector after a control is a token, a real keycap stays', () => {
  // The ECS encoder once kept U+FE0F raw after its own "\u0001" escape (test/encode/ecs-escape-emoji.test.ts);
  // CEF has no escape that ends in a digit, and its guard runs on the unescaped text.
  const ev = (message: string, path: string): LogEvent => ({
    fields: { '@timestamp': '2024-05-20T10:13:20.123Z', message, 'log.file.path': path },
    source: { input: 'files', identity: 'x' },
    severity: 6,
    classId: 'app:line',
    name: 'Line',
  });
  const cef = decodeCef(encodeCef(ev('a\u0001\uFE0F\u20E3 b\\1\uFE0F\u20E3', '/var/log/x\u0001\uFE0F\u20E3'), { vendor: 'v', product: 'p', version: '1' }));
  assert.equal(cef.extension['msg'], 'a{U+0001}{U+FE0F}\u20E3 b\\1\uFE0F\u20E3');
  assert.equal(cef.extension['filePath'], '/var/log/x{U+0001}{U+FE0F}\u20E3');
  assert.equal(replaceUnsafe('\u0001\uFE0F\u20E3'), '{U+0001}{U+FE0F}\u20E3');
});
