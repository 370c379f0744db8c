/**
 * The `auto` parser: picks a parser per line from its first characters, so
 * mixed inputs (a syslog file with JSON payload lines, an access log with
 * stray lines) need no configuration.
 *
 *   '{'                                  -> json
 *   '<', "Mmm " month, "YYYY-MM-DDT"     -> auth when the program/message is an auth event, else syslog
 *   anything else                        -> access log (nginx/apache combined or common, apache vhost)
 *   nothing matched                      -> plain
 *
 * The syslog header is parsed once and shared by the auth and syslog mappings.
 * Access lines found here are reported as parser "access_log": nginx and
 * apache write the same format, and the line does not say which server wrote it.
 * Never throws: an exception in a parser (e.g. an injected sanitizer) yields a
 * plain result tagged parser_error, so one bad line never stops an input.
 */
import type { ParseContext, ParseResult, Parser } from '../event/types.js';
import { parseAccessLineWithVhost } from './access-log.js';
import { authFromSyslog } from './auth.js';
import { parsePlain } from './plain.js';
import { monthFromCodes } from './time.js';
import { parseSyslogHeader, syslogResult } from './syslog.js';

function syslogOrAuth(line: string, ctx: ParseContext): ParseResult | null {
  const rec = parseSyslogHeader(line, ctx);
  if (rec === null) return null;
  return authFromSyslog(rec) ?? syslogResult(rec, 'syslog');
}

function looksLikeSyslog(line: string, c: number): boolean {
  if (c === 60) return true;
  if (c >= 65 && c <= 90) return line.charCodeAt(3) === 32 && monthFromCodes(c, line.charCodeAt(1), line.charCodeAt(2)) !== -1;
  if (c >= 48 && c <= 57) return line.charCodeAt(4) === 45 && line.charCodeAt(10) === 84;
  return false;
}

function detect(line: string, ctx: ParseContext, json: Parser): ParseResult | null {
  let c = line.charCodeAt(0);
  if (c === 32 || c === 9) {
    let i = 1;
    while (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9) i++;
    c = line.charCodeAt(i) === 123 ? 123 : c;
  }
  if (c === 123) return json(line, ctx);
  if (looksLikeSyslog(line, c)) return syslogOrAuth(line, ctx);
  return parseAccessLineWithVhost(line, 'access_log');
}

/** The auto parser, with the (sanitizer-wired) json parser to use for '{' lines. */
export function createAutoParser(json: Parser): Parser {
  return (line, ctx) => {
    try {
      return detect(line, ctx, json) ?? parsePlain(line);
    } catch (err) {
      const reason = err instanceof Error ? err.name : 'unknown';
      return { parser: 'plain', message: line, fields: {}, tags: ['parser_error', `parser_error_${reason}`] };
    }
  };
}
