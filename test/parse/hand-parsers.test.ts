/**
 * The syslog header, access-log line, sudo message, IP test and month names
 * are read by hand for speed. Each hand reader must answer exactly what the
 * regex (or library call) it replaced answers: these tests keep those regexes
 * as the reference and compare on mutated real lines.
 */
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import type { EcsFields, ParseContext } from '../../src/event/types.js';
import { parseAccessLine } from '../../src/parse/access-log.js';
import { parseAuthMessage } from '../../src/parse/auth.js';
import { eventTimeFits } from '../../src/parse/field-ranges.js';
import { isIpAddress } from '../../src/parse/ip.js';
import { parseSyslogHeader } from '../../src/parse/syslog.js';
import { fromWallWithOffset, inferYearlessTime, monthIndex } from '../../src/parse/time.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'Europe/Berlin' };

/** Characters that sit on the edges of the formats: separators, digits, quotes, escapes, odd spaces. */
const EDGE = [' ', ' ', '  ', '\t', '\u00a0', '\u2028', '\u3000', '0', '1', '5', '9', 'a', 'Z', 'N', 'o', 'v', '"', '\\', '[', ']', '-',
  '+', ':', '/', '.', ';', '=', '_', '{', 'é', '\u{1F600}', ' ; ', 'COMMAND=', 'USER=', 'PWD=', 'TTY=', 'HTTP/1.1', ' "', '" '];

/** A line from `templates` with up to four random edits (replace, delete, insert, truncate). */
function mutated(templates: readonly string[]): fc.Arbitrary<string> {
  const edit = fc.record({ at: fc.nat(), op: fc.integer({ min: 0, max: 3 }), piece: fc.constantFrom(...EDGE) });
  return fc.tuple(fc.constantFrom(...templates), fc.array(edit, { maxLength: 4 })).map(([line, edits]) => {
    let s = line;
    for (const { at, op, piece } of edits) {
      const i = at % (s.length + 1);
      if (op === 0) s = s.slice(0, i) + piece + s.slice(i + 1);
      else if (op === 1) s = s.slice(0, i) + s.slice(i + 1);
      else if (op === 2) s = s.slice(0, i) + piece + s.slice(i);
      else s = s.slice(0, i);
    }
    return s;
  });
}

// ---- access log ----------------------------------------------------------------

const QUOTED = String.raw`"([^"\\]*(?:\\[^][^"\\]*)*)"`;
const RE_CORE = new RegExp(
  String.raw`(\S+) (\S+) (\S+) \[(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\] ` +
    QUOTED +
    String.raw` (\d{3}) (\d{1,18}|-)`,
  'y',
);
const RE_REFERER_UA = new RegExp(` ${QUOTED} ${QUOTED}`, 'y');
const RE_METHOD = /^[A-Za-z][A-Za-z_-]{0,31}$/;
const RE_PROTOCOL = /^HTTP\/(\d(?:\.\d)?)$/;

/** What the regex reading of an access line yields, in the parser's terms. */
function accessReference(line: string): Record<string, unknown> | null {
  RE_CORE.lastIndex = 0;
  const m = RE_CORE.exec(line);
  if (m === null) return null;
  const g = (i: number): string => m[i] as string;
  const month0 = monthIndex(g(5));
  const offset = (g(10) === '-' ? -1 : 1) * (Number(g(11)) * 60 + Number(g(12)));
  const ts = month0 === -1 || Number(g(12)) > 59
    ? undefined
    : fromWallWithOffset(Number(g(6)), month0, Number(g(4)), Number(g(7)), Number(g(8)), Number(g(9)), offset);
  // A time no encoder can write (before 1970, past 9999) is no event time: its text stays as json.timestamp.
  const fits = ts !== undefined && eventTimeFits(ts.getTime());
  const out: Record<string, unknown> = {
    addr: g(1),
    user: g(3),
    ts: fits ? ts.getTime() : undefined,
    stampText: fits ? undefined : `${g(4)}/${g(5)}/${g(6)}:${g(7)}:${g(8)}:${g(9)} ${g(10)}${g(11)}${g(12)}`,
    request: g(13),
    status: g(14),
    bytes: g(15),
  };
  const request = g(13);
  const s1 = request.indexOf(' ');
  if (s1 > 0 && RE_METHOD.test(request.slice(0, s1))) {
    const s2 = request.lastIndexOf(' ');
    const proto = s2 > s1 ? RE_PROTOCOL.exec(request.slice(s2 + 1)) : null;
    out['method'] = request.slice(0, s1);
    out['version'] = proto?.[1];
  }
  RE_REFERER_UA.lastIndex = RE_CORE.lastIndex;
  const extra = RE_REFERER_UA.exec(line);
  if (extra !== null) out['referer'] = extra[1];
  return out;
}

