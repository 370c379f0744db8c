import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import {
  codePointToken,
  neutralizeBytes,
  neutralizeMultiline,
  neutralizeText,
} from '../../src/sanitize/neutralize.js';

// ---- the contract, written independently of the implementation ----------

/** Code points that must never survive (DESIGN "Safe text" + the module's documented choices). */
function isForbidden(cp: number, allowLf = false): boolean {
  if (cp === 0x0a) return !allowLf;
  if (cp <= 0x1f) return true; // C0, TAB and CR included
  if (cp >= 0x7f && cp <= 0x9f) return true; // DEL, C1 (NEL, 8-bit CSI)
  if (cp >= 0xd800 && cp <= 0xdfff) return true; // lone surrogates
  const single = [
    0x00ad, 0x034f, 0x061c, 0x115f, 0x1160, 0x17b4, 0x17b5, 0x180e, 0x3164, 0xfeff, 0xffa0,
  ];
  if (single.includes(cp)) return true;
  if (cp >= 0x200b && cp <= 0x200f) return true; // zero-width, LRM, RLM
  if (cp >= 0x2028 && cp <= 0x202e) return true; // LS, PS, bidi embeddings/overrides
  if (cp >= 0x2060 && cp <= 0x206f) return true; // word joiner, invisible ops, isolates
  if (cp >= 0xfff9 && cp <= 0xfffb) return true;
  if (cp >= 0x1d173 && cp <= 0x1d17a) return true;
  if (cp >= 0xe0000 && cp <= 0xe007f) return true; // tags
  return false;
}

/** A ZWJ inside an emoji ZWJ sequence (UTS #51) is no hidden text: the one U+200D that may stay. */
const EMOJI_ZWJ = /(?<=\p{Extended_Pictographic}\p{Emoji_Modifier}?\uFE0F?)\u200D(?=\p{Extended_Pictographic})/uy;

/** Every forbidden code point that survived in s (by UTF-16 walk, so lone surrogates count). */
function forbiddenIn(s: string, allowLf = false): number[] {
  const found: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const cp = s.codePointAt(i) ?? 0;
    if (cp > 0xffff) i++;
    if (cp === 0x200d) {
      EMOJI_ZWJ.lastIndex = i;
      if (EMOJI_ZWJ.test(s)) continue;
    }
    if (isForbidden(cp, allowLf)) found.push(cp);
  }
  return found;
}

const TOKEN = /\{U\+([0-9A-F]{4,6})\}|\{0x([0-9A-F]{2})\}/g;

/** Test-only inverse for neutralizeBytes: tokens back to the original bytes. */
function inverseBytes(text: string): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index ?? 0;
    parts.push(Buffer.from(text.slice(last, at), 'utf8'));
    if (m[1] !== undefined) parts.push(Buffer.from(String.fromCodePoint(parseInt(m[1], 16)), 'utf8'));
    else parts.push(Buffer.from([parseInt(m[2] ?? '0', 16)]));
    last = at + m[0].length;
  }
  parts.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

/** Test-only inverse for neutralizeText (lone surrogates come back as themselves). */
function inverseText(text: string): string {
  return text.replace(TOKEN, (_m, u: string | undefined) => {
    assert.ok(u !== undefined, 'neutralizeText never writes byte tokens');
    const cp = parseInt(u, 16);
    return cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
  });
}

