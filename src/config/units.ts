/**
 * Duration and size strings of the configuration ("500ms", "5m", "64KiB").
 *
 * Decisions: a duration always needs its unit (a bare "30" could be seconds or
 * milliseconds, and guessing wrong turns a 30 s timeout into 30 ms); a size
 * without a unit is bytes. KiB/MiB/GiB/TiB are powers of 1024, KB/MB/GB/TB
 * powers of 1000, as their names say. A size must come out as a whole number
 * of bytes ("1.5B" is refused); a duration may be fractional milliseconds.
 * The accepted forms are exactly the patterns of schemas/config.schema.json.
 */

import { ConfigError } from '../errors.js';

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const SIZE_RE = /^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?$/;

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const BYTES_PER_UNIT: Readonly<Record<string, number>> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
};

/**
 * Milliseconds of a duration string such as "500ms", "10s", "1.5m", "7d".
 * Throws ConfigError (at `configPath`) for anything else, e.g. "5 minutes" or "30".
 */
export function parseDuration(text: string, configPath = ''): number {
  const m = DURATION_RE.exec(text);
  const unit = m?.[2] === undefined ? undefined : MS_PER_UNIT[m[2]];
  if (m === null || m[1] === undefined || unit === undefined) {
    throw new ConfigError(configPath, `not a duration: ${JSON.stringify(text)} (use a number and ms, s, m, h or d, such as 500ms or 5m)`);
  }
  const ms = Number(m[1]) * unit;
  if (!Number.isFinite(ms) || ms > Number.MAX_SAFE_INTEGER) {
    throw new ConfigError(configPath, `duration too large: ${JSON.stringify(text)}`);
  }
  return ms;
}

/**
 * Bytes of a size string such as "512", "512B", "64KiB", "1.5MiB", "1GB".
 * Throws ConfigError (at `configPath`) for anything else or a fractional byte count.
 */
export function parseSize(text: string, configPath = ''): number {
  const m = SIZE_RE.exec(text);
  const unit = m === null ? undefined : BYTES_PER_UNIT[m[2] ?? 'B'];
  if (m === null || m[1] === undefined || unit === undefined) {
    throw new ConfigError(configPath, `not a size: ${JSON.stringify(text)} (use a number and B, KiB, MiB, GiB, TiB, KB, MB, GB or TB, such as 64KiB)`);
  }
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) {
    throw new ConfigError(
      configPath,
      Number.isFinite(bytes) && bytes <= Number.MAX_SAFE_INTEGER
        ? `not a whole number of bytes: ${JSON.stringify(text)}`
        : `size too large: ${JSON.stringify(text)}`,
    );
  }
  return bytes;
}

/** The shortest exact duration string for a number of milliseconds ("90000" -> "90s"), for messages. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const per = MS_PER_UNIT[unit] ?? 1;
    if (ms >= per && ms % per === 0) return `${ms / per}${unit}`;
  }
  return `${ms}ms`;
}

/** The shortest exact 1024-based size string for a number of bytes ("65536" -> "64KiB"), for messages. */
export function formatSize(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const per = BYTES_PER_UNIT[unit] ?? 1;
    if (bytes >= per && bytes % per === 0) return `${bytes / per}${unit}`;
  }
  return `${bytes}B`;
}
