/**
 * Character tests for the parsers that read headers by hand instead of by
 * regex: each one answers exactly what the regex class it replaces would.
 */

/** True for what the regex class \s matches (so \S is its complement); c is a UTF-16 code unit. */
export function isRegexSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** The value of `len` ASCII digits (\d) at `at`, or -1. */
export function digitsAt(s: string, at: number, len: number): number {
  let v = 0;
  for (let i = at; i < at + len; i++) {
    const d = s.charCodeAt(i) - 48;
    // NaN past the end fails this test too.
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}
