/**
 * The parser registry: configuration names -> Parser functions.
 */
import type { Parser } from '../event/types.js';
import { parseApache } from './apache.js';
import { parseAuth } from './auth.js';
import { createAutoParser } from './auto.js';
import { createJsonParser, type SanitizeValue } from './json.js';
import { parseNginx } from './nginx.js';
import { parsePlain } from './plain.js';
import { createRegexParser, RegexPatternError } from './regex.js';
import { parseSyslog } from './syslog.js';

export const PARSER_NAMES = ['auto', 'json', 'syslog', 'nginx', 'apache', 'auth', 'regex', 'plain'] as const;
export type ParserName = (typeof PARSER_NAMES)[number];

export interface ParserOptions {
  /** Neutralize + redact for strings that JSON.parse decoded (json and auto). */
  readonly sanitizeValue: SanitizeValue;
  /** The pattern of the regex parser (required for 'regex'). */
  readonly regex?: string;
}

/** The parser named `name`; throws RegexPatternError for a missing or unusable regex pattern. */
export function getParser(name: ParserName, opts: ParserOptions): Parser {
  switch (name) {
    case 'auto':
      return createAutoParser(createJsonParser(opts.sanitizeValue));
    case 'json':
      return createJsonParser(opts.sanitizeValue);
    case 'syslog':
      return parseSyslog;
    case 'nginx':
      return parseNginx;
    case 'apache':
      return parseApache;
    case 'auth':
      return parseAuth;
    case 'regex':
      if (opts.regex === undefined || opts.regex === '') throw new RegexPatternError('', 'the regex parser needs a pattern');
      return createRegexParser(opts.regex);
    case 'plain':
      return parsePlain;
  }
}

export { parseAuthMessage } from './auth.js';
export { createJsonParser, type SanitizeValue } from './json.js';
export { createRegexParser, RegexPatternError } from './regex.js';
export { isValidTimeZone } from './time.js';