test('property: the access-log reader agrees with the regex it replaced', () => {
  const templates = [
    '203.0.1.4 - - [22/Nov/2026:10:01:02 +0000] "GET /index.html HTTP/1.1" 200 600 "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"',
    '203.0.1.5 - carol [22/Nov/2026:10:01:02 +0100] "POST /api/login?x=1 HTTP/1.1" 401 53 "https://shop.example.com/" "python-requests/2.32.3"',
    '2001:db8::1 - - [29/Feb/2024:23:59:60 -0530] "GET / HTTP/2.0" 304 - "-" "curl/8"',
    '10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "\\x16\\x03\\x01" 400 157 "-" "-"',
    '1.2.3.4 - - [22/Nov/2026:10:01:02 +0000] "M-SEARCH * HTTP/1" 200 0 "-\\" x" "a\\\\"',
    'h - u [22/Nov/2026:10:01:02 +0000] "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef /x HTTP/1.0" 200 12345678901234567890 "r" "u"',
    '203.0.1.6 - - [31/Dec/1969:23:59:59 +0000] "GET /gone HTTP/1.1" 000 0 "-" "curl/8"',
  ];
  fc.assert(
    fc.property(mutated(templates), (line) => {
      const ref = accessReference(line);
      const r = parseAccessLine(line, 0, 'nginx');
      if (ref === null) {
        assert.equal(r, null, line);
        return;
      }
      assert.ok(r !== null, line);
      const f: EcsFields = r.fields;
      const unesc = (s: string): string =>
        s.replace(/\\(["\\])|\\x(?:22|5[cC])/g, (w: string, ch: string | undefined) => ch ?? (w === '\\x22' ? '"' : '\\'));
      assert.equal(f['source.address'], ref['addr'] === '-' ? undefined : ref['addr'], line);
      assert.equal(f['user.name'], ref['user'] === '-' || ref['user'] === '' ? undefined : ref['user'], line);
      assert.equal(r.timestamp?.getTime(), ref['ts'], line);
      assert.equal(r.message, `${unesc(ref['request'] as string)} ${ref['status'] as string}`, line);
      assert.equal(f['json.timestamp'], ref['stampText'], line);
      // A status outside 100..599 (000, 999) is no status code: its text stays under json.*, the outcome unknown.
      const status = Number(ref['status']);
      const isStatus = status >= 100 && status <= 599;
      assert.equal(f['http.response.status_code'], isStatus ? status : undefined, line);
      assert.equal(f['json.http.response.status_code'], isStatus ? undefined : ref['status'], line);
      assert.equal(f['event.outcome'], !isStatus ? 'unknown' : status >= 400 ? 'failure' : 'success', line);
      const tags = [...(isStatus ? [] : ['field_type_mismatch']), ...(ref['ts'] === undefined ? ['timestamp_invalid'] : [])];
      assert.deepEqual(r.tags, tags.length > 0 ? tags : undefined, line);
      const bytes = Number(ref['bytes']);
      assert.equal(f['http.response.body.bytes'], Number.isSafeInteger(bytes) ? bytes : undefined, line);
      assert.equal(f['http.request.method'] ?? null, ref['method'] === undefined || f['url.original'] === undefined ? null : ref['method'], line);
      assert.equal(f['http.version'], ref['method'] === undefined ? undefined : ref['version'], line);
      const referer = ref['referer'] === undefined ? undefined : unesc(ref['referer'] as string);
      assert.equal(f['http.request.referrer'], referer === '-' || referer === '' ? undefined : referer, line);
    }),
    { numRuns: 5000 },
  );
});

// ---- syslog 3164 header -------------------------------------------------------

const RE_3164 = /([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\S+) /y;

test('property: the 3164 header reader agrees with the regex it replaced', () => {
  const templates = [
    'Nov 22 10:01:02 web01 sshd[800]: Failed password for invalid user alice from 203.0.1.2 port 1024 ssh2',
    'Nov  2 10:01:02 web01 sshd[801]: Accepted publickey for bob from 203.0.1.3 port 1025 ssh2',
    '<38>Feb 29 23:59:60 host su[12]: (to root) alice on pts/0',
    'Mar 29 02:30:00 host kernel: [12345.6] something happened',
    'Oct 25 02:30:59 h\u00e9 cron[1]: x',
  ];
  fc.assert(
    fc.property(mutated(templates), (line) => {
      const p = line.startsWith('<') ? line.indexOf('>') + 1 : 0;
      const rec = parseSyslogHeader(line, ctx);
      const c = line.charCodeAt(p);
      if (!(c >= 65 && c <= 90) || (p > 0 && !/^<\d{1,3}>$/.test(line.slice(0, p)))) return; // other header forms
      if (p > 0 && Number(line.slice(1, p - 1)) > 191) return;
      RE_3164.lastIndex = p;
      const m = RE_3164.exec(line);
      const month0 = m === null ? -1 : monthIndex(m[1] as string);
      if (m === null || month0 === -1) {
        assert.equal(rec, null, line);
        return;
      }
      assert.ok(rec !== null, line);
      assert.equal(rec.fields['host.hostname'], m[6], line);
      const t = inferYearlessTime(ctx.timeZone, ctx.now, undefined, month0, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
      assert.equal(rec.timestamp?.getTime(), t?.date.getTime(), line);
      assert.ok(line.endsWith(rec.message), line);
    }),
    { numRuns: 5000 },
  );
});

// ---- sudo ------------------------------------------------------------------------

/**
 * The old split/Map/regex reading of a sudo message (who, as whom, where, what; null when it is
 * none), with what it cannot know left out: more than one " ; COMMAND=" hides the command and
 * the head's end, more than one USER= before it the user run as, a second PWD= or free text
 * after a KEY=value (a value held " ; ") the working directory. The reason is the part before
 * any KEY=value.
 */
function sudoReference(message: string): Record<string, string | boolean | undefined> | null {
  const m = /^ *(\S+) : /.exec(message);
  if (m === null) return null;
  const rest = message.slice(m[0].length);
  const cmdAt = rest.startsWith('COMMAND=') ? 0 : rest.indexOf(' ; COMMAND=');
  const head = cmdAt === -1 ? rest : rest.slice(0, cmdAt);
  const command = cmdAt === -1 ? undefined : rest.slice(cmdAt === 0 ? 8 : cmdAt + 11);
  const commandKnown = cmdAt === -1 || !rest.slice(cmdAt + 1).includes(' ; COMMAND=');
  let reason: string | undefined;
  let split = false;
  const kv = new Map<string, string>();
  const seen = new Map<string, number>();
  for (const part of head.split(' ; ')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq > 0 && /^[A-Z_]+$/.test(part.slice(0, eq))) {
      const key = part.slice(0, eq);
      kv.set(key, part.slice(eq + 1));
      seen.set(key, (seen.get(key) ?? 0) + 1);
    } else if (seen.size > 0) split = true;
    else if (reason === undefined) reason = part;
    else return null;
  }
  if (!kv.has('USER') && !kv.has('PWD') && !kv.has('TTY')) return null;
  const runAsKnown = commandKnown && (seen.get('USER') ?? 0) <= 1;
  const pwdKnown = runAsKnown && (seen.get('PWD') ?? 0) <= 1 && !split;
  return {
    user: m[1],
    runAs: runAsKnown ? kv.get('USER') : undefined,
    pwd: pwdKnown ? kv.get('PWD') : undefined,
    command: commandKnown ? command : undefined,
    reason,
    ambiguous: !pwdKnown,
  };
}

test('property: the sudo reader agrees with the split/Map/regex reading it replaced, less what a line cannot tell', () => {
  const templates = [
    '   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx',
    'bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/root ; USER=root ; COMMAND=/bin/sh -c  id',
    'mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id',
    'eve : TTY=unknown ; PWD=/ ; USER=root ; ENV=A=b ; COMMAND=',
    'x : a password is required ; USER=root',
    'alice : TTY=pts/0 ; PWD=/tmp/x ; USER=nobody ; COMMAND=/usr/bin/id ; USER=root ; COMMAND=/bin/sh',
  ];
  fc.assert(
    fc.property(mutated(templates), (message) => {
      const ref = sudoReference(message);
      const f = parseAuthMessage('sudo', message);
      if (ref === null) {
        assert.equal(f, null, message);
        return;
      }
      if (f === null) {
        // Accepted by the reading but not an auth event: an unknown free-text reason.
        assert.ok(ref['reason'] !== undefined, message);
        return;
      }
      assert.equal(f['user.name'], ref['user'], message);
      assert.equal(f['user.effective.name'], ref['runAs'] === '' ? undefined : ref['runAs'], message);
      assert.equal(f['process.working_directory'], ref['pwd'] === '' ? undefined : ref['pwd'], message);
      assert.equal(f['process.command_line'], ref['command'] === '' ? undefined : ref['command'], message);
      const command = typeof ref['command'] === 'string' ? ref['command'] : '';
      const args = command.split(' ', 256).filter((a) => a !== '');
      assert.deepEqual(f['process.args'], command === '' || args.length === 0 ? undefined : args, message);
      assert.deepEqual(f['tags'], ref['ambiguous'] === true ? ['sudo_ambiguous'] : undefined, message);
      if (ref['reason'] === undefined) assert.equal(f['event.action'], 'authz_admin', message);
    }),
    { numRuns: 5000 },
  );
});

test('sudo arguments: the first 256 space-separated pieces, empty ones counted, then dropped', () => {
  for (const command of ['/bin/a  b   c ', ' x', `${'a '.repeat(300)}`, `${' '.repeat(255)}z`, `${' '.repeat(256)}z`, `${'a  '.repeat(200)}tail`]) {
    const f = parseAuthMessage('sudo', `u : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=${command}`);
    const args = command.split(' ', 256).filter((a) => a !== '');
    assert.deepEqual(f?.['process.args'], args.length > 0 ? args : undefined, JSON.stringify(command));
  }
});

// ---- small pieces ------------------------------------------------------------------

test('property: isIpAddress is isIP(s) !== 0 without a zone ID (the schema\'s ipv6 format has none)', () => {
  const piece = fc.constantFrom('0', '1', '2', '5', '9', '00', '25', '255', '256', '01', '192', '.', '.', ':', '::', 'a', 'f', 'ffff', '%eth0', ' ', '1.2.3.4');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 12 }).map((a) => a.join('')), (s) => {
      assert.equal(isIpAddress(s), isIP(s) !== 0 && !s.includes('%'), s);
    }),
    { numRuns: 20_000 },
  );
  for (const s of ['0.0.0.0', '255.255.255.255', '1.2.3.04', '1.2.3', '1.2.3.4.', '256.1.1.1', '::1', '2001:db8::1', '']) {
    assert.equal(isIpAddress(s), isIP(s) !== 0, s);
  }
  assert.equal(isIpAddress('fe80::1%eth0'), false);
});