/** Every "{U+" / "{0x" in the output is a complete token written by us. */
function assertTokensWellFormed(text: string): void {
  for (const m of text.matchAll(/\{(?:U\+|0x)/g)) {
    const rest = text.slice(m.index);
    assert.match(rest, /^(?:\{U\+[0-9A-F]{4,6}\}|\{0x[0-9A-F]{2}\})/, `dangling token start in ${JSON.stringify(text)}`);
  }
}

function b(...bytes: number[]): Buffer {
  return Buffer.from(bytes);
}

// ---- hostile corpus -------------------------------------------------------

test('CR LF cannot forge a second record: both become visible tokens', () => {
  const forged = 'ok\r\nNov 22 10:00:00 host sshd[1]: Accepted password for root from 10.0.0.1 port 22 ssh2';
  const r = neutralizeBytes(Buffer.from(forged));
  assert.equal(r.changed, true);
  assert.equal(r.text, 'ok{U+000D}{U+000A}Nov 22 10:00:00 host sshd[1]: Accepted password for root from 10.0.0.1 port 22 ssh2');
  assert.deepEqual(forbiddenIn(r.text), []);
});

test('a lone CR (overwrite attack in terminals) is neutralized', () => {
  const r = neutralizeBytes(Buffer.from('login failed for bob\rlogin OK for admin'));
  assert.equal(r.text, 'login failed for bob{U+000D}login OK for admin');
});

test('ANSI colour, clear-screen and OSC title sequences lose their ESC and BEL', () => {
  const cases: [string, string][] = [
    ['\x1b[31mred\x1b[0m', '{U+001B}[31mred{U+001B}[0m'],
    ['\x1b[2J\x1b[H', '{U+001B}[2J{U+001B}[H'],
    ['\x1b]0;title\x07', '{U+001B}]0;title{U+0007}'],
    ['\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\', '{U+001B}]8;;http://evil{U+001B}\\link{U+001B}]8;;{U+001B}\\'],
    ['a\x08\x08\x08bbb', 'a{U+0008}{U+0008}{U+0008}bbb'],
  ];
  for (const [input, want] of cases) {
    const r = neutralizeBytes(Buffer.from(input, 'latin1'));
    assert.equal(r.text, want, JSON.stringify(input));
    assert.equal(r.changed, true);
  }
});

test('8-bit CSI U+009B is neutralized both as UTF-8 and as a raw byte', () => {
  assert.equal(neutralizeBytes(b(0xc2, 0x9b, 0x33, 0x31, 0x6d)).text, '{U+009B}31m');
  assert.equal(neutralizeBytes(b(0x9b, 0x33, 0x31, 0x6d)).text, '{0x9B}31m');
});

test('NEL as U+0085 and as a raw 0x85 byte both become tokens', () => {
  assert.equal(neutralizeBytes(Buffer.from('a\u0085b', 'utf8')).text, 'a{U+0085}b');
  assert.equal(neutralizeBytes(b(0x61, 0x85, 0x62)).text, 'a{0x85}b');
});

test('U+2028, U+2029 and bidi overrides (Trojan Source) become tokens', () => {
  const r = neutralizeBytes(Buffer.from('user=admin\u202Egnp.exe\u202C next\u2028line\u2029para\u2066iso\u2069', 'utf8'));
  assert.equal(r.text, 'user=admin{U+202E}gnp.exe{U+202C} next{U+2028}line{U+2029}para{U+2066}iso{U+2069}');
  assert.equal(r.changed, true);
});

test('NUL, DEL and TAB are neutralized (TAB too: DESIGN says all other C0 controls)', () => {
  assert.equal(neutralizeBytes(Buffer.from('a\x00b\x7fc\td')).text, 'a{U+0000}b{U+007F}c{U+0009}d');
});

test('zero-width and invisible characters are made visible', () => {
  const r = neutralizeText('ad\u200Bmin ro\u200Cot ro\u200Dot \uFEFFx pass\u00ADword \u2060\u2061\u2062\u2063\u2064 \u180E \u3164');
  assert.equal(
    r.text,
    'ad{U+200B}min ro{U+200C}ot ro{U+200D}ot {U+FEFF}x pass{U+00AD}word {U+2060}{U+2061}{U+2062}{U+2063}{U+2064} {U+180E} {U+3164}',
  );
});

test('tag characters (ASCII smuggling) become 5-digit tokens', () => {
  const r = neutralizeBytes(Buffer.from('ok\u{E0041}\u{E0042}', 'utf8'));
  assert.equal(r.text, 'ok{U+E0041}{U+E0042}');
});

test('table: every forbidden BMP code point is tokenized, by bytes and by text', () => {
  const cps: number[] = [];
  for (let cp = 0; cp <= 0xffff; cp++) if (isForbidden(cp) && !(cp >= 0xd800 && cp <= 0xdfff)) cps.push(cp);
  assert.equal(cps.length, 107);
  for (const cp of cps) {
    const ch = String.fromCodePoint(cp);
    const want = `x{U+${cp.toString(16).toUpperCase().padStart(4, '0')}}y`;
    assert.equal(neutralizeBytes(Buffer.from(`x${ch}y`, 'utf8')).text, want, `U+${cp.toString(16)}`);
    assert.equal(neutralizeText(`x${ch}y`).text, want, `U+${cp.toString(16)}`);
  }
});

test('ordinary non-ASCII text (accents, CJK, emoji, emoji ZWJ sequences) passes unchanged', () => {
  const s = 'Jürgen Müller „Größe“ café ✓ 東京 山田太郎 😀 Ελληνικά русский עברית عربى I \u2764\uFE0F it \u{1F468}\u200D\u{1F469}\u200D\u{1F467} \u{1F3F3}\uFE0F\u200D\u{1F308} 1\uFE0F\u20E3';
  const r = neutralizeBytes(Buffer.from(s, 'utf8'));
  assert.equal(r.changed, false);
  assert.equal(r.text, s);
  assert.equal(neutralizeText(s).changed, false);
});

test('printable ASCII passes unchanged with changed=false (fast path)', () => {
  const s = '203.0.113.9 - - [22/Nov/2024:10:00:00 +0000] "GET /a?b=c&d={e} HTTP/1.1" 200 5 "-" "curl/8.0" {"json":{"k":[1,2]}} ~`!@#$%^&*()_+';
  const r = neutralizeBytes(Buffer.from(s));
  assert.deepEqual(r, { text: s, changed: false });
});

// ---- invalid UTF-8 ---------------------------------------------------------

test('invalid UTF-8: each offending byte becomes its own {0xNN} token', () => {
  const cases: [Buffer, string][] = [
    [b(0x61, 0x80, 0x62), 'a{0x80}b'], // lone continuation
    [b(0xc0, 0xaf), '{0xC0}{0xAF}'], // overlong "/"
    [b(0xc1, 0xbf), '{0xC1}{0xBF}'], // overlong
    [b(0xe0, 0x80, 0xaf), '{0xE0}{0x80}{0xAF}'], // overlong 3-byte
    [b(0xf0, 0x80, 0x80, 0xaf), '{0xF0}{0x80}{0x80}{0xAF}'], // overlong 4-byte
    [b(0xed, 0xa0, 0x80), '{0xED}{0xA0}{0x80}'], // UTF-8-encoded surrogate D800
    [b(0xed, 0xbf, 0xbf), '{0xED}{0xBF}{0xBF}'], // surrogate DFFF
    [b(0xf4, 0x90, 0x80, 0x80), '{0xF4}{0x90}{0x80}{0x80}'], // above U+10FFFF
    [b(0xf5, 0x80), '{0xF5}{0x80}'],
    [b(0xf5, 0x80, 0x80, 0x80), '{0xF5}{0x80}{0x80}{0x80}'], // would be above U+10FFFF
    [b(0xf8, 0x88, 0x80, 0x80, 0x80), '{0xF8}{0x88}{0x80}{0x80}{0x80}'], // old 5-byte form
    [b(0xff, 0xfe), '{0xFF}{0xFE}'],
    [b(0x41, 0xe2, 0x82), 'A{0xE2}{0x82}'], // truncated at end
    [b(0xf0, 0x9f, 0x98), '{0xF0}{0x9F}{0x98}'], // truncated 4-byte
    [b(0xe2, 0x82, 0x41), '{0xE2}{0x82}A'], // truncated mid-line
    [b(0xc3, 0x28), '{0xC3}('],
    [b(0xc3, 0xa9, 0x80, 0xc3, 0xa9), 'é{0x80}é'], // valid neighbours kept
    [b(0xed, 0x9f, 0xbf), '\uD7FF'], // last valid before the surrogates
    [b(0xf4, 0x8f, 0xbf, 0xbf), '\u{10FFFF}'], // last valid code point
  ];
  for (const [input, want] of cases) {
    const r = neutralizeBytes(input);
    assert.equal(r.text, want, input.toString('hex'));
    assert.equal(r.changed, !isUtf8(input), input.toString('hex'));
    assert.ok(!r.text.includes('\uFFFD'), 'never substitutes U+FFFD');
    assert.deepEqual(inverseBytes(r.text), input);
  }
});

test('invalid bytes next to control characters: both kinds of token, in order', () => {
  const r = neutralizeBytes(b(0x1b, 0x5b, 0x80, 0x0d, 0x0a, 0xff));
  assert.equal(r.text, '{U+001B}[{0x80}{U+000D}{U+000A}{0xFF}');
});

// ---- tokens cannot be forged ----------------------------------------------

test('an attacker-typed token is escaped, so it reads differently from a real LF', () => {
  const typed = neutralizeBytes(Buffer.from('a{U+000A}b'));
  const real = neutralizeBytes(Buffer.from('a\nb'));
  assert.equal(real.text, 'a{U+000A}b');
  assert.equal(typed.text, 'a{U+007B}U+000A}b');
  assert.notEqual(typed.text, real.text);
  assert.equal(typed.changed, true);
  assert.equal(neutralizeBytes(Buffer.from('x{0x80}')).text, 'x{U+007B}0x80}');
  assert.equal(neutralizeText('{U+007B}').text, '{U+007B}U+007B}');
  assert.equal(inverseBytes(typed.text).toString(), 'a{U+000A}b');
});

test('ordinary braces are left alone', () => {
  for (const s of ['{"a":1}', '{', '}', '{U', '{U-1}', '{0X41}', 'x{u+000a}', '${HOME}']) {
    assert.deepEqual(neutralizeBytes(Buffer.from(s)), { text: s, changed: false }, s);
    assert.deepEqual(neutralizeText(s), { text: s, changed: false }, s);
  }
});

test('a "{" right before an invalid byte or a control stays a plain brace', () => {
  const r = neutralizeBytes(b(0x7b, 0x80, 0x7b, 0x0a));
  assert.equal(r.text, '{{0x80}{{U+000A}');
  assert.deepEqual(inverseBytes(r.text), b(0x7b, 0x80, 0x7b, 0x0a));
});

// ---- multiline, text, surrogates --------------------------------------------

test('neutralizeMultiline keeps LF but still neutralizes CR and other controls', () => {
  const r = neutralizeMultiline(Buffer.from('Exception in main\r\n\tat a.B(C.java:1)\n\tat x.Y\x1b[0m'));
  assert.equal(r.text, 'Exception in main{U+000D}\n{U+0009}at a.B(C.java:1)\n{U+0009}at x.Y{U+001B}[0m');
  assert.equal(r.changed, true);
  assert.deepEqual(neutralizeMultiline(Buffer.from('line one\nline two')), { text: 'line one\nline two', changed: false });
});

test('neutralizeText: LF kept only with allowLf, CR never', () => {
  assert.equal(neutralizeText('a\nb\rc').text, 'a{U+000A}b{U+000D}c');
  assert.equal(neutralizeText('a\nb\rc', { allowLf: true }).text, 'a\nb{U+000D}c');
  assert.deepEqual(neutralizeText('a\nb', { allowLf: true }), { text: 'a\nb', changed: false });
});

test('lone surrogates in JS strings become {U+D800}-style tokens; valid pairs stay', () => {
  assert.equal(neutralizeText('a\uD800b').text, 'a{U+D800}b');
  assert.equal(neutralizeText('a\uDC00b').text, 'a{U+DC00}b');
  assert.equal(neutralizeText('\uDC00\uD800').text, '{U+DC00}{U+D800}'); // reversed pair is two lone halves
  assert.equal(neutralizeText('end\uD83D').text, 'end{U+D83D}');
  assert.deepEqual(neutralizeText('😀'), { text: '😀', changed: false });
});

test('codePointToken: uppercase, at least four digits', () => {
  assert.equal(codePointToken(0x0a), '{U+000A}');
  assert.equal(codePointToken(0xfeff), '{U+FEFF}');
  assert.equal(codePointToken(0xe0041), '{U+E0041}');
});

// ---- size and syslog-looking input ------------------------------------------

test('a 1 MB line is handled in one piece, exactly', () => {
  const mb = 1024 * 1024;
  const clean = Buffer.alloc(mb, 0x61);
  const r1 = neutralizeBytes(clean);
  assert.equal(r1.changed, false);
  assert.equal(r1.text.length, mb);

  const dirty = Buffer.alloc(mb, 0x62);
  dirty[10] = 0x0d;
  dirty[mb / 2] = 0x1b;
  dirty[mb - 1] = 0xc3; // truncated 2-byte sequence at the very end
  const r2 = neutralizeBytes(dirty);
  assert.equal(r2.changed, true);
  assert.equal(r2.text.length, mb - 3 + 8 + 8 + 6);
  assert.deepEqual(forbiddenIn(r2.text), []);
  assert.ok(r2.text.endsWith('b{0xC3}'));
  assert.deepEqual(inverseBytes(r2.text), dirty);

  const multibyte = Buffer.from('é'.repeat(mb / 2) + '\u2028', 'utf8');
  const r3 = neutralizeBytes(multibyte);
  assert.ok(r3.text.endsWith('é{U+2028}'));
});

test('a line that looks like a syslog header keeps its printable text; no control survives', () => {
  const forged = '<134>1 2024-11-22T10:00:00Z host app - - - fake event';
  assert.deepEqual(neutralizeBytes(Buffer.from(forged)), { text: forged, changed: false });
  const r = neutralizeBytes(Buffer.from(`ok\n${forged}\r\n<13>Nov 22 10:00:00 host x: y\x00`));
  assert.deepEqual(forbiddenIn(r.text), []);
  assert.ok(r.text.startsWith('ok{U+000A}<134>1 2024-11-22T10:00:00Z'));
});

// ---- properties -------------------------------------------------------------

// Bytes biased towards the interesting: controls, UTF-8 leads/continuations, "{U+" pieces.
const interestingByte = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 2, arbitrary: fc.constantFrom(0x0a, 0x0d, 0x1b, 0x7b, 0x55, 0x2b, 0x30, 0x78, 0x7d, 0x80, 0xbf, 0xc2, 0xe2, 0xed, 0xf0, 0xf4) },
  { weight: 2, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
);
const byteLines = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  fc.array(interestingByte, { maxLength: 200 }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'binary', maxLength: 60 }).map((s) => Buffer.from(s, 'utf8')),
);

