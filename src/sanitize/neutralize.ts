/**
 * Neutralization of log content (CWE-117): after this, no character that can
 * forge a record, hide text or drive a terminal is left in the text, and every
 * byte of the original can still be recovered from it.
 *
 * Token forms (DESIGN.md "Safe text"; DESIGN wins over the OWASP digest):
 *   {U+XXXX}  a dangerous code point, uppercase hex, 4 digits (5 for astral ones)
 *   {0xNN}    one byte that is not part of a well-formed UTF-8 sequence
 *
 * What is dangerous (the set is FORBIDDEN_CLASS below):
 *   - every C0 control, TAB included: DESIGN says "other C0/C1 controls", and a
 *     TAB in a value can shift columns in line tools; stack traces from the
 *     multiline path therefore show "{U+0009}at ...". LF only survives in
 *     neutralizeMultiline / allowLf (lines the agent joined itself); CR never.
 *   - DEL, all of C1 U+0080–U+009F (NEL U+0085 and the 8-bit CSI U+009B too),
 *     U+2028, U+2029;
 *   - bidi controls U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069;
 *   - invisible / zero-width: U+200B–U+200D, U+2060–U+2064 (and the rest of the
 *     U+2060 block, all format characters), U+FEFF anywhere (a BOM at the start
 *     of a file is the source's business, not this function's), the soft
 *     hyphen U+00AD (renders as nothing mid-word: "pass\u00ADword"), combining
 *     grapheme joiner U+034F, Hangul fillers U+115F U+1160 U+3164 U+FFA0, Khmer
 *     U+17B4 U+17B5, interlinear annotation U+FFF9–U+FFFB, musical format
 *     U+1D173–U+1D17A and the tag block U+E0000–U+E007F ("ASCII smuggling");
 *   - variation selectors U+FE00–U+FE0F, U+E0100–U+E01EF and the Mongolian
 *     U+180B–U+180F: "ro\uFE0Eot" renders as "root" and is another string;
 *     ZWJ U+200D likewise ("ro\u200Dot"). Except in the emoji forms of UTS #51
 *     below, which are kept: the benign corpus must pass unchanged, and "❤️"
 *     shipped as "❤{U+FE0F}" with a log_injection_neutralized tag was a false alarm;
 *   - lone UTF-16 surrogates (only reachable through neutralizeText).
 *   ANSI sequences need no parser: ESC (and U+009B) are controls, so
 *   "\x1b[31m" becomes "{U+001B}[31m" — inert, and the evidence stays readable.
 *
 * Emoji forms kept raw (emojiFormAt, shared with the encoders' last line of
 * defence in src/encode/unsafe-chars.ts so that both keep exactly the same):
 *   - U+FE0E or U+FE0F directly after a non-ASCII emoji character (\p{Emoji}
 *     without the ASCII digits, "#" and "*"): "❤️", "☺︎". What the selector
 *     follows decides, not what else is on the line;
 *   - a keycap: [0-9#*] U+FE0F U+20E3 ("1️⃣"); "1\uFE0F" without U+20E3 is no keycap;
 *   - U+200D between two emoji elements: an Extended_Pictographic character,
 *     optionally followed by a skin-tone modifier U+1F3FB–U+1F3FF and then
 *     optionally by a kept U+FE0F, before it; an Extended_Pictographic
 *     character right after it ("👨‍👩‍👧", "🏳️‍🌈", "👩🏽‍💻").
 *   Nothing else: U+FE00–U+FE0D, the Mongolian selectors, the supplement
 *   U+E0100–U+E01EF, a selector after a letter or after another selector, a ZWJ
 *   at the start or end or next to a non-emoji, all stay tokens. So do tag
 *   characters even inside an emoji tag sequence (the subdivision flags
 *   "🏴 + tags", rare in logs): the tag block is the "ASCII smuggling" channel,
 *   and an invisible payload riding on a flag is still an invisible payload.
 *   None of these kept forms can make ASCII text read as other ASCII text: each
 *   sits next to a visible emoji (or inside a keycap), never between letters.
 *
 * Unforgeable tokens: a literal "{" that is followed by "U+" or "0x" is itself
 * written as "{U+007B}". So in the output, every "{U+" or "{0x" starts a token
 * that this module wrote, and an attacker who types "{U+000A}" is shown as
 * "{U+007B}U+000A}" — a reader (or the inverse in the tests) tells a real LF
 * from a typed one. Such an escape sets `changed` like any other replacement:
 * forging our token form is an injection attempt too.
 *
 * Invalid UTF-8 (per Unicode Table 3-7: overlong forms C0/C1/E0 80–9F/F0 80–8F,
 * UTF-8-encoded surrogates ED A0–BF, code points above U+10FFFF F4 90+/F5–FF,
 * stray continuation bytes, truncated sequences): each offending byte becomes
 * its own {0xNN} token and decoding resumes at the next byte. Nothing is
 * replaced by U+FFFD, nothing is dropped.
 *
 * Hot path: most lines are printable ASCII. A native isAscii, a latin1 decode
 * and one regex test prove that, and the line is returned with no further work; valid non-ASCII
 * UTF-8 costs one isUtf8, one decode and one regex test. Only lines that need
 * it pay for the replace pass or the byte-by-byte decoder. The main regex has
 * no 'u' flag and no property classes (V8's \p{} classes cost ~1.5 µs on a
 * 100-character non-ASCII line, an explicit class ~0.1 µs): it matches every U+FE0E, U+FE0F and U+200D, and
 * only such a match pays for the emoji context check (emojiFormAt, in the
 * replace callback), whose \p{Emoji} / \p{Extended_Pictographic} tests look
 * at one neighbouring code point at a time.
 */
