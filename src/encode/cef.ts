/**
 * ArcSight CEF:0 lines (reference/cef.md), in three steps that tests can reach
 * one by one: buildCef (ECS fields -> object form), normalizeCef (the agent's
 * text policies), serializeCef (escaping). decodeCef is the strict inverse.
 *
 * Text policies (applied by normalizeCef, so serializeCef(x) and
 * decodeCef(serializeCef(x)) agree with normalizeCef(x) exactly):
 * - Any unsafe character (unsafe-chars.ts) that the sanitizer somehow let
 *   through becomes the visible token {U+XXXX}; CEF has no \u escape.
 * - Header: CR, LF, TAB -> one space each; truncated to the ArcSight sizes
 *   (Vendor 63, Product 63, Version 31, Class ID 1023, Name 512) by code points
 *   BEFORE escaping, so an escape is never cut in half. Not trimmed.
 * - Extension values: TAB -> space, leading/trailing spaces trimmed, truncated
 *   to the dictionary length by code points (then trimmed again: a cut can leave
 *   a trailing space that parsers would eat), empty values omitted, and a
 *   csNLabel/cnNLabel/c6aNLabel (…) omitted when its value key is.
 * - Escaping: header \ -> \\, | -> \|; extension \ -> \\, = -> \=, CR -> \r,
 *   LF -> \n (a multiline message stays one line). Backslash first by
 *   construction: one pass, one replacement per character.
 * - Keys are fixed dictionary names matching ^[A-Za-z0-9]+$; never built from
 *   input. Consumer-owned keys and requestCookies are refused by the schema.
 *
 * Severity (no official mapping; ours): syslog 0 emerg -> 10, 1 alert -> 9,
 * 2 crit -> 8, 3 err -> 7, 4 warning -> 5, 5 notice -> 4, 6 info -> 3,
 * 7 debug -> 1. Always emitted as the integer.
 *
 * ECS -> extension, in this order (labels of custom fields are the ECS names):
 *   @timestamp -> rt (epoch ms); source.ip -> src (IPv4) or c6a2 + c6a2Label
 *   (IPv6: CEF:0 has no IPv6 src); source.port -> spt; destination.ip -> dst or
 *   c6a3; destination.port -> dpt; source.domain -> shost; destination.domain
 *   -> dhost; users (below); event.action -> act; event.outcome -> outcome;
 *   event.category -> cat (values joined by ","); event.reason, else
 *   error.message -> reason;
 *   network.protocol -> app; network.transport -> proto; http.request.method ->
 *   requestMethod; url.original -> request; http.response.status_code -> cn1
 *   (cn1Label); user_agent.original -> requestClientApplication;
 *   http.request.referrer -> requestContext; host.name -> dvchost (below);
 *   agent.id -> deviceExternalId (below);
 *   process.name -> deviceProcessName; process.pid -> dvcpid;
 *   log.file.path -> filePath; file.name -> fname; event.id -> externalId;
 *   message -> msg; tags -> cs1 (label "tags", joined by ","); event.original
 *   -> cs2 (label "event.original", 4000 code points: the longest string CEF
 *   has; rawEvent is not in the CEF:0 dictionary); event.dataset -> cs4.
 * Users: for an authentication event (event.category has "authentication") the
 *   user being logged into is the destination user: user.name -> duser, user.id
 *   -> duid, source.user.name -> suser, user.effective.name -> cs3. Otherwise
 *   user.name -> suser, user.id -> suid, and the identity acted as or upon
 *   (user.effective.name, else user.target.name, else destination.user.name)
 *   -> duser.
 * dvchost is the reporting device: the host the agent runs on (host.name, set
 *   by the builder from the host itself). host.hostname is what the line says
 *   (a syslog HOSTNAME, a journal _HOSTNAME) and stays in ECS only: CEF:0 has
 *   no key for the host a relayed line claims to come from (shost/dhost are
 *   the ends of a connection), and a line must not name the device.
 * deviceExternalId (the sending device's unique id; 255, the most agent.id
 *   may be) is agent.id, on every event: the SD label is outside the MAC, so
 *   `logward verify` places a start event, and checks a session's label, by the
 *   agent id sealed in the MSG (src/seal/README.md "Verifier"). On the start
 *   event only, a relabelled run whose start event was deleted went unseen
 *   (found by review: nothing sealed tied it to its agent).
 * Typed keys carry only what their CEF type can hold (src/parse/field-ranges.ts,
 *   the bounds the parsers keep fields within): rt is epoch
 *   milliseconds >= 0 and at most 9999-12-31, dvcpid a 32-bit Integer >= 0. A
 *   value outside (a parser's year 0001, a journal's SYSLOG_PID) leaves the key
 *   out rather than failing the whole event; the line is still in cs2.
 */
