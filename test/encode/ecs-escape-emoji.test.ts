/**
 * The emoji-form exception (a keycap "1️⃣" keeps its U+FE0F raw) is judged on
 * the text as written, never on the JSON the encoder made of it: the escape
 * of a control character, "\u0001", ends in a digit, and a U+FE0F U+20E3 after
 * it must not read as a keycap. Found on log.file.path, which is a raw file
 * name; the encoder is the last line of defence for every field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { encodeEcs, nestEcsGeneric, stringifyEcs } from '../../src/encode/ecs.js';
import type { EcsFields, LogEvent } from '../../src/event/types.js';
import { emojiFormAt } from '../../src/sanitize/neutralize.js';

/** Anything a JSON line must never carry raw (U+20E3 is a visible combining mark, allowed). */
const RAW_INVISIBLE = /[\p{Cc}\p{Cf}\p{Variation_Selector}\u2028\u2029]|\p{Cs}/u;

function logEvent(fields: EcsFields): LogEvent {
  return { fields, severity: 6, source: { input: 'files', identity: 'fp:1' }, classId: 'c', name: 'n' };
}

/** Every path: first sighting (generic), second (compiled), third (remembered value), and the whole-document stringifier. */
function allEncodings(fields: EcsFields): string[] {
  return [encodeEcs(logEvent(fields)), encodeEcs(logEvent(fields)), encodeEcs(logEvent(fields)), stringifyEcs(nestEcsGeneric(fields))];
}

/** The reference, judged on the source string: each unsafe code point the source does not keep becomes \uXXXX. */
function escapeJudgedOnSource(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const cp = s.codePointAt(i) as number;
    const ch = String.fromCodePoint(cp);
    const unsafe = /[\p{Cc}\p{Cf}\p{Variation_Selector}\u2028\u2029]|\p{Cs}/u.test(ch) && !/[\t\n\r]/.test(ch);
    const kept = (cp === 0xfe0f || cp === 0xfe0e || cp === 0x200d) && emojiFormAt(s, i);
    if (cp === 0x22) out += '\\"';
    else if (cp === 0x5c) out += '\\\\';
    else if (cp < 0x20 || (unsafe && !kept)) out += JSON.stringify(ch).slice(1, -1).replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
    else out += ch;
    if (cp > 0xffff) i++;
  }
  return `"${out}"`;
}

const PATH = '/var/log/app\u0001\uFE0F\u20E3.log';

test('a file name with \\u0001 then U+FE0F U+20E3: the selector is escaped, not kept as a keycap after the escape', () => {
  for (const out of allEncodings({ '@timestamp': '2024-05-20T10:13:20.123Z', 'log.file.path': PATH, message: 'm' })) {
    assert.ok(!RAW_INVISIBLE.test(out), out);
    assert.ok(out.includes('"path":"/var/log/app\\u0001\\ufe0f\u20E3.log"'), out);
    assert.equal((JSON.parse(out) as { log: { file: { path: string } } }).log.file.path, PATH);
  }
});

test('a value with a control character before a keycap sequence, any escape that ends in a digit', () => {
  // C0 escapes ending in a digit (\u0000-\u0007, \u0010-\u0019) and lone surrogates (\ud800) alike.
  const before = ['\u0000', '\u0001', '\u0007', '\u0010', '\u0019', '\ud800', '\udc39'];
  for (const c of before) {
    const value = `x${c}\uFE0F\u20E3y`;
    for (const out of allEncodings({ '@timestamp': '2024-05-20T10:13:20.123Z', message: value, 'labels.k': [value, 'b'] })) {
      assert.ok(!RAW_INVISIBLE.test(out.replace(/\\u[0-9a-f]{4}/g, '')), `${JSON.stringify(c)}: ${out}`);
      assert.ok(!out.includes('\uFE0F'), `${JSON.stringify(c)}: ${out}`);
      assert.equal((JSON.parse(out) as { message: string }).message, value);
    }
  }
  // A key (labels.<rest> is one key, written by the same escaping) gets the same judgement.
  for (const out of allEncodings({ '@timestamp': '2024-05-20T10:13:20.123Z', 'labels.a\u0002\uFE0F\u20E3': 'v' })) {
    assert.ok(!out.includes('\uFE0F'), out);
  }
});

test('genuine keycaps stay raw, also right after an escape or after a typed backslash-u sequence', () => {
  const cases = [
    '1\uFE0F\u20E3',
    '\u00011\uFE0F\u20E3', // an escaped control, then a real keycap
    '\\u0031\uFE0F\u20E3', // the text "\u0031" typed out: its "1" is a real digit
    '"1\uFE0F\u20E3',
    '\\\\u00011\uFE0F\u20E3',
  ];
  for (const value of cases) {
    for (const out of allEncodings({ '@timestamp': '2024-05-20T10:13:20.123Z', message: value })) {
      assert.ok(out.includes('1\uFE0F\u20E3'), `${JSON.stringify(value)}: ${out}`);
      assert.equal((JSON.parse(out) as { message: string }).message, value);
    }
  }
});

test('property: every string value is escaped exactly as judged on the source', () => {
  const piece = fc.constantFrom('1', '#', '*', 'a', '"', '\\', 'u', '0', '\u0001', '\u0009', '\u0010', '\u0008', '\ud800', '\udfff', '\uFE0F', '\uFE0E', '\u20E3', '\u200D', '\u2764', '\u{1F469}', '\u{1F4BB}', '\u{1F3FD}', '\x7f', '\u0085', '\u2028');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 10 }).map((a) => a.join('')), (value) => {
      fc.pre(value !== '');
      const want = escapeJudgedOnSource(value);
      for (const out of allEncodings({ '@timestamp': '2024-05-20T10:13:20.123Z', message: value })) {
        assert.ok(out.includes(`"message":${want}`), `${JSON.stringify(value)}: ${out} vs ${want}`);
      }
    }),
    { numRuns: 2000 },
  );
});
