/**
 * One journal entry, as `journalctl -o json --all` prints it, mapped to a RawRecord.
 *
 * Pure: no I/O, no counters. The journald source calls it once per line.
 *
 * What journalctl's JSON looks like, and the traps:
 * - Every value is a string, except that a field whose bytes are not printable
 *   UTF-8 is an array of byte values ([97,98,255]) and a field that occurs
 *   several times in one entry is an array of those values (["a","b"] or
 *   [[97],[98]]). Without `--all`, fields over 4 KiB are printed as null; the
 *   source passes `--all`, a null is still handled (empty bytes, truncated).
 * - MESSAGE becomes the record's bytes, the real bytes: a non-UTF-8 MESSAGE is
 *   handed on as is, so the neutralizer shows the bad bytes as {0xNN} instead
 *   of a decoder replacing them silently.
 * - Metadata (SYSLOG_IDENTIFIER, _HOSTNAME, ...) only becomes a field when it
 *   is text; a field with non-UTF-8 bytes is left out and its name listed in
 *   `journald.unreadable_fields`, so the omission is visible in the event.
 * - SYSLOG_IDENTIFIER and SYSLOG_PID are chosen by the logging client and can
 *   be forged by any local process; _PID, _COMM, _EXE, _UID are added by
 *   journald itself. process.pid prefers _PID for that reason. process.name
 *   prefers SYSLOG_IDENTIFIER because that is what syslog and auth.log show
 *   ("sshd"), and the auth parser keys on it.
 * - _CMDLINE is deliberately not mapped: command lines carry passwords
 *   (`mysql -pSECRET`) in a field nobody expects to need redaction.
 * - ECS has no systemd/journald namespace; the unit goes to the custom field
 *   `journald.unit` (documented in docs/ARCHITECTURE.md by the lead).
 *
 * Identity: 'journal:<_MACHINE_ID>' (or 'journal:local' without one), the same
 * for every entry of one machine's journal, so (identity, cursor) and with it
 * event.id are stable across re-reads.
 */

import { isUtf8 } from 'node:buffer';
import type { EcsFields, RawRecord } from '../event/types.js';
import { cutLength } from '../sanitize/neutralize.js';