import type { EcsFields, FieldValue, LogEvent } from '../event/types.js';
import { LogwardError } from '../errors.js';
import { eventTimeFits, isPid } from '../parse/field-ranges.js';
import { emojiFormAt } from '../sanitize/neutralize.js';
import { EncodeError } from './encode-error.js';
import { NOT_PRINTABLE_ASCII, replaceUnsafe } from './unsafe-chars.js';

export interface CefOptions {
  vendor: string;
  product: string;
  version: string;
}

export const CEF_SEVERITY_WORDS = ['Unknown', 'Low', 'Medium', 'High', 'Very-High'] as const;
export type CefSeverityWord = (typeof CEF_SEVERITY_WORDS)[number];
export type CefSeverity = number | CefSeverityWord;

/** A CEF event before escaping. Extension keys keep their insertion order on the wire. */
export interface CefEvent {
  version: number;
  vendor: string;
  product: string;
  deviceVersion: string;
  classId: string;
  name: string;
  severity: CefSeverity;
  extension: Record<string, string>;
}

/** syslog severity (index) -> CEF severity. */
export const SYSLOG_TO_CEF_SEVERITY: readonly number[] = [10, 9, 8, 7, 5, 4, 3, 1];

/** CEF severity of a syslog severity; -1 (rejected by the schema) when it is not 0..7. */
export function cefSeverity(syslogSeverity: number): number {
  return SYSLOG_TO_CEF_SEVERITY[syslogSeverity] ?? -1;
}

export const HEADER_LIMITS = { vendor: 63, product: 63, deviceVersion: 31, classId: 1023, name: 512 } as const;

/** Dictionary lengths (code points) of string keys; typed keys (IP, integer, time) are absent. */
const EXT_LIMITS: Readonly<Record<string, number>> = {
  act: 63,
  app: 31,
  outcome: 63,
  proto: 31,
  externalId: 40,
  dvchost: 100,
  requestContext: 2048,
  deviceExternalId: 255,
  dntdom: 255,
  sntdom: 255,
  destinationDnsDomain: 255,
  sourceDnsDomain: 255,
  dtz: 255,
  fileHash: 255,
  flexString1Label: 128,
  flexString2Label: 128,
  flexDate1Label: 128,
  cs1: 4000,
  cs2: 4000,
  cs3: 4000,
  cs4: 4000,
  cs5: 4000,
  cs6: 4000,
};
/** Every other string key: msg, request, cat, suser, labels, … are 1023 in the dictionary. */
const DEFAULT_EXT_LIMIT = 1023;

/** Own keys only: a key named "constructor" or "toString" must not find Object.prototype's members as its limit (and go uncut). */
function extLimit(key: string): number {
  return Object.hasOwn(EXT_LIMITS, key) ? (EXT_LIMITS[key] as number) : DEFAULT_EXT_LIMIT;
}
const TYPED_KEYS = new Set([
  'rt', 'start', 'end', 'src', 'dst', 'dvc', 'spt', 'dpt', 'dvcpid', 'spid', 'dpid', 'cnt', 'fsize', 'in', 'out',
  'cn1', 'cn2', 'cn3', 'c6a1', 'c6a2', 'c6a3', 'c6a4', 'deviceDirection',
  'sourceTranslatedAddress', 'destinationTranslatedAddress', 'sourceTranslatedPort', 'destinationTranslatedPort',
]);