test('property: bytes in -> no forbidden char out, well-formed UTF-8, no U+FFFD added', () => {
  fc.assert(
    fc.property(byteLines, (input) => {
      for (const [fn, allowLf] of [
        [neutralizeBytes, false],
        [neutralizeMultiline, true],
      ] as const) {
        const r = fn(input);
        assert.deepEqual(forbiddenIn(r.text, allowLf), []);
        assert.equal(Buffer.from(r.text, 'utf8').toString('utf8'), r.text, 'no lone surrogates');
        const fffdIn = isUtf8(input) ? (input.toString('utf8').match(/\uFFFD/g) ?? []).length : 0;
        const fffdRaw = (inverseBytes(r.text).toString('latin1').match(/\xEF\xBF\xBD/g) ?? []).length;
        assert.ok((r.text.match(/\uFFFD/g) ?? []).length <= Math.max(fffdIn, fffdRaw));
        assertTokensWellFormed(r.text);
      }
    }),
    { numRuns: 1500 },
  );
});

test('property: changed is false exactly when the output equals the decoded input', () => {
  fc.assert(
    fc.property(byteLines, (input) => {
      const r = neutralizeBytes(input);
      assert.equal(r.changed, r.text !== input.toString('utf8'));
      const m = neutralizeMultiline(input);
      assert.equal(m.changed, m.text !== input.toString('utf8'));
    }),
    { numRuns: 1500 },
  );
});

