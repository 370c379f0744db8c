/**
 * Typed errors. Each carries where it happened (config path, file, offset) so
 * that the one line an operator reads says what to fix.
 */

import { neutralizeText } from './sanitize/neutralize.js';

export class LogwardError extends Error {
  override readonly name: string = 'LogwardError';
}

/** One problem with a configuration, at a config path such as "output.destination.hosts[0]". */
export class ConfigError extends LogwardError {
  override readonly name = 'ConfigError';
  constructor(
    readonly configPath: string,
    readonly problem: string,
  ) {
    super(`${configPath || '(root)'}: ${problem}`);
  }
}

/** Several config problems at once: validation reports all of them, not the first. */
export class ConfigErrors extends LogwardError {
  override readonly name = 'ConfigErrors';
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigError[],
  ) {
    super(`${file}: ${problems.length} problem(s)\n` + problems.map((p) => p.message).join('\n'));
  }
}

/** Bad command-line usage (exit 2). */
export class UsageError extends LogwardError {
  override readonly name = 'UsageError';
}

/** A file operation that failed, with the file and, where it matters, the offset. */
export class FileError extends LogwardError {
  override readonly name = 'FileError';
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly offset?: number,
    options?: { cause?: unknown },
  ) {
    super(`${file}${offset === undefined ? '' : `@${offset}`}: ${problem}`, options);
  }
}

/**
 * Text for the one line an operator reads in the journal: an error message or a child's stderr
 * can hold line breaks (one problem must stay one line, or it reads as several) and control or
 * bidi characters (a file name with ESC codes must not repaint the operator's terminal).
 * Line breaks with their surrounding blanks become "; ", other blank runs one space, unsafe
 * characters {U+XXXX} tokens; capped at maxChars.
 */
export function oneLine(text: string, maxChars = 300): string {
  // Capped before the patterns: the blank runs around a line break backtrack over a long blank run
  // (a child's stderr, an error quoting a file), so their cost grows with the square of the input.
  const cut = text.length > 4 * maxChars;
  const joined = (cut ? text.slice(0, 4 * maxChars) : text)
    .trim()
    // A line ending in a colon introduces the next one ("failed:\n  ENOSPC"): keep it as "failed: ENOSPC".
    .replace(/(:?)\s*[\r\n\u0085\u2028\u2029]+\s*/g, (_m, colon: string) => (colon ? ': ' : '; '))
    .replace(/[ \t\f\v]+/g, ' ');
  const safe = neutralizeText(joined).text;
  return safe.length <= maxChars && !cut ? safe : safe.slice(0, maxChars - 1) + '…';
}

/** An error's message (or a thrown non-Error's text) as one line, without its stack. */
export function errorLine(err: unknown, maxChars = 2000): string {
  return oneLine(err instanceof Error ? err.message : String(err), maxChars);
}