const KEY_RE = /^[A-Za-z0-9]+$/;
const LABEL_RE = /^(cs|cn|cfp|c6a|flexString|flexDate|deviceCustomDate)([0-9])Label$/;

export class CefDecodeError extends LogwardError {
  override readonly name = 'CefDecodeError';
  constructor(
    readonly problem: string,
    readonly offset: number,
  ) {
    super(`CEF @${offset}: ${problem}`);
  }
}

// ---------------------------------------------------------------- policies

/**
 * Truncates to at most max code points, never splitting a surrogate pair, and
 * never leaving a ZWJ or presentation selector that the cut parted from its
 * emoji: "👨‍👩" cut after its ZWJ would end in a raw invisible U+200D, which
 * the encoder only lets through inside an emoji form (src/encode/unsafe-chars.ts).
 */
export function truncateCodePoints(s: string, max: number): string {
  if (s.length <= max) return s;
  let cps = 0;
  for (let i = 0; i < s.length; i++) {
    if (cps === max) return withoutDanglingJoiner(s.slice(0, i));
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    cps++;
  }
  return s;
}

/** `cut` without trailing U+200D, U+FE0E or U+FE0F that no longer belong to an emoji form. */
export function withoutDanglingJoiner(cut: string): string {
  let t = cut;
  for (;;) {
    const c = t.charCodeAt(t.length - 1);
    if ((c !== 0x200d && c !== 0xfe0e && c !== 0xfe0f) || emojiFormAt(t, t.length - 1)) return t;
    t = t.slice(0, -1);
  }
}

/** An extension key, with what the text policies need to know of it. */
export interface CefKey {
  readonly name: string;
  /** Dictionary length in code points; Infinity for a typed key (IP, integer, time), which is never cut. */
  readonly limit: number;
  /** For a label key (cs1Label), the key whose value it labels (cs1). */
  readonly labelOf: string | undefined;
  /**
   * 2^i for the i-th key the ECS mapping writes, 0 for any other: the keys of a
   * mapped event, summed, name its key set, so that what the schema says of the
   * keys alone is settled once per set (src/encode/validate.ts).
   */
  readonly bit: number;
  /** i for the i-th key the mapping writes (MAPPED_KEY_NAMES), -1 for any other. */
  readonly index: number;
}

function makeKey(name: string, index: number): CefKey {
  const label = LABEL_RE.exec(name);
  return {
    name,
    limit: TYPED_KEYS.has(name) ? Infinity : extLimit(name),
    labelOf: label === null ? undefined : `${label[1]}${label[2]}`,
    bit: index < 0 ? 0 : 2 ** index,
    index,
  };
}

/** Every key buildCef can write (each at most once per event: its bit goes into the key-set number). */
export const MAPPED_KEY_NAMES = [
  'rt', 'src', 'c6a2Label', 'c6a2', 'spt', 'dst', 'c6a3Label', 'c6a3', 'dpt', 'shost', 'dhost', 'suser', 'duser', 'duid', 'suid',
  'act', 'outcome', 'cat', 'reason', 'app', 'proto', 'requestMethod', 'request', 'cn1Label', 'cn1', 'requestClientApplication',
  'requestContext', 'dvchost', 'deviceExternalId', 'deviceProcessName', 'dvcpid', 'filePath', 'fname', 'externalId', 'msg',
  'cs1Label', 'cs1', 'cs2Label', 'cs2', 'cs3Label', 'cs3', 'cs4Label', 'cs4',
] as const;
type MappedKeyName = (typeof MAPPED_KEY_NAMES)[number];
// 2^52 is the last power of two a double sums exactly with all smaller ones.
if (MAPPED_KEY_NAMES.length > 52) throw new Error('cef: too many mapped keys for a key-set number');
const MAPPED: Readonly<Record<MappedKeyName, CefKey>> = Object.fromEntries(
  MAPPED_KEY_NAMES.map((name, i) => [name, makeKey(name, i)]),
) as Record<MappedKeyName, CefKey>;

