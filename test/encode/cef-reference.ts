/**
 * The ECS -> CEF mapping and the CEF line as they were written before the
 * draft form (src/encode/cef.ts, CefDraft): an object built key by key, the
 * text policies applied key by key, then escaped. Kept apart from src so that
 * the differential test of the draft path does not take its verdict from the
 * code it tests. Only the policy functions that did not change (headerText,
 * extensionText) are imported.
 */
import { cefSeverity, CEF_SEVERITY_WORDS, extensionText, HEADER_LIMITS, type CefEvent, type CefOptions } from '../../src/encode/cef.js';
import { EncodeError } from '../../src/encode/encode-error.js';
import type { EcsFields, FieldValue, LogEvent } from '../../src/event/types.js';
import { eventTimeFits, isPid } from '../../src/parse/field-ranges.js';
import { headerText } from '../../src/encode/cef.js';

function text(v: FieldValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

function hasAuth(v: FieldValue | undefined): boolean {
  return v === 'authentication' || (Array.isArray(v) && (v as unknown[]).includes('authentication'));
}

type Extension = Record<string, string>;

function put(x: Extension, key: string, v: FieldValue | undefined): void {
  const t = text(v);
  if (t !== undefined && t !== '') x[key] = t;
}

function custom(x: Extension, key: string, label: string, v: FieldValue | undefined): void {
  const t = text(v);
  if (t === undefined || t === '') return;
  x[`${key}Label`] = label;
  x[key] = t;
}

function ip(x: Extension, v4key: string, v6key: string, label: string, v: FieldValue | undefined): void {
  const t = text(v);
  if (t === undefined || t === '') return;
  if (t.includes(':')) custom(x, v6key, label, t);
  else x[v4key] = t;
}

function pidText(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && isPid(v) ? String(v) : undefined;
  if (typeof v === 'string' && /^(0|[1-9][0-9]{0,9})$/.test(v) && isPid(Number(v))) return v;
  return undefined;
}

export function referenceBuildCef(ev: LogEvent, opts: CefOptions): CefEvent {
  const f: Readonly<EcsFields> = ev.fields;
  const x: Extension = {};
  const ts = f['@timestamp'];
  if (typeof ts === 'string') {
    const ms = Date.parse(ts);
    if (eventTimeFits(ms)) x['rt'] = String(ms);
  }
  ip(x, 'src', 'c6a2', 'source.ip', f['source.ip']);
  put(x, 'spt', f['source.port']);
  ip(x, 'dst', 'c6a3', 'destination.ip', f['destination.ip']);
  put(x, 'dpt', f['destination.port']);
  put(x, 'shost', f['source.domain']);
  put(x, 'dhost', f['destination.domain']);
  const auth = hasAuth(f['event.category']);
  if (auth) {
    put(x, 'suser', f['source.user.name']);
    put(x, 'duser', f['user.name']);
    put(x, 'duid', f['user.id']);
  } else {
    put(x, 'suser', f['user.name']);
    put(x, 'suid', f['user.id']);
    put(x, 'duser', f['user.effective.name'] ?? f['user.target.name'] ?? f['destination.user.name']);
  }
  put(x, 'act', f['event.action']);
  put(x, 'outcome', f['event.outcome']);
  put(x, 'cat', f['event.category']);
  put(x, 'reason', f['event.reason'] ?? f['error.message']);
  put(x, 'app', f['network.protocol']);
  put(x, 'proto', f['network.transport']);
  put(x, 'requestMethod', f['http.request.method']);
  put(x, 'request', f['url.original']);
  custom(x, 'cn1', 'http.response.status_code', f['http.response.status_code']);
  put(x, 'requestClientApplication', f['user_agent.original']);
  put(x, 'requestContext', f['http.request.referrer']);
  put(x, 'dvchost', f['host.name']);
  put(x, 'deviceExternalId', f['agent.id']);
  put(x, 'deviceProcessName', f['process.name']);
  const pid = pidText(f['process.pid']);
  if (pid !== undefined) x['dvcpid'] = pid;
  put(x, 'filePath', f['log.file.path']);
  put(x, 'fname', f['file.name']);
  put(x, 'externalId', f['event.id']);
  put(x, 'msg', f['message']);
  custom(x, 'cs1', 'tags', f['tags']);
  custom(x, 'cs2', 'event.original', f['event.original']);
  if (auth) custom(x, 'cs3', 'user.effective.name', f['user.effective.name']);
  custom(x, 'cs4', 'event.dataset', f['event.dataset']);
  return {
    version: 0, vendor: opts.vendor, product: opts.product, deviceVersion: opts.version,
    classId: ev.classId, name: ev.name, severity: cefSeverity(ev.severity), extension: x,
  };
}

const LABEL_RE = /^(cs|cn|cfp|c6a|flexString|flexDate|deviceCustomDate)([0-9])Label$/;

function escapeHeader(s: string): string {
  return s.replace(/[\\|]/g, '\\$&');
}

function escapeExtension(s: string): string {
  return s.replace(/[\\=\r\n]/g, (c) => ({ '\\': '\\\\', '=': '\\=', '\r': '\\r', '\n': '\\n' })[c] as string);
}

export function referenceSerializeCef(ev: CefEvent): string {
  const sev = ev.severity;
  if (typeof sev === 'number' ? !Number.isInteger(sev) || sev < 0 || sev > 10 : !CEF_SEVERITY_WORDS.includes(sev)) {
    throw new EncodeError('severity', `not a CEF severity: ${String(sev)}`);
  }
  const present: string[] = [];
  const texts: string[] = [];
  for (const key of Object.keys(ev.extension)) {
    if (!/^[A-Za-z0-9]+$/.test(key)) throw new EncodeError(`extension.${key}`, 'CEF keys must match ^[A-Za-z0-9]+$');
    const v = extensionText(key, String(ev.extension[key]));
    if (v !== '') {
      present.push(key);
      texts.push(v);
    }
  }
  let line =
    `CEF:${ev.version}|${escapeHeader(headerText(ev.vendor, HEADER_LIMITS.vendor))}|${escapeHeader(headerText(ev.product, HEADER_LIMITS.product))}|` +
    `${escapeHeader(headerText(ev.deviceVersion, HEADER_LIMITS.deviceVersion))}|${escapeHeader(headerText(ev.classId, HEADER_LIMITS.classId))}|` +
    `${escapeHeader(headerText(ev.name, HEADER_LIMITS.name))}|${sev}|`;
  let first = true;
  for (let i = 0; i < present.length; i++) {
    const key = present[i] as string;
    const label = LABEL_RE.exec(key);
    if (label !== null && !present.includes(`${label[1]}${label[2]}`)) continue;
    line += `${first ? '' : ' '}${key}=${escapeExtension(texts[i] as string)}`;
    first = false;
  }
  return line;
}