import { isAscii, isUtf8 } from 'node:buffer';

export interface Neutralized {
  /** The safe text. */
  readonly text: string;
  /** True when anything was replaced: the caller tags log_injection_neutralized and counts it. */
  readonly changed: boolean;
}

export interface NeutralizeTextOptions {
  /** Keep LF (only for multiline events the agent assembled itself). CR is still neutralized. */
  readonly allowLf?: boolean;
}

// BMP code units that are always neutralized (LF is added separately so the
// multiline variant can leave it out).
const FORBIDDEN_CLASS =
  '\\x00-\\x09\\x0B-\\x1F\\x7F-\\x9F\\xAD\\u034F\\u0600-\\u0605\\u061C\\u06DD\\u070F\\u0890\\u0891\\u08E2\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F' +
  '\\u200B-\\u200F\\u2028-\\u202E\\u2060-\\u206F\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF9-\\uFFFB';

// No 'u' flag on purpose: it lets the same regex find lone surrogates, and the
// non-unicode engine is faster. Astral code points are matched as pairs.
function forbiddenSource(allowLf: boolean): string {
  return (
    `[${FORBIDDEN_CLASS}${allowLf ? '' : '\\n'}]` +
    '|\\uDB40[\\uDC00-\\uDC7F]' + // tags U+E0000–U+E007F
    '|\\uDB40[\\uDD00-\\uDDEF]' + // variation selectors supplement U+E0100–U+E01EF
    '|\\uD834[\\uDD73-\\uDD7A]' + // musical symbol format controls
    '|\\uD804[\\uDCBD\\uDCCD]' + // Kaithi number signs U+110BD, U+110CD (format characters)
    '|\\uD80D[\\uDC30-\\uDC3F]' + // Egyptian hieroglyph format controls U+13430–U+1343F
    '|\\uD82F[\\uDCA0-\\uDCA3]' + // shorthand format controls U+1BCA0–U+1BCA3
    '|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])' + // lone high surrogate
    // lone low surrogate; the look-behind sits after the class so that the
    // regex engine's first-character screen still skips ordinary text
    '|[\\uDC00-\\uDFFF](?<![\\uD800-\\uDBFF][\\uDC00-\\uDFFF])' +
    '|\\{(?=U\\+|0x)' // a literal "{" that would read as one of our tokens
  );
}

const TEST_ALL = new RegExp(forbiddenSource(false));
const TEST_LF_OK = new RegExp(forbiddenSource(true));
const REPLACE_ALL = new RegExp(forbiddenSource(false), 'g');
const REPLACE_LF_OK = new RegExp(forbiddenSource(true), 'g');

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, b) =>
  b.toString(16).toUpperCase().padStart(2, '0'),
);
const BYTE_TOKEN: readonly string[] = HEX_BYTE.map((h) => `{0x${h}}`);

const tokenCache = new Map<number, string>();

/** The visible token for a code point: {U+XXXX}, uppercase, at least 4 hex digits. */
export function codePointToken(cp: number): string {
  let t = tokenCache.get(cp);
  if (t === undefined) {
    t = `{U+${cp.toString(16).toUpperCase().padStart(4, '0')}}`;
    // Bounded: the forbidden set has a few hundred members plus 2048 surrogates.
    tokenCache.set(cp, t);
  }
  return t;
}

