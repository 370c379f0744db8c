/**
 * The last line of defence shared by every encoder: characters that must never
 * leave the agent raw, whatever the sanitizer upstream did or missed.
 *
 * Unsafe = C0 controls except TAB/LF/CR (each format has its own rule for those:
 * CEF header -> space, CEF extension -> \r \n, JSON -> \r \n), DEL, C1 (NEL
 * included), U+2028/U+2029, every format character (Unicode Cf: bidi controls,
 * zero-width characters, BOM, soft hyphen, tag characters, ...), the
 * variation selectors (U+180B-180D, U+180F, U+FE00-FE0F, U+E0100-E01EF: not
 * Cf but invisible, so "ro\uFE0Eot" would read as "root") and lone
 * surrogates (they cannot be written as UTF-8; Buffer would silently turn them
 * into U+FFFD). The one exception is the emoji forms the neutralizer keeps
 * (src/sanitize/neutralize.ts, emojiFormAt, the same function here): U+FE0E/
 * U+FE0F right after a non-ASCII emoji ("❤️"), a keycap ("1️⃣") and a ZWJ
 * between two emoji ("👨‍👩‍👧") stay raw, so that an event the neutralizer left
 * unchanged is not changed here either; "ro\uFE0Eot", "ro\u200Dot", a selector
 * after a digit without U+20E3, FE00-FE0D and the tag characters are still
 * replaced. The check runs only on such a character, never on ordinary text.
 *
 * The classes are written out (from Unicode 15/16 General_Category) instead of
 * using /\p{Cf}/u: V8's property-class regexes cost ~1.5 µs on a 100-char
 * non-ASCII string, the explicit class below ~0.1 µs. Any surrogate sends the
 * string to the slow, exact path (astral Cf characters and lone surrogates).
 */
import { emojiFormAt } from '../sanitize/neutralize.js';

/** Cheapest pre-check: printable ASCII only (the common case) needs nothing at all. */
export const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;

/** Cheap pre-check: true when a string MAY hold an unsafe character (any surrogate counts). */
export const MAYBE_UNSAFE =
  /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufe00-\ufe0f\ufeff\ufff9-\ufffb\ud800-\udfff]/;

const BMP_UNSAFE =
  /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufe00-\ufe0f\ufeff\ufff9-\ufffb]/;

/** Astral format characters (Cf) and variation selectors, as inclusive code point ranges. */
const ASTRAL_UNSAFE: readonly (readonly [number, number])[] = [
  [0x110bd, 0x110bd],
  [0x110cd, 0x110cd],
  [0x13430, 0x1343f],
  [0x1bca0, 0x1bca3],
  [0x1d173, 0x1d17a],
  [0xe0001, 0xe0001],
  [0xe0020, 0xe007f],
  [0xe0100, 0xe01ef], // variation selectors 17-256 (Mn, not Cf)
];

/**
 * True for a code point that must not appear raw (TAB, LF, CR are NOT unsafe here).
 * Out of context: U+FE0E, U+FE0F and U+200D are unsafe here, and replaceUnsafe
 * keeps them only inside an emoji form.
 */
export function isUnsafeCodePoint(cp: number): boolean {
  if (cp >= 0x10000) {
    for (const [a, b] of ASTRAL_UNSAFE) if (cp >= a && cp <= b) return true;
    return false;
  }
  if (cp >= 0xd800 && cp <= 0xdfff) return true; // a lone surrogate (pairs arrive here combined)
  return BMP_UNSAFE.test(String.fromCharCode(cp));
}

/** The neutralizer's visible token, e.g. {U+202E}; DESIGN.md fixes this form. */
export function token(cp: number): string {
  return `{U+${cp.toString(16).toUpperCase().padStart(4, '0')}}`;
}

/**
 * Replaces every unsafe code point with format(cp). Returns the input itself
 * (no allocation) when nothing needs replacing, which is the common case.
 * `kept` says whether the U+FE0E, U+FE0F or U+200D at index i of s is an emoji
 * form to keep raw; it must judge as emojiFormAt would on the text as written.
 * The default is emojiFormAt itself, right for any s that is that text; a
 * caller passing text it has already escaped (ECS: JSON.stringify output, in
 * which "\u0001" ends in a digit that can pass for a keycap's) passes a
 * predicate that sees through its escapes (src/encode/ecs.ts).
 */
export function replaceUnsafe(s: string, format: (cp: number) => string = token, kept: (s: string, i: number) => boolean = emojiFormAt): string {
  if (!NOT_PRINTABLE_ASCII.test(s) || !MAYBE_UNSAFE.test(s)) return s;
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let cp = c;
    let width = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
        width = 2;
      }
    }
    if (isUnsafeCodePoint(cp) && !((cp === 0xfe0f || cp === 0xfe0e || cp === 0x200d) && kept(s, i))) {
      out += s.slice(last, i) + format(cp);
      last = i + width;
    }
    i += width - 1;
  }
  return last === 0 ? s : out + s.slice(last);
}