const MAX_KNOWN_KEYS = 1024;
const knownKeys = new Map<string, CefKey | null>();

/**
 * What the policies need to know about an extension key, or null when it is
 * not a valid key. Keys come from a small fixed dictionary, so the answer is
 * remembered instead of running two regexes per key per event.
 */
function keyInfo(key: string): CefKey | null {
  let info = knownKeys.get(key);
  if (info === undefined) {
    info = KEY_RE.test(key) ? makeKey(key, -1) : null;
    // Bounded: keys of hand-built CefEvents (tests, callers) must not grow it without end.
    if (knownKeys.size >= MAX_KNOWN_KEYS) knownKeys.clear();
    knownKeys.set(key, info);
  }
  return info;
}

function guard(s: string): string {
  return replaceUnsafe(s);
}

/**
 * Printable ASCII without "\" and "|": a header field that needs no guard, no
 * space for TAB/CR/LF and no escape.
 */
const HEADER_NEEDS_WORK = /[^\x20-\x5b\x5d-\x7b\x7d\x7e]/;

/** A header field as it will be on the wire, before escaping. */
export function headerText(s: string, limit: number): string {
  // Printable ASCII (the usual header) has nothing to guard and no TAB, CR or LF: one test instead of two.
  if (!NOT_PRINTABLE_ASCII.test(s)) return truncateCodePoints(s, limit);
  let t = guard(s);
  if (/[\t\n\r]/.test(t)) t = t.replace(/[\t\n\r]/g, ' ');
  return truncateCodePoints(t, limit);
}

function trimSpaces(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) === 32) a++;
  while (b > a && s.charCodeAt(b - 1) === 32) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** An extension value as it will be on the wire, before escaping ('' = omit). */
export function extensionText(key: string, s: string): string {
  let t = guard(s);
  if (t.includes('\t')) t = t.replace(/\t/g, ' ');
  t = trimSpaces(t);
  if (TYPED_KEYS.has(key)) return t;
  const cut = truncateCodePoints(t, extLimit(key));
  return cut === t ? t : trimSpaces(cut);
}

/**
 * Printable ASCII without "=" and "\": an extension value that needs no guard,
 * no TAB replacement and no escape. With no space at either end and no longer
 * than its key's limit, it is on the wire as it is, which is what most values are.
 */
const EXT_NEEDS_WORK = /[^\x20-\x3c\x3e-\x5b\x5d-\x7e]/;

function plainExtension(s: string, limit: number): boolean {
  const n = s.length;
  return n !== 0 && n <= limit && s.charCodeAt(0) !== 32 && s.charCodeAt(n - 1) !== 32 && !EXT_NEEDS_WORK.test(s);
}

/**
 * A CEF event before the text policies, its extension as parallel arrays in
 * wire order: what buildCef makes and serializeCef writes. Arrays instead of
 * an object because storing an object key by computed name costs a runtime
 * call per key, and reading it back another.
 */
export interface CefDraft {
  readonly header: Omit<CefEvent, 'extension'>;
  readonly keys: CefKey[];
  /** Values as given (not yet guarded, trimmed, cut or escaped). */
  readonly values: string[];
  /** The sum of the keys' bits, when every key is one the mapping writes (each once); -1 otherwise. */
  keySet: number;
}