// ---- emoji forms (UTS #51) that keep their U+FE0E, U+FE0F or U+200D ----------
// Property classes, but only ever run on one code point next to a match of the
// main regex: ordinary text never reaches them.
const EMOJI = /\p{Emoji}/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;

/** The code point that ends just before index `end` (a valid pair counts as one; a lone surrogate as itself), or -1. */
function codePointBefore(s: string, end: number): number {
  if (end <= 0) return -1;
  const lo = s.charCodeAt(end - 1);
  if (lo >= 0xdc00 && lo <= 0xdfff && end >= 2) {
    const hi = s.charCodeAt(end - 2);
    if (hi >= 0xd800 && hi <= 0xdbff) return (hi - 0xd800) * 0x400 + (lo - 0xdc00) + 0x10000;
  }
  return lo;
}

// Verdicts per code point (bit 1: Emoji, bit 2: Extended_Pictographic), so that a chat log
// full of emoji pays for each property test once. Bounded: at the limit the cache starts over
// (Unicode has ~3,000 emoji and pictographic characters; crafted
// lines can put any of 1.1 million code points before a selector).
const EMOJI_BIT = 1;
const PICTO_BIT = 2;
const MAX_CACHED_VERDICTS = 8192;
const verdicts = new Map<number, number>();

function verdict(cp: number): number {
  let v = verdicts.get(cp);
  if (v === undefined) {
    const ch = String.fromCodePoint(cp);
    v = (EMOJI.test(ch) ? EMOJI_BIT : 0) | (PICTOGRAPHIC.test(ch) ? PICTO_BIT : 0);
    // Cleared when full, so that one crafted line of thousands of distinct code points cannot
    // leave every later emoji uncached for the life of the process.
    if (verdicts.size >= MAX_CACHED_VERDICTS) verdicts.clear();
    verdicts.set(cp, v);
  }
  return v;
}

/** A non-ASCII emoji character: what a presentation selector may follow. */
function isEmojiBase(cp: number): boolean {
  return cp >= 0x80 && (verdict(cp) & EMOJI_BIT) !== 0;
}

function isPictographic(cp: number): boolean {
  // No Extended_Pictographic character is ASCII; -1 and lone surrogates are none either.
  return cp >= 0x80 && (verdict(cp) & PICTO_BIT) !== 0;
}

/**
 * Whether the U+FE0E, U+FE0F or U+200D at index i of s is part of one of the
 * emoji forms this module keeps (see the header); false for any other
 * character. Shared with src/encode/unsafe-chars.ts: the encoders must keep
 * exactly what the neutralizer keeps. It looks only at the neighbours, which
 * are never characters this module tokenizes, so the verdict is the same on
 * the input and on the output.
 */
export function emojiFormAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c === 0x200d) {
    if (!isPictographic(s.codePointAt(i + 1) ?? -1)) return false;
    let end = i;
    // A presentation selector the element keeps ("🏳️‍🌈"), after the character or its modifier.
    if (s.charCodeAt(end - 1) === 0xfe0f) {
      if (!emojiFormAt(s, end - 1)) return false;
      end--;
    }
    // A skin-tone modifier U+1F3FB–U+1F3FF (D83C DFFB–DFFF): "👩🏽‍💻".
    const m = s.charCodeAt(end - 1);
    if (m >= 0xdffb && m <= 0xdfff && s.charCodeAt(end - 2) === 0xd83c) end -= 2;
    return isPictographic(codePointBefore(s, end));
  }
  if (c !== 0xfe0e && c !== 0xfe0f) return false;
  const before = codePointBefore(s, i);
  if (before < 0x80) {
    // Keycap: [0-9#*] U+FE0F U+20E3. A digit with a selector and no keycap mark is no emoji.
    return c === 0xfe0f && ((before >= 0x30 && before <= 0x39) || before === 0x23 || before === 0x2a) && s.charCodeAt(i + 1) === 0x20e3;
  }
  return isEmojiBase(before);
}

// ---- cutting a line of raw bytes ---------------------------------------------------------------

/** How many bytes past `max` cutLength reads: the code point after a cut (4 bytes at most) decides whether a joiner before it belonged to an emoji. */
export const CUT_LOOKAHEAD = 4;

