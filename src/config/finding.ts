/**
 * A finding about a configuration: where (as path segments, so that it can be
 * both printed in the user's terms and located in the YAML document) and what.
 * Errors fail the load and `logward check`; warnings are printed but do not.
 */

export type PathSegment = string | number;
export type ConfigPath = readonly PathSegment[];

export interface Finding {
  readonly path: ConfigPath;
  readonly problem: string;
  readonly severity: 'error' | 'warning';
}

export function error(path: ConfigPath, problem: string): Finding {
  return { path, problem, severity: 'error' };
}

export function warning(path: ConfigPath, problem: string): Finding {
  return { path, problem, severity: 'warning' };
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `output.destination.hosts[0]`, `alerts[1].when["event.category"]`; '' for the root. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Segments of an ajv instancePath (JSON pointer); all-digit segments are array indexes. */
export function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(?:0|[1-9]\d*)$/.test(s) ? Number(s) : s));
}

/** True when one path is the other or lies inside it: a finding at either makes data at the other untrustworthy. */
export function overlaps(a: ConfigPath, b: ConfigPath): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Levenshtein distance, for "did you mean" suggestions on short keys. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The closest candidate if it is close enough to be a likely typo, else undefined. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return bestD <= limit ? best : undefined;
}

/** A short rendering of a value the user wrote, for "(got …)". */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') {
    // A URL's path, query and user part can be the credential itself (a Slack or Teams
    // webhook): error messages reach journald and, on reload, the SIEM. Scheme and host only.
    const url = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^/?#@]*@)?([^/?#]*)/i.exec(v);
    if (url) return JSON.stringify(`${url[1]}${url[2]}/…`);
    return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  }
  return String(v);
}