/** The draft of an event in object form; throws EncodeError on a key that is not [A-Za-z0-9]+. */
export function cefDraftOf(ev: CefEvent): CefDraft {
  const keys: CefKey[] = [];
  const values: string[] = [];
  for (const key of Object.keys(ev.extension)) {
    const info = keyInfo(key);
    if (info === null) throw new EncodeError(`extension.${key}`, 'CEF keys must match ^[A-Za-z0-9]+$');
    keys.push(info);
    values.push(String(ev.extension[key]));
  }
  const { extension: _, ...header } = ev;
  return { header, keys, values, keySet: -1 };
}

/** The object form of a draft, keys in wire order. */
export function cefEventOf(d: CefDraft): CefEvent {
  const extension: Record<string, string> = {};
  for (let i = 0; i < d.keys.length; i++) extension[(d.keys[i] as CefKey).name] = d.values[i] as string;
  return { ...d.header, extension };
}

function checkSeverity(sev: CefSeverity): void {
  if (typeof sev === 'number' ? !Number.isInteger(sev) || sev < 0 || sev > 10 : !CEF_SEVERITY_WORDS.includes(sev)) {
    throw new EncodeError('severity', `not a CEF severity: ${String(sev)}`);
  }
}

/**
 * The extension with every text policy applied: values in wire order, or
 * undefined where a value (or the label of an omitted value) is omitted.
 * Escaped for the wire when `escape`; a plain value (plainExtension) needs
 * neither policy nor escape and is passed through as it is.
 */
function extensionTexts(d: CefDraft, escape: boolean): (string | undefined)[] {
  const { keys, values } = d;
  const texts = new Array<string | undefined>(keys.length);
  let omitted = false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as CefKey;
    const v = values[i] as string;
    if (plainExtension(v, k.limit)) {
      texts[i] = v;
      continue;
    }
    const t = extensionText(k.name, v);
    if (t === '') omitted = true;
    else texts[i] = escape ? escapeExtension(t) : t;
  }
  // A label (cs1Label) goes when the value it labels (cs1) is not there. The mapping writes a
  // label only with its value, so with nothing omitted a mapped draft has no label to drop.
  if (!omitted && d.keySet >= 0) return texts;
  for (let i = 0; i < keys.length; i++) {
    const of = (keys[i] as CefKey).labelOf;
    if (of === undefined || texts[i] === undefined) continue;
    let kept = false;
    for (let j = 0; j < keys.length && !kept; j++) kept = texts[j] !== undefined && (keys[j] as CefKey).name === of;
    if (!kept) texts[i] = undefined;
  }
  return texts;
}

function headerField(s: string, limit: number): string {
  return s.length <= limit && !HEADER_NEEDS_WORK.test(s) ? s : escapeHeader(headerText(s, limit));
}

/** The event as it will be on the wire, before escaping: every text policy applied. Throws EncodeError on a bad key or severity. */
export function normalizeCef(ev: CefEvent): CefEvent {
  checkSeverity(ev.severity);
  const d = cefDraftOf(ev);
  const texts = extensionTexts(d, false);
  const extension: Record<string, string> = {};
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (t !== undefined) extension[(d.keys[i] as CefKey).name] = t;
  }
  const h = d.header;
  return {
    version: h.version,
    vendor: headerText(h.vendor, HEADER_LIMITS.vendor),
    product: headerText(h.product, HEADER_LIMITS.product),
    deviceVersion: headerText(h.deviceVersion, HEADER_LIMITS.deviceVersion),
    classId: headerText(h.classId, HEADER_LIMITS.classId),
    name: headerText(h.name, HEADER_LIMITS.name),
    severity: h.severity,
    extension,
  };
}

// ---------------------------------------------------------------- escaping

function escapeHeader(s: string): string {
  return /[\\|]/.test(s) ? s.replace(/[\\|]/g, '\\$&') : s;
}

const EXT_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '=': '\\=', '\r': '\\r', '\n': '\\n' };