/** Bytes decoded before a cut to judge an emoji form: a ZWJ looks back over a selector, a skin tone and a pictograph (3 + 4 + 4 bytes). */
const CUT_LOOKBEHIND = 32;

/**
 * The length to cut a line of raw bytes to, at most `max`, such that the cut invents
 * nothing the neutralizer would flag on a benign line:
 *   - never inside a well-formed UTF-8 sequence (its first bytes would become {0xNN}
 *     tokens): the cut backs off to the start of the sequence that crosses `max`, 3
 *     bytes at most. Bytes that are no UTF-8 are cut where they are (each becomes its
 *     token as evidence, as it would uncut), so a crafted line never loses more;
 *   - never right after a U+200D, U+FE0E or U+FE0F that was part of an emoji form
 *     (emojiFormAt) in the uncut line and is not in the cut one: "👩‍|💻" would end
 *     in a raw ZWJ, "1️|⃣" in a selector without its keycap, each tokenized and tagged
 *     log_injection_neutralized. Such a character is dropped with the rest. One that
 *     was no emoji form in the uncut line either ("ro\u200D|ot") stays: the
 *     neutralizer shows it and tags the line, as it would have uncut. One drop is
 *     enough: the character before it is then followed by the joiner or selector
 *     just dropped, which no emoji form needs after it ("🏳️‍" keeps its selector;
 *     test/sanitize/neutralize-cut-backoff.test.ts checks it exhaustively).
 * Reads bytes[0 .. max + CUT_LOOKAHEAD) and no further, so a caller that keeps only
 * that much of an over-long line (src/source/reader.ts) cuts exactly as one holding
 * the whole line. Returns bytes.length when it fits.
 */
export function cutLength(bytes: Buffer, max: number): number {
  if (bytes.length <= max) return bytes.length;
  let cut = max;
  // bytes[max] continues a sequence: find where it started (a sequence has at most 4 bytes) and
  // cut there if it is well-formed (it ends by max + 2, within the lookahead).
  let lead = max;
  while (lead > 0 && lead > max - 3 && ((bytes[lead] ?? 0) & 0xc0) === 0x80) lead--;
  if (lead < max && lead + utf8SequenceLength(bytes, lead) > max) cut = lead;
  const end = Math.min(bytes.length, max + CUT_LOOKAHEAD);
  if (cut < 3) return cut;
  const last = bytes.readUIntBE(cut - 3, 3);
  if (last !== 0xe2808d && last !== 0xefb88e && last !== 0xefb88f) return cut; // U+200D, U+FE0E, U+FE0F
  // A window around the cut as text (a character cut at the window's start decodes as U+FFFD, which is no emoji).
  const head = bytes.toString('utf8', Math.max(0, cut - CUT_LOOKBEHIND), cut);
  const whole = head + bytes.toString('utf8', cut, end);
  const i = head.length - 1;
  return emojiFormAt(whole, i) && !emojiFormAt(head, i) ? cut - 3 : cut;
}

// Set by tokenFor when it replaced something: a line whose only matches are kept emoji forms is unchanged.
let replacedAny = false;

function tokenFor(match: string, offset: number, whole: string): string {
  if (match.length === 1) {
    const c = match.charCodeAt(0);
    if ((c === 0xfe0f || c === 0xfe0e || c === 0x200d) && emojiFormAt(whole, offset)) return match;
  }
  replacedAny = true;
  // A pair is one astral code point; everything else is one code unit (a
  // lone surrogate's value is its own token, e.g. {U+D800}).
  const cp = match.length === 2 ? (match.codePointAt(0) ?? 0) : match.charCodeAt(0);
  return codePointToken(cp);
}

function neutralizeDecoded(s: string, allowLf: boolean): Neutralized {
  if (!(allowLf ? TEST_LF_OK : TEST_ALL).test(s)) return { text: s, changed: false };
  replacedAny = false;
  const text = s.replace(allowLf ? REPLACE_LF_OK : REPLACE_ALL, tokenFor);
  // Only kept emoji forms matched: the very same string, not a copy.
  return replacedAny ? { text, changed: true } : { text: s, changed: false };
}

/** Run-local version for the invalid-UTF-8 path: returns the text only. */
function neutralizeRun(s: string, allowLf: boolean): string {
  return (allowLf ? TEST_LF_OK : TEST_ALL).test(s) ? s.replace(allowLf ? REPLACE_LF_OK : REPLACE_ALL, tokenFor) : s;
}

