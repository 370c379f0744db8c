/** "HOST:PORT" or "[v6]:PORT" as typed on a command line. */
import { UsageError } from '../errors.js';

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen: expected HOST:PORT or [IPv6]:PORT, got ${JSON.stringify(s)}`);
  return { host: (m[1] ?? m[2])!, port };
}