export interface JournalMapOptions {
  /** MESSAGE bytes beyond this are cut (the record is marked truncated). Default 64 KiB. */
  readonly maxMessageBytes?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

/** The identity of the journal an entry comes from. */
export function journalIdentity(machineId: string | undefined): string {
  return 'journal:' + (machineId ?? 'local');
}

const DIGITS = /^\d{1,15}$/;
const MICROS = /^\d{1,16}$/;

/**
 * Maps one parsed journalctl JSON object. Returns { error } when the object
 * cannot be a journal entry (no __CURSOR, a MESSAGE that is neither text nor
 * bytes); the caller ships the line anyway.
 */
export function journalRecordToRaw(
  obj: Record<string, unknown>,
  inputId: string,
  opts: JournalMapOptions = {},
): RawRecord | { error: string } {
  const cursor = obj['__CURSOR'];
  if (typeof cursor !== 'string' || cursor.length === 0) return { error: 'entry has no __CURSOR' };

  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const message = obj['MESSAGE'];
  let bytes: Buffer;
  let truncated = false;
  if (typeof message === 'string') {
    bytes = Buffer.from(message, 'utf8');
  } else if (message === undefined) {
    bytes = Buffer.alloc(0);
  } else if (message === null) {
    // journalctl prints null for a field it did not show in full.
    bytes = Buffer.alloc(0);
    truncated = true;
  } else {
    const b = valueBytes(message);
    if (b === undefined) return { error: 'MESSAGE is neither text nor bytes' };
    bytes = b;
  }
  if (bytes.length > maxBytes) {
    bytes = bytes.subarray(0, cutLength(bytes, maxBytes));
    truncated = true;
  }

  const fields: EcsFields = {};
  const unreadable: string[] = [];

  const realtime = obj['__REALTIME_TIMESTAMP'];
  if (typeof realtime === 'string' && MICROS.test(realtime)) {
    // µs since the epoch: 16 digits, exact in a double until the year 2255.
    fields['@timestamp'] = new Date(Math.floor(Number(realtime) / 1000)).toISOString();
  }
  const machineId = text(obj, '_MACHINE_ID', unreadable);
  const hostname = text(obj, '_HOSTNAME', unreadable);
  if (hostname !== undefined) fields['host.hostname'] = hostname;
  if (machineId !== undefined) fields['host.id'] = machineId;
  const pid = integer(text(obj, '_PID', unreadable)) ?? integer(text(obj, 'SYSLOG_PID', unreadable));
  if (pid !== undefined) fields['process.pid'] = pid;
  const name = text(obj, 'SYSLOG_IDENTIFIER', unreadable) ?? text(obj, '_COMM', unreadable);
  if (name !== undefined) fields['process.name'] = name;
  const exe = text(obj, '_EXE', unreadable);
  if (exe !== undefined) fields['process.executable'] = exe;
  const severity = integer(text(obj, 'PRIORITY', unreadable));
  if (severity !== undefined && severity <= 7) fields['log.syslog.severity.code'] = severity;
  const facility = integer(text(obj, 'SYSLOG_FACILITY', unreadable));
  if (facility !== undefined && facility <= 23) fields['log.syslog.facility.code'] = facility;
  const uid = text(obj, '_UID', unreadable);
  if (uid !== undefined) fields['user.id'] = uid;
  const gid = text(obj, '_GID', unreadable);
  if (gid !== undefined) fields['group.id'] = gid;
  const unit = text(obj, '_SYSTEMD_UNIT', unreadable);
  if (unit !== undefined) fields['journald.unit'] = unit;
  if (unreadable.length > 0) fields['journald.unreadable_fields'] = unreadable;

  const source = { input: inputId, identity: journalIdentity(machineId), cursor };
  return truncated ? { bytes, source, truncated, fields } : { bytes, source, fields };
}

/** A metadata field as text; a non-UTF-8 one is named in `unreadable` instead. */
function text(obj: Record<string, unknown>, name: string, unreadable: string[]): string | undefined {
  const v = obj[name];
  return v === undefined || typeof v === 'string' ? v : metadataText(v, name, unreadable);
}

/** Bytes of a non-string journal value: a byte array, or several values joined by LF. */
function valueBytes(v: unknown): Buffer | undefined {
  if (!Array.isArray(v)) return undefined;
  if (v.length === 0) return Buffer.alloc(0);
  if (typeof v[0] === 'number') return byteArray(v);
  // A field that occurs several times: keep every value. The LF between them
  // is not one the agent assembled, so the neutralizer will show it as a token.
  const parts: Buffer[] = [];
  for (const item of v as unknown[]) {
    const b = typeof item === 'string' ? Buffer.from(item, 'utf8') : byteArray(item);
    if (b === undefined) return undefined;
    if (parts.length > 0) parts.push(LF);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

const LF = Buffer.from('\n');

function byteArray(v: unknown): Buffer | undefined {
  if (!Array.isArray(v)) return undefined;
  for (const n of v as unknown[]) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 255) return undefined;
  }
  return Buffer.from(v as number[]);
}

/** Text of a non-string metadata value: the first of several values; bytes only when they are UTF-8. */
function metadataText(v: unknown, name: string, unreadable: string[]): string | undefined {
  const first: unknown = Array.isArray(v) ? v[0] : undefined;
  if (typeof first === 'string') return first;
  const b = typeof first === 'number' ? byteArray(v) : byteArray(first);
  if (b !== undefined && isUtf8(b)) return b.toString('utf8');
  unreadable.push(name);
  return undefined;
}

function integer(s: string | undefined): number | undefined {
  return s !== undefined && DIGITS.test(s) ? Number(s) : undefined;
}