test('property: evidence survives — decoding the tokens gives back the original bytes', () => {
  fc.assert(
    fc.property(byteLines, (input) => {
      assert.deepEqual(inverseBytes(neutralizeBytes(input).text), input);
      assert.deepEqual(inverseBytes(neutralizeMultiline(input).text), input);
    }),
    { numRuns: 1500 },
  );
});

// UTF-16 units biased towards surrogates, separators, bidi and token look-alikes.
const unit = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('\r', '\n', '\t', '\x1b', '{', 'U', '+', '0', 'x', '}', '\u2028', '\u202e', '\uD800', '\uDC00', '\u{E0041}', '\u0085', 'é', '😀'),
  },
);
const texts = fc.string({ unit, maxLength: 80 });

test('property: any JS string -> no forbidden char, no lone surrogate, inverse restores it', () => {
  fc.assert(
    fc.property(texts, fc.boolean(), (s, allowLf) => {
      const r = neutralizeText(s, { allowLf });
      assert.deepEqual(forbiddenIn(r.text, allowLf), []);
      assert.equal(Buffer.from(r.text, 'utf8').toString('utf8'), r.text);
      assert.equal(r.changed, r.text !== s);
      assert.equal(inverseText(r.text), s);
      assertTokensWellFormed(r.text);
      assert.equal((r.text.match(/\uFFFD/g) ?? []).length, (s.match(/\uFFFD/g) ?? []).length);
    }),
    { numRuns: 2000 },
  );
});

