/**
 * The `nginx` parser: nginx's default `combined` access log (and `main`-style
 * formats that start the same way; trailing extra fields are ignored).
 * The format itself lives in access-log.ts, shared with apache.
 */
import type { Parser } from '../event/types.js';
import { parseAccessLine } from './access-log.js';

export const parseNginx: Parser = (line) => parseAccessLine(line, 0, 'nginx');
