/**
 * Real journal files for the journald tests: entries are written in the
 * journal EXPORT format and turned into a journal file by the real
 * systemd-journal-remote, which journalctl then reads with --directory.
 *
 * Export format: `NAME=value\n` per field, an empty line ends an entry; a value
 * with LF or arbitrary bytes uses the binary form `NAME\n<le64 length><bytes>\n`.
 * All entries share one boot id and have increasing monotonic timestamps, so
 * journald orders entries of several files in the order they were written.
 */

import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BOOT_ID = 'c65b9c90b1aa41c48bc49dc6cfc83625';
export const MACHINE_ID = 'dec2adf5d549452faf57c56a95d46e70';
const BASE_US = 1_700_000_000_000_000;

function executable(paths: string[]): string | undefined {
  for (const p of paths) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here: try the next place
      continue;
    }
  }
  return undefined;
}

export const journalRemote = executable([
  '/lib/systemd/systemd-journal-remote',
  '/usr/lib/systemd/systemd-journal-remote',
]);
export const journalctl = executable(['/usr/bin/journalctl', '/bin/journalctl']);

/** Reason to skip, or false when both programs are there. */
export const skipJournal: string | false =
  journalRemote === undefined
    ? 'systemd-journal-remote not installed (Debian package systemd-journal-remote)'
    : journalctl === undefined
      ? 'journalctl not installed'
      : false;

export type ExportFields = Record<string, string | Buffer>;

/** One entry in export format. */
export function exportEntry(fields: ExportFields): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string' && !value.includes('\n')) {
      parts.push(Buffer.from(`${name}=${value}\n`, 'utf8'));
    } else {
      const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(data.length));
      parts.push(Buffer.from(`${name}\n`), len, data, Buffer.from('\n'));
    }
  }
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

export interface EntrySpec {
  readonly message: string | Buffer;
  readonly unit?: string;
  readonly ident?: string;
  readonly pid?: number;
  readonly priority?: number;
  readonly hostname?: string;
  readonly extra?: ExportFields;
}

/** Entry number n (its timestamps grow with n): the fields a real journald would add. */
export function entry(n: number, spec: EntrySpec): ExportFields {
  return {
    __REALTIME_TIMESTAMP: String(BASE_US + n * 1000),
    __MONOTONIC_TIMESTAMP: String(1_000_000 + n * 1000),
    _BOOT_ID: BOOT_ID,
    _MACHINE_ID: MACHINE_ID,
    _HOSTNAME: spec.hostname ?? 'web',
    _TRANSPORT: 'syslog',
    PRIORITY: String(spec.priority ?? 6),
    SYSLOG_FACILITY: '4',
    SYSLOG_IDENTIFIER: spec.ident ?? 'app',
    _PID: String(spec.pid ?? 1000 + (n % 1000)),
    _UID: '0',
    _SYSTEMD_UNIT: spec.unit ?? 'app.service',
    MESSAGE: spec.message,
    ...spec.extra,
  };
}

/**
 * Appends entries to the journal file `file` in `dir` (created when missing)
 * with systemd-journal-remote. Throws with its stderr when it did not write them all.
 */
export function writeJournal(dir: string, entries: readonly ExportFields[], file = 'remote.journal'): void {
  if (journalRemote === undefined) throw new Error('systemd-journal-remote not installed');
  const tmp = mkdtempSync(join(tmpdir(), 'logward-export-'));
  try {
    const exportFile = join(tmp, 'entries.export');
    writeFileSync(exportFile, Buffer.concat(entries.map(exportEntry)));
    const r = spawnSync(journalRemote, [`--output=${join(dir, file)}`, '--split-mode=none', exportFile], {
      encoding: 'utf8',
    });
    const wrote = /Finishing after writing (\d+) entries/.exec(r.stderr)?.[1];
    if (r.status !== 0 || Number(wrote) !== entries.length) {
      throw new Error(`systemd-journal-remote failed (status ${r.status}): ${r.stderr}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Runs journalctl on dir and returns the entries' JSON objects (a check of the fixture itself). */
export function readJournal(dir: string, extra: string[] = []): Record<string, unknown>[] {
  if (journalctl === undefined) throw new Error('journalctl not installed');
  const r = spawnSync(journalctl, [`--directory=${dir}`, '--output=json', '--all', '--no-pager', ...extra], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`journalctl failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