test('property: neutralizing twice only escapes the braces of the first pass', () => {
  // Output is safe text; running it through again must not reintroduce anything forbidden.
  fc.assert(
    fc.property(texts, (s) => {
      const once = neutralizeText(s).text;
      const twice = neutralizeText(once);
      assert.deepEqual(forbiddenIn(twice.text), []);
      assert.equal(inverseText(twice.text), once);
    }),
    { numRuns: 500 },
  );
});

test('every control, format and line/paragraph separator code point in Unicode is neutralized, from bytes and from text', () => {
  const missed: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const s = String.fromCodePoint(cp);
    if (!/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(s)) continue;
    const t = neutralizeText(s);
    const b = neutralizeBytes(Buffer.from(s, 'utf8'));
    if (!t.changed || !b.changed || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(t.text + b.text)) missed.push(cp.toString(16));
  }
  assert.deepEqual(missed, []);
});

test('variation selectors, which make "ro\\uFE0Eot" render as "root", are neutralized like other invisible characters', () => {
  for (const [input, want] of [
    ['ro\uFE0Eot', 'ro{U+FE0E}ot'],
    ['a\uFE00b\uFE0Fc', 'a{U+FE00}b{U+FE0F}c'],
    ['x\u180By\u180Fz', 'x{U+180B}y{U+180F}z'],
    ['p\u{E0100}q\u{E01EF}r', 'p{U+E0100}q{U+E01EF}r'],
  ] as const) {
    const t = neutralizeText(input);
    assert.equal(t.text, want);
    assert.equal(t.changed, true);
    const b = neutralizeBytes(Buffer.from(input, 'utf8'));
    assert.equal(b.text, want);
  }
  // Neighbours of the ranges stay as they are.
  assert.equal(neutralizeText('\u180A\uFE10\u{E00FF}\u{E01F0}').changed, false);
});