function escapeExtension(s: string): string {
  return /[\\=\r\n]/.test(s) ? s.replace(/[\\=\r\n]/g, (c) => EXT_ESCAPES[c] as string) : s;
}

/** The last "CEF:0|vendor|product|version|" written: the same three fields on every event of an agent. */
let lastPrefix: { vendor: string; product: string; deviceVersion: string; version: number; text: string } | undefined;

function headerPrefix(h: Omit<CefEvent, 'extension'>): string {
  const p = lastPrefix;
  if (p !== undefined && p.vendor === h.vendor && p.product === h.product && p.deviceVersion === h.deviceVersion && p.version === h.version) {
    return p.text;
  }
  const text =
    `CEF:${h.version}|${headerField(h.vendor, HEADER_LIMITS.vendor)}|${headerField(h.product, HEADER_LIMITS.product)}|` +
    `${headerField(h.deviceVersion, HEADER_LIMITS.deviceVersion)}|`;
  lastPrefix = { vendor: h.vendor, product: h.product, deviceVersion: h.deviceVersion, version: h.version, text };
  return text;
}

/** The CEF line (no trailing newline) of a draft. Throws EncodeError on a bad severity. */
export function serializeCefDraft(d: CefDraft): string {
  const h = d.header;
  checkSeverity(h.severity);
  let line = `${headerPrefix(h)}${headerField(h.classId, HEADER_LIMITS.classId)}|${headerField(h.name, HEADER_LIMITS.name)}|${h.severity}|`;
  const texts = extensionTexts(d, true);
  let first = true;
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (t === undefined) continue;
    line += first ? `${(d.keys[i] as CefKey).name}=${t}` : ` ${(d.keys[i] as CefKey).name}=${t}`;
    first = false;
  }
  return line;
}

/** The CEF line (no trailing newline) of an event in object form. Throws EncodeError on a bad key or severity. */
export function serializeCef(ev: CefEvent): string {
  checkSeverity(ev.severity);
  return serializeCefDraft(cefDraftOf(ev));
}

// ---------------------------------------------------------------- ECS -> CEF

