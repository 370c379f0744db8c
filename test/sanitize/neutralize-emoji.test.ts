/**
 * Emoji are no log injection. The neutralizer keeps exactly the emoji forms of
 * UTS #51 that need an otherwise forbidden character — a presentation selector
 * after a (non-ASCII) emoji, a keycap, a ZWJ between two emoji — and nothing
 * else: "ro\uFE0Eot" and "ro\u200Dot" render as "root" and are other strings.
 * The encoders' last line of defence (src/encode/unsafe-chars.ts) keeps the
 * same forms, so an emoji the neutralizer left alone reaches the SIEM as it was
 * written, in ECS and in CEF, with no log_injection_neutralized tag.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import { decodeCef } from '../../src/encode/cef.js';
import { replaceUnsafe } from '../../src/encode/unsafe-chars.js';
import { Counters } from '../../src/monitor/counters.js';
import { RecordProcessor, type OutputFormat } from '../../src/processor.js';
import { REDACT_KINDS } from '../../src/sanitize/redact.js';
import { neutralizeBytes, neutralizeMultiline, neutralizeText } from '../../src/sanitize/neutralize.js';

// ---- the allowed forms, written from UTS #51 with property escapes (independent of the implementation) ----

/**
 * Every raw U+FE0E, U+FE0F or U+200D in s that is NOT in an allowed form. The look-behinds
 * see the whole string, so all three alternatives judge each character in its own context.
 */
const ALLOWED = new RegExp(
  [
    // presentation selector right after a non-ASCII emoji character
    '(?<=(?![\\x00-\\x7f])\\p{Emoji})[\\uFE0E\\uFE0F]',
    // keycap
    '(?<=[0-9#*])\\uFE0F(?=\\u20E3)',
    // ZWJ between two emoji elements: EP [modifier] [FE0F] ZWJ EP
    '(?<=\\p{Extended_Pictographic}\\p{Emoji_Modifier}?\\uFE0F?)\\u200D(?=\\p{Extended_Pictographic})',
  ].join('|'),
  'gu',
);
function strayJoiners(s: string): string[] {
  const left = s.replace(ALLOWED, '');
  return [...left.matchAll(/[\uFE0E\uFE0F\u200D]/g)].map((m) => `U+${m[0].charCodeAt(0).toString(16).toUpperCase()} at ${m.index}`);
}