/**
 * Length of the well-formed UTF-8 sequence starting at p, or 0 when the byte at
 * p cannot start one (Unicode Table 3-7).
 */
function utf8SequenceLength(b: Buffer, p: number): number {
  const c = b[p] ?? 0;
  if (c < 0x80) return 1;
  if (c < 0xc2) return 0; // continuation byte, or overlong C0/C1 lead
  const n = b.length;
  if (c < 0xe0) return p + 1 < n && ((b[p + 1] ?? 0) & 0xc0) === 0x80 ? 2 : 0;
  if (c < 0xf0) {
    if (p + 2 >= n) return 0;
    const c1 = b[p + 1] ?? 0;
    const lo = c === 0xe0 ? 0xa0 : 0x80; // E0 80–9F is overlong
    const hi = c === 0xed ? 0x9f : 0xbf; // ED A0–BF encodes a surrogate
    return c1 >= lo && c1 <= hi && ((b[p + 2] ?? 0) & 0xc0) === 0x80 ? 3 : 0;
  }
  if (c < 0xf5) {
    if (p + 3 >= n) return 0;
    const c1 = b[p + 1] ?? 0;
    const lo = c === 0xf0 ? 0x90 : 0x80; // F0 80–8F is overlong
    const hi = c === 0xf4 ? 0x8f : 0xbf; // F4 90+ is above U+10FFFF
    return c1 >= lo && c1 <= hi && ((b[p + 2] ?? 0) & 0xc0) === 0x80 && ((b[p + 3] ?? 0) & 0xc0) === 0x80 ? 4 : 0;
  }
  return 0; // F5–FF never occur in UTF-8
}

function neutralizeInvalidUtf8(bytes: Buffer, allowLf: boolean): Neutralized {
  const parts: string[] = [];
  const n = bytes.length;
  let runStart = 0;
  let p = 0;
  while (p < n) {
    const len = utf8SequenceLength(bytes, p);
    if (len > 0) {
      p += len;
      continue;
    }
    if (p > runStart) parts.push(neutralizeRun(bytes.toString('utf8', runStart, p), allowLf));
    parts.push(BYTE_TOKEN[bytes[p] ?? 0] ?? '');
    p += 1;
    runStart = p;
  }
  if (runStart < n) parts.push(neutralizeRun(bytes.toString('utf8', runStart, n), allowLf));
  return { text: parts.join(''), changed: true };
}

// Anything but printable ASCII (plus LF for the multiline variant), or a "{" that reads as a
// token: what the fast path must not pass. On a latin1-decoded line each code unit is one byte.
const NOT_PLAIN = /[^\x20-\x7e]|\{(?=U\+|0x)/;
const NOT_PLAIN_LF_OK = /[^\x20-\x7e\n]|\{(?=U\+|0x)/;

function neutralizeBuffer(bytes: Buffer, allowLf: boolean): Neutralized {
  // Printable ASCII: latin1 decoding is the cheapest exact decode there is, and one
  // regex test over the decoded line is cheaper than a JavaScript loop over the bytes.
  // isAscii (native) first, so that non-ASCII lines do not pay for a decode they discard.
  if (isAscii(bytes)) {
    const latin1 = bytes.toString('latin1');
    if (!(allowLf ? NOT_PLAIN_LF_OK : NOT_PLAIN).test(latin1)) return { text: latin1, changed: false };
    // ASCII is valid UTF-8 and decodes to the same string.
    return neutralizeDecoded(latin1, allowLf);
  }
  if (isUtf8(bytes)) return neutralizeDecoded(bytes.toString('utf8'), allowLf);
  return neutralizeInvalidUtf8(bytes, allowLf);
}

/** One physical line (no LF expected): decode UTF-8 and neutralize; LF, if present, is neutralized too. */
export function neutralizeBytes(bytes: Buffer): Neutralized {
  return neutralizeBuffer(bytes, false);
}

/** A multiline record the agent joined itself: as neutralizeBytes, but LF is kept. */
export function neutralizeMultiline(bytes: Buffer): Neutralized {
  return neutralizeBuffer(bytes, true);
}

/** A value that is already a JS string (JSON-decoded field, journal field, config value). */
export function neutralizeText(s: string, opts?: NeutralizeTextOptions): Neutralized {
  return neutralizeDecoded(s, opts?.allowLf === true);
}
