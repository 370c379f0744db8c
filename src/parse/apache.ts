/**
 * The `apache` parser: `common`, `combined` and `vhost_combined`
 * (`%v:%p` first, mapped to url.domain / url.port). The format itself lives
 * in access-log.ts, shared with nginx.
 */
import type { Parser } from '../event/types.js';
import { parseAccessLineWithVhost } from './access-log.js';

export const parseApache: Parser = (line) => parseAccessLineWithVhost(line, 'apache');
