/**
 * `logward convert`: lines in, one encoded event per output line, no network.
 * The same RecordProcessor as the daemon, so what convert prints is what the
 * daemon would ship (minus the seal, which needs the key and the queue).
 */
import { createReadStream, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Readable, Writable } from 'node:stream';

import { assembleSyslog, syslogParts } from '../encode/rfc5424.js';
import { Counters } from '../monitor/counters.js';
import { UsageError } from '../errors.js';
import type { ParserName } from '../parse/index.js';
import { RegexPatternError } from '../parse/regex.js';
import { RecordProcessor, type OutputFormat } from '../processor.js';
import type { RedactKind } from '../sanitize/redact.js';
import { splitLines } from './lines.js';

export const DEFAULT_REDACT: readonly RedactKind[] = ['pan', 'national_id', 'password', 'credentials', 'api_keys', 'private_keys'];
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
export const DEFAULT_SD_ID = 'logward@32473';

export interface ConvertOptions {
  parser: ParserName;
  format: OutputFormat;
  syslog: boolean;
  /** A path, or '-' for stdin. */
  file: string;
  agentId?: string;
  regex?: string;
  timeZone?: string;
  now?: () => Date;
}

export async function runConvert(opts: ConvertOptions, io: { stdin: Readable; stdout: Writable }): Promise<Counters> {
  const counters = new Counters();
  const agentId = opts.agentId ?? hostname();
  let processor: RecordProcessor;
  try {
    processor = new RecordProcessor({
      agentId,
      parser: opts.parser,
      format: opts.format,
      cef: { vendor: 'logward', product: 'logward' },
      redact: { builtin: DEFAULT_REDACT, custom: [] },
      maxLineBytes: DEFAULT_MAX_LINE_BYTES,
      counters,
      ...(opts.regex !== undefined ? { regex: opts.regex } : {}),
      ...(opts.timeZone !== undefined ? { timeZone: opts.timeZone } : {}),
      ...(opts.now !== undefined ? { now: opts.now } : {}),
    });
  } catch (err) {
    // A pattern the parser refuses is the caller's argument, as in `logward check` (exit 2, one line).
    if (err instanceof RegexPatternError) throw new UsageError(`--regex: ${err.problem}`);
    throw err;
  }

  const fromStdin = opts.file === '-';
  // Resolve first: a missing file is a usage error (exit 2) before any stream exists to fail later.
  const path = fromStdin ? undefined : realpathSync(opts.file);
  const stream = path === undefined ? io.stdin : createReadStream(path, { highWaterMark: 256 * 1024 });
  const records = splitLines(stream, {
    input: 'convert',
    identity: fromStdin ? 'stdin' : `file:${path}`,
    maxLineBytes: DEFAULT_MAX_LINE_BYTES,
    counters,
    ...(path !== undefined ? { path } : {}),
  });

  const host = hostname();
  let out = '';
  for await (const raw of records) {
    counters.add('lines_read');
    const rec = processor.process(raw);
    let line = rec.payload;
    if (opts.syslog) {
      const parts = syslogParts(rec.event, rec.payload, {
        sdId: DEFAULT_SD_ID,
        msgId: opts.format === 'ecs' ? 'ECS' : 'CEF',
        agentId,
        hostname: host,
      });
      line = assembleSyslog(parts);
    }
    out += line + '\n';
    // Write in chunks and honour backpressure: a slow reader of stdout must not make us buffer the input.
    if (out.length >= 64 * 1024) {
      await write(io.stdout, out);
      out = '';
    }
  }
  if (out.length > 0) await write(io.stdout, out);
  return counters;
}

function write(stream: Writable, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = stream.write(data, (err) => {
      if (err) reject(err);
    });
    if (ok) resolve();
    else stream.once('drain', resolve);
  });
}