function text(v: FieldValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

function hasAuth(v: FieldValue | undefined): boolean {
  return v === 'authentication' || (Array.isArray(v) && (v as unknown[]).includes('authentication'));
}

interface DraftBuilder {
  keys: CefKey[];
  values: string[];
  keySet: number;
}

function add(x: DraftBuilder, k: CefKey, t: string): void {
  x.keys.push(k);
  x.values.push(t);
  x.keySet += k.bit;
}

function put(x: DraftBuilder, k: CefKey, v: FieldValue | undefined): void {
  const t = text(v);
  if (t !== undefined && t !== '') add(x, k, t);
}

/** A custom key with its label (csN/cnN/c6aN); both or neither. */
function custom(x: DraftBuilder, label: CefKey, key: CefKey, labelText: string, v: FieldValue | undefined): void {
  const t = text(v);
  if (t === undefined || t === '') return;
  add(x, label, labelText);
  add(x, key, t);
}

/** An IPv4 address to its own key; IPv6 (CEF:0 has no IPv6 src/dst) to a c6a custom key. */
function ip(x: DraftBuilder, v4: CefKey, v6label: CefKey, v6: CefKey, labelText: string, v: FieldValue | undefined): void {
  const t = text(v);
  if (t === undefined || t === '') return;
  if (t.includes(':')) custom(x, v6label, v6, labelText, t);
  else add(x, v4, t);
}

/** A process id as CEF's dvcpid can hold it (a 32-bit Integer, and a pid is never negative), else undefined. */
function pidText(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && isPid(v) ? String(v) : undefined;
  if (typeof v === 'string' && /^(0|[1-9][0-9]{0,9})$/.test(v) && isPid(Number(v))) return v;
  return undefined;
}

/** The last @timestamp parsed, and its epoch milliseconds: lines of one second share it. */
let lastTs = '';
let lastMs = NaN;

function epochMs(ts: string): number {
  if (ts !== lastTs) {
    lastMs = Date.parse(ts);
    lastTs = ts;
  }
  return lastMs;
}

const K = MAPPED;

/** Maps an event to the CEF draft (unescaped, policies not yet applied): the keys in wire order. */
export function cefDraft(ev: LogEvent, opts: CefOptions): CefDraft {
  const f: Readonly<EcsFields> = ev.fields;
  const x: DraftBuilder = { keys: [], values: [], keySet: 0 };

  const ts = f['@timestamp'];
  if (typeof ts === 'string') {
    const ms = epochMs(ts);
    if (eventTimeFits(ms)) add(x, K.rt, String(ms));
  }
  ip(x, K.src, K.c6a2Label, K.c6a2, 'source.ip', f['source.ip']);
  put(x, K.spt, f['source.port']);
  ip(x, K.dst, K.c6a3Label, K.c6a3, 'destination.ip', f['destination.ip']);
  put(x, K.dpt, f['destination.port']);
  put(x, K.shost, f['source.domain']);
  put(x, K.dhost, f['destination.domain']);
  const auth = hasAuth(f['event.category']);
  if (auth) {
    put(x, K.suser, f['source.user.name']);
    put(x, K.duser, f['user.name']);
    put(x, K.duid, f['user.id']);
  } else {
    put(x, K.suser, f['user.name']);
    put(x, K.suid, f['user.id']);
    put(x, K.duser, f['user.effective.name'] ?? f['user.target.name'] ?? f['destination.user.name']);
  }
  put(x, K.act, f['event.action']);
  put(x, K.outcome, f['event.outcome']);
  put(x, K.cat, f['event.category']);
  put(x, K.reason, f['event.reason'] ?? f['error.message']);
  put(x, K.app, f['network.protocol']);
  put(x, K.proto, f['network.transport']);
  put(x, K.requestMethod, f['http.request.method']);
  put(x, K.request, f['url.original']);
  custom(x, K.cn1Label, K.cn1, 'http.response.status_code', f['http.response.status_code']);
  put(x, K.requestClientApplication, f['user_agent.original']);
  put(x, K.requestContext, f['http.request.referrer']);
  put(x, K.dvchost, f['host.name']);
  // `logward verify` reads the agent from this sealed id, never from the SD label (src/seal/README.md).
  put(x, K.deviceExternalId, f['agent.id']);
  put(x, K.deviceProcessName, f['process.name']);
  const pid = pidText(f['process.pid']);
  if (pid !== undefined) add(x, K.dvcpid, pid);
  put(x, K.filePath, f['log.file.path']);
  put(x, K.fname, f['file.name']);
  put(x, K.externalId, f['event.id']);
  put(x, K.msg, f['message']);
  custom(x, K.cs1Label, K.cs1, 'tags', f['tags']);
  custom(x, K.cs2Label, K.cs2, 'event.original', f['event.original']);
  if (auth) custom(x, K.cs3Label, K.cs3, 'user.effective.name', f['user.effective.name']);
  custom(x, K.cs4Label, K.cs4, 'event.dataset', f['event.dataset']);

  return {
    header: {
      version: 0,
      vendor: opts.vendor,
      product: opts.product,
      deviceVersion: opts.version,
      classId: ev.classId,
      name: ev.name,
      severity: cefSeverity(ev.severity),
    },
    keys: x.keys,
    values: x.values,
    keySet: x.keySet,
  };
}

/** Maps an event to the CEF object form (unescaped, policies not yet applied). */
export function buildCef(ev: LogEvent, opts: CefOptions): CefEvent {
  return cefEventOf(cefDraft(ev, opts));
}

/** The CEF line of an event (no validation: see encodeEvent in validate.ts). */
export function encodeCef(ev: LogEvent, opts: CefOptions): string {
  return serializeCefDraft(cefDraft(ev, opts));
}

// ---------------------------------------------------------------- decoding

/**
 * Strict parser, the exact inverse of serializeCef: decodeCef(serializeCef(x))
 * deep-equals normalizeCef(x). Rejects anything serializeCef cannot produce at
 * the syntax level: raw CR/LF, unknown escapes, a bare "=" inside a value,
 * malformed or duplicate keys, a bad severity.
 */
export function decodeCef(line: string): CefEvent {
  if (!line.startsWith('CEF:')) throw new CefDecodeError('does not start with "CEF:"', 0);
  const crlf = line.search(/[\r\n]/);
  if (crlf >= 0) throw new CefDecodeError('raw CR or LF', crlf);
  const header: string[] = [];
  let i = 4;
  let cur = '';
  while (header.length < 7) {
    if (i >= line.length) throw new CefDecodeError(`only ${header.length} of 7 header separators`, i);
    const c = line[i] as string;
    if (c === '\\') {
      const d = line[i + 1];
      if (d !== '\\' && d !== '|') throw new CefDecodeError('invalid escape in header (only \\\\ and \\|)', i);
      cur += d;
      i += 2;
    } else if (c === '|') {
      header.push(cur);
      cur = '';
      i++;
    } else {
      cur += c;
      i++;
    }
  }
  const [version, vendor, product, deviceVersion, classId, name, sev] = header as [
    string, string, string, string, string, string, string,
  ];
  if (!/^(0|[1-9][0-9]{0,3})$/.test(version)) throw new CefDecodeError(`bad version "${version}"`, 4);
  let severity: CefSeverity;
  if (/^([0-9]|10)$/.test(sev)) severity = Number(sev);
  else if ((CEF_SEVERITY_WORDS as readonly string[]).includes(sev)) severity = sev as CefSeverityWord;
  else throw new CefDecodeError(`bad severity "${sev}"`, i);
  return {
    version: Number(version),
    vendor,
    product,
    deviceVersion,
    classId,
    name,
    severity,
    extension: decodeExtension(line, i),
  };
}

function readKey(line: string, from: number, to: number): string {
  const key = line.slice(from, to);
  if (!KEY_RE.test(key)) throw new CefDecodeError(`bad extension key "${key}"`, from);
  return key;
}

function decodeExtension(line: string, start: number): Record<string, string> {
  const out: Record<string, string> = {};
  if (start >= line.length) return out;
  const set = (key: string, value: string, at: number): void => {
    if (Object.hasOwn(out, key)) throw new CefDecodeError(`duplicate key "${key}"`, at);
    out[key] = value;
  };
  const eq = line.indexOf('=', start);
  if (eq < 0) throw new CefDecodeError('extension without "key="', start);
  let key = readKey(line, start, eq);
  let keyAt = start;
  let value = '';
  // Where the last raw space was, in the line and in the decoded value: a bare
  // "=" means the word after that space is the next key.
  let spaceAt = -1;
  let spaceValueLen = 0;
  let i = eq + 1;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === '\\') {
      const d = line[i + 1];
      if (d === '\\' || d === '=') value += d;
      else if (d === 'n') value += '\n';
      else if (d === 'r') value += '\r';
      else throw new CefDecodeError('invalid escape in extension (only \\\\ \\= \\n \\r)', i);
      i += 2;
      continue;
    }
    if (c === '=') {
      if (spaceAt < 0) throw new CefDecodeError('unescaped "=" inside a value', i);
      set(key, value.slice(0, spaceValueLen), keyAt);
      key = readKey(line, spaceAt + 1, i);
      keyAt = spaceAt + 1;
      value = '';
      spaceAt = -1;
      i++;
      continue;
    }
    if (c === ' ') {
      spaceAt = i;
      spaceValueLen = value.length;
    }
    value += c;
    i++;
  }
  set(key, value, keyAt);
  return out;
}