/** No other forbidden character survives either (the rest of the contract lives in neutralize.test.ts). */
const OTHER_FORBIDDEN = /[\x00-\x1f\x7f-\x9f\u180b-\u180f\u200b\u200c\u200e\u200f\u2028-\u202e\u2060-\u206f\ufe00-\ufe0d\ufeff]|[\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/u;

const TOKEN = /\{U\+([0-9A-F]{4,6})\}|\{0x([0-9A-F]{2})\}/g;
function inverseText(text: string): string {
  return text.replace(TOKEN, (_m, u: string | undefined) => {
    assert.ok(u !== undefined);
    const cp = parseInt(u, 16);
    return cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
  });
}

// ---- what passes unchanged ----------------------------------------------------

/** Emoji as people and applications write them: each one byte-for-byte unchanged, never tagged. */
export const EMOJI_LINES = [
  'Nov 22 10:00:03 web-01 chat[77]: bob: I \u2764\uFE0F it', // ❤️
  'family \u{1F468}\u200D\u{1F469}\u200D\u{1F467} joined', // 👨‍👩‍👧
  'pride \u{1F3F3}\uFE0F\u200D\u{1F308} flag', // 🏳️‍🌈: EP FE0F ZWJ EP
  'keycaps 1\uFE0F\u20E3 #\uFE0F\u20E3 *\uFE0F\u20E3 0\uFE0F\u20E3', // 1️⃣ #️⃣ *️⃣ 0️⃣
  'dev \u{1F469}\u{1F3FD}\u200D\u{1F4BB} on call', // 👩🏽‍💻: EP modifier ZWJ EP
  'runner \u{1F3C3}\u{1F3FD}\u200D\u2640\uFE0F done', // 🏃🏽‍♀️
  'detective \u{1F575}\uFE0F\u200D\u2642\uFE0F', // 🕵️‍♂️
  'text style \u263A\uFE0E and emoji style \u263A\uFE0F', // ☺︎ ☺️
  'thumbs \u{1F44D}\u{1F3FB} ok \u2705 \u00A9\uFE0F \u2122\uFE0F', // 👍🏻 ✅ ©️ ™️
  '{"msg":"deploy \u2705 done","by":"\u{1F469}\u{1F3FD}\u200D\u{1F4BB} alice","mood":"\u263A\uFE0F"}',
  '\u2764\uFE0F at the start and at the end \u{1F3F3}\uFE0F\u200D\u{1F308}',
];

test('emoji with presentation selectors, keycaps and ZWJ sequences pass unchanged (bytes, multiline, text)', () => {
  for (const s of EMOJI_LINES) {
    assert.deepEqual(neutralizeBytes(Buffer.from(s, 'utf8')), { text: s, changed: false }, s);
    assert.deepEqual(neutralizeMultiline(Buffer.from(s, 'utf8')), { text: s, changed: false }, s);
    assert.deepEqual(neutralizeText(s), { text: s, changed: false }, s);
    assert.equal(replaceUnsafe(s), s, s);
  }
});

// ---- what is still tokenized -------------------------------------------------------

test('selectors and ZWJ outside the emoji forms are still tokens, and the line is changed', () => {
  const cases: [string, string][] = [
    ['ro\uFE0Eot', 'ro{U+FE0E}ot'],
    ['ro\uFE0Fot', 'ro{U+FE0F}ot'],
    ['ro\u200Dot', 'ro{U+200D}ot'],
    // a digit with a selector but no keycap mark, or the wrong selector in a keycap
    ['pin 1\uFE0F234', 'pin 1{U+FE0F}234'],
    ['1\uFE0F', '1{U+FE0F}'],
    ['1\uFE0E\u20E3', '1{U+FE0E}\u20E3'],
    // two selectors in a row: the second follows a selector, not an emoji
    ['\u2764\uFE0F\uFE0F', '\u2764\uFE0F{U+FE0F}'],
    ['\u2764\uFE0E\uFE0F', '\u2764\uFE0E{U+FE0F}'],
    // the other selectors after an emoji
    ['\u2764\uFE00 \u2764\uFE0D', '\u2764{U+FE00} \u2764{U+FE0D}'],
    ['\u2764\u180B', '\u2764{U+180B}'],
    ['\u2764\u{E0100}', '\u2764{U+E0100}'],
    // ZWJ at the start, at the end, doubled, between letters, between an emoji and a letter
    ['\u200D\u{1F469}', '{U+200D}\u{1F469}'],
    ['\u{1F469}\u200D', '\u{1F469}{U+200D}'],
    ['\u{1F469}\u200D\u200D\u{1F4BB}', '\u{1F469}{U+200D}{U+200D}\u{1F4BB}'],
    ['a\u200Db', 'a{U+200D}b'],
    ['\u{1F469}\u200Da', '\u{1F469}{U+200D}a'],
    ['a\u200D\u{1F469}', 'a{U+200D}\u{1F469}'],
    // a ZWJ element takes U+FE0F only, and the modifier before it
    ['\u{1F469}\uFE0E\u200D\u{1F4BB}', '\u{1F469}\uFE0E{U+200D}\u{1F4BB}'],
    // a skin-tone modifier alone is no element
    ['\u{1F3FD}\u200D\u{1F4BB}', '\u{1F3FD}{U+200D}\u{1F4BB}'],
    // an emoji earlier on the line does not license a selector after a letter
    ['\u2764\uFE0F then ro\uFE0Eot', '\u2764\uFE0F then ro{U+FE0E}ot'],
    // lone surrogates are no emoji
    ['\uDC69\uFE0F', '{U+DC69}{U+FE0F}'],
    ['\u{1F469}\u200D\uD83D', '\u{1F469}{U+200D}{U+D83D}'],
    // tag sequences (subdivision flags) stay tokenized: the tag block is the ASCII-smuggling channel
    ['\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}', '\u{1F3F4}{U+E0067}{U+E0062}{U+E0065}{U+E006E}{U+E0067}{U+E007F}'],
  ];
  for (const [input, want] of cases) {
    const t = neutralizeText(input);
    assert.deepEqual(t, { text: want, changed: true }, JSON.stringify(input));
    assert.equal(replaceUnsafe(input), want, JSON.stringify(input));
    if (!/[\uD800-\uDFFF]/.test(input.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) {
      assert.deepEqual(neutralizeBytes(Buffer.from(input, 'utf8')), { text: want, changed: true }, JSON.stringify(input));
    }
    assert.deepEqual(strayJoiners(t.text), [], JSON.stringify(t.text));
  }
});

test('an invalid byte between an emoji and its selector leaves the selector a token', () => {
  const heart = Buffer.from('\u2764', 'utf8');
  const r = neutralizeBytes(Buffer.concat([heart, Buffer.from([0x80]), Buffer.from('\uFE0F', 'utf8')]));
  assert.deepEqual(r, { text: '\u2764{0x80}{U+FE0F}', changed: true });
  const z = neutralizeBytes(Buffer.concat([Buffer.from('\u{1F469}\u200D', 'utf8'), Buffer.from([0xff]), Buffer.from('\u{1F4BB}', 'utf8')]));
  assert.deepEqual(z, { text: '\u{1F469}{U+200D}{0xFF}\u{1F4BB}', changed: true });
});

// ---- properties ------------------------------------------------------------------

const PIECES = [
  'a', 'o', 'r', 'Z', ' ', '1', '0', '#', '*', '{', 'é',
  '\u2764', '\u263A', '\u2640', '\u00A9', '\u{1F469}', '\u{1F468}', '\u{1F3F3}', '\u{1F308}', '\u{1F4BB}', '\u{1F575}', '\u{1F3F4}',
  '\u{1F3FB}', '\u{1F3FD}', // skin-tone modifiers
  '\uFE0E', '\uFE0F', '\uFE0F', '\u200D', '\u200D', '\u20E3', '\uFE00', '\u180B', '\u{E0100}', '\u{E0067}', '\u200B',
  '\uD83D', '\uDC69', // lone halves
  '\u2764\uFE0F', '1\uFE0F\u20E3', '\u{1F469}\u200D\u{1F4BB}', '\u{1F3F3}\uFE0F\u200D\u{1F308}',
];
const mixed = fc.array(fc.constantFrom(...PIECES), { maxLength: 30 }).map((a) => a.join(''));

test('property: no selector or ZWJ outside an allowed form survives, and the inverse restores the input', () => {
  fc.assert(
    fc.property(mixed, (s) => {
      const r = neutralizeText(s);
      assert.deepEqual(strayJoiners(r.text), [], `${JSON.stringify(s)} -> ${JSON.stringify(r.text)}`);
      assert.ok(!OTHER_FORBIDDEN.test(r.text), JSON.stringify(r.text));
      assert.equal(inverseText(r.text), s);
      assert.equal(r.changed, r.text !== s);
      // Neutralizing the output again keeps every kept form (only our tokens' braces are escaped).
      const twice = neutralizeText(r.text).text;
      const raw = (t: string): number => (t.match(/[\uFE0E\uFE0F\u200D]/g) ?? []).length;
      assert.equal(raw(twice), raw(r.text), JSON.stringify(twice));
      assert.equal(inverseText(twice), r.text);
      // Bytes take the same decisions as text (where the string is valid UTF-16).
      if (Buffer.from(s, 'utf8').toString('utf8') === s) assert.deepEqual(neutralizeBytes(Buffer.from(s, 'utf8')), r);
    }),
    { numRuns: 5_000 },
  );
});

test('property: the encoders keep exactly what the neutralizer keeps', () => {
  fc.assert(
    fc.property(mixed, (s) => {
      const n = neutralizeText(s).text;
      // Nothing the neutralizer let through is replaced by the encoders' last line of defence ...
      assert.equal(replaceUnsafe(n), n, JSON.stringify(n));
      // ... and on raw input (these pieces are unsafe to both or to neither, "{" aside) both decide alike.
      if (!s.includes('{')) assert.equal(replaceUnsafe(s), n, JSON.stringify(s));
    }),
    { numRuns: 5_000 },
  );
});

// ---- the whole record path -------------------------------------------------------

function processor(format: OutputFormat): RecordProcessor {
  return new RecordProcessor({
    agentId: 'web-01',
    parser: 'auto',
    format,
    cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: [...REDACT_KINDS], custom: [] },
    maxLineBytes: 64 * 1024,
    counters: new Counters(),
    timeZone: 'UTC',
    host: { name: 'web-01', ips: [] },
    now: () => new Date('2026-11-22T12:00:00Z'),
  });
}
const src = { input: 'emoji', identity: 'fp:1', path: '/var/log/chat.log', offset: 0, end: 10 };

test('emoji lines ship unchanged and untagged, in ECS and in CEF', () => {
  const ecs = processor('ecs');
  const cef = processor('cef');
  for (const line of EMOJI_LINES) {
    const e = ecs.process({ bytes: Buffer.from(line, 'utf8'), source: src });
    const tags = (e.event.fields['tags'] as string[] | undefined) ?? [];
    assert.ok(!tags.includes('log_injection_neutralized'), `${line}: ${tags.join(',')}`);
    assert.ok(!tags.includes('secrets_redacted'), line);
    assert.equal(e.event.fields['event.original'], line);
    const doc = JSON.parse(e.payload) as { event: { original: string } };
    assert.equal(doc.event.original, line, 'ECS carries the emoji as written');
    assert.ok(!e.payload.includes('\\ufe0f') && !e.payload.includes('\\u200d'), e.payload);

    const c = cef.process({ bytes: Buffer.from(line, 'utf8'), source: src });
    assert.ok(!((c.event.fields['tags'] as string[] | undefined) ?? []).includes('log_injection_neutralized'), line);
    assert.ok(!/\{U\+(?:FE0[EF]|200D)\}/.test(c.payload), c.payload);
    // event.original rides in cs2; decodeCef undoes only CEF's own escaping.
    assert.equal(decodeCef(c.payload).extension['cs2'], line, c.payload);
  }
});

test('a lookalike user name is still tagged and tokenized on the whole path', () => {
  const e = processor('ecs').process({ bytes: Buffer.from('Nov 22 10:00:01 web-01 sshd[1]: Accepted password for ro\uFE0Eot from 203.0.113.9 port 22 ssh2 \u2764\uFE0F'), source: src });
  assert.ok((e.event.fields['tags'] as string[]).includes('log_injection_neutralized'));
  assert.equal(e.event.fields['event.original'], 'Nov 22 10:00:01 web-01 sshd[1]: Accepted password for ro{U+FE0E}ot from 203.0.113.9 port 22 ssh2 \u2764\uFE0F');
});
