/**
 * The `plain` parser: the line is the message, nothing else is claimed. It
 * never returns null, so it is the fallback of auto-detection.
 */
import type { ParseResult } from '../event/types.js';

export function parsePlain(line: string): ParseResult {
  return { parser: 'plain', message: line, fields: {} };
}