test('monthIndex reads exactly the twelve English abbreviations, case-sensitive', () => {
  const names = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  names.forEach((n, i) => assert.equal(monthIndex(n), i));
  for (const s of ['jan', 'JAN', 'Jan ', 'Ja', '', 'Sept', 'constructor', 'toString', 'Jum', 'Mai', 'Dez']) assert.equal(monthIndex(s), -1, s);
});

test('year-less stamps read the same whatever was read before them (the per-minute memo is exact)', () => {
  // DST transition days in zones with whole-hour, half-hour and 30-minute shifts.
  const zones = ['Europe/Berlin', 'America/St_Johns', 'Australia/Lord_Howe', 'UTC'];
  const stamps: [number, number, number, number, number][] = [];
  for (const [month0, day] of [[2, 29], [9, 25], [3, 5], [9, 4], [10, 2], [2, 8]] as const) {
    for (let h = 0; h < 4; h++) for (const mi of [0, 1, 29, 30, 59]) for (const s of [0, 1, 30, 59, 60]) stamps.push([month0, day, h, mi, s]);
  }
  const now = new Date('2026-11-22T12:00:00Z');
  const read = (zone: string, [month0, day, h, mi, s]: [number, number, number, number, number]): string => {
    const t = inferYearlessTime(zone, now, undefined, month0, day, h, mi, s);
    return t === undefined ? 'undefined' : `${t.date.toISOString()} ${t.tags.join(',')}`;
  };
  for (const zone of zones) {
    const inOrder = stamps.map((st) => read(zone, st));
    // Each stamp right after a different second of its own minute, and right after another zone's.
    stamps.forEach((st, i) => {
      read(zone, [st[0], st[1], st[2], st[3], (st[4] + 17) % 60]);
      assert.equal(read(zone, st), inOrder[i], `${zone} ${st.join(' ')}`);
      read('Asia/Kolkata', st);
      assert.equal(read(zone, st), inOrder[i], `${zone} ${st.join(' ')} after another zone`);
    });
    // And backwards.
    for (let i = stamps.length - 1; i >= 0; i--) assert.equal(read(zone, stamps[i]!), inOrder[i], zone);
  }
});
