/**
 * Authentication lines from sshd, sudo, su, login and PAM modules, as found in
 * auth.log / secure (RFC 3164 or 5424 header) or in the journal (program and
 * message apart: parseAuthMessage gives both the same mapping).
 *
 * Design notes:
 * - Dispatch is by program first, then by the message's first word, so each
 *   line meets at most a couple of anchored regexes.
 * - The user name in sshd messages is attacker-controlled and comes BEFORE
 *   the address sshd appends ("Failed password for invalid user X from IP port
 *   N ssh2"). The user capture is greedy and the tail anchored at the end, so
 *   a user name that itself contains "from 6.6.6.6 port 22" cannot move
 *   source.ip: the last "from … port …" is the real one.
 * - Categorization obeys the ECS pairing table: authentication and session
 *   take start/end/info only (a failed login is type start + outcome failure,
 *   there is no "denied" for authentication); sudo runs are process/start.
 * - event.action uses the OWASP logging vocabulary where a name fits
 *   (authn_login_success, authn_login_fail, authn_login_fail_max, authz_fail,
 *   authz_admin for commands run through sudo, session_created); where none
 *   fits, a plain descriptive name (session_closed, ssh_disconnect).
 * - A PAM auth failure and sshd's own "Failed password" both describe one
 *   attempt on Debian-like systems; both are failures here, as in Elastic's
 *   system module. Rules that count failures see both.
 * - Unknown messages from known programs return null: the line stays a plain
 *   syslog event rather than a guessed security event.
 */
import type { EcsFields, ParseResult, Parser } from '../event/types.js';
import { isRegexSpace } from './chars.js';
import { isPort } from './field-ranges.js';
import { ipOfAddress } from './ip.js';
import { parseSyslogHeader, syslogResult, type SyslogRecord } from './syslog.js';

const MAX_ARGS = 256;

const RE_ACCEPTED = /^Accepted (\S+) for (.*) from (\S+) port (\d{1,5})(?: ssh2)?(?:: .*| \[preauth\])?$/s;
const RE_FAILED = /^Failed (\S+) for (invalid user )?(.*) from (\S+) port (\d{1,5})(?: ssh2)?(?:: .*| \[preauth\])?$/s;
const RE_INVALID = /^Invalid user (.*) from (\S+)(?: port (\d{1,5}))?(?: \[preauth\])?$/s;
const RE_NOT_ALLOWED = /^User (.*) from (\S+) not allowed because (.{1,200})$/s;
const RE_MAX_ATTEMPTS =
  /^maximum authentication attempts exceeded for (invalid user )?(.*) from (\S+) port (\d{1,5})(?: ssh2)?(?: \[preauth\])?$/s;
const RE_DISCONNECT =
  /^(?:Disconnected from|Connection closed by|Connection reset by) (?:(invalid|authenticating) )?(?:user (.*) )?(\S+) port (\d{1,5})( \[preauth\])?$/s;
/** OpenSSH before 7.5 wrote no port. */
const RE_DISCONNECT_OLD = /^Connection closed by (\S+)( \[preauth\])?$/;
const RE_RECEIVED_DISCONNECT = /^Received disconnect from (\S+?)(?: port (\d{1,5}))?:(\d+): /;
const RE_PAM_AUTH_FAIL = /^pam_[A-Za-z0-9_]+\([^:)]*:auth\): authentication failure;/;
const RE_PAM_SESSION =
  /^pam_[A-Za-z0-9_]+\([^:)]*:session\): session (opened|closed) for user ([^\s(]+)(?:\(uid=(\d+)\))?(?: by ([^\s(]*)(?:\(uid=(\d+)\))?)?/;
const RE_KV = /(\w+)=(\S*)/g;
const RE_SUDO_BAD_PASSWORD = /^(\d+) incorrect password attempts?$/;
const SUDO_DENIALS = new Set([
  'user NOT in sudoers',
  'user NOT authorized on host',
  'command not allowed',
  'a password is required',
  'no tty present and no askpass program specified',
  'a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper',
]);
const RE_SU_TO = /^\(to (\S+)\) (\S+) on (\S+)$/;
const RE_SU_SHADOW = /^(Successful|FAILED) su for (\S+) by (\S+)$/;
const RE_LOGIN_FAILED = /^FAILED LOGIN \(\d+\) on '([^']*)'(?: from '([^']*)')? FOR '([^']*)', /;
const RE_ROOT_LOGIN = /^ROOT LOGIN {1,2}on '([^']*)'(?: from '([^']*)')?/;

type Outcome = 'success' | 'failure' | 'unknown';

function base(f: EcsFields, categories: string[], types: string[], outcome: Outcome, action: string): EcsFields {
  f['event.kind'] = 'event';
  f['event.category'] = categories;
  f['event.type'] = types;
  f['event.outcome'] = outcome;
  f['event.action'] = action;
  return f;
}

function addUser(f: EcsFields, name: string | undefined): void {
  if (name === undefined || name === '') return;
  f['user.name'] = name;
  addRelatedUser(f, name);
}

function addEffectiveUser(f: EcsFields, name: string | undefined): void {
  if (name === undefined || name === '') return;
  f['user.effective.name'] = name;
  addRelatedUser(f, name);
}

function addRelatedUser(f: EcsFields, name: string): void {
  const related = f['related.user'] as string[] | undefined;
  if (related === undefined) f['related.user'] = [name];
  else if (!related.includes(name)) related.push(name);
}

function addSource(f: EcsFields, address: string | undefined, port: string | undefined): void {
  if (address === undefined || address === '') return;
  f['source.address'] = address;
  const ip = ipOfAddress(address);
  if (ip !== undefined) {
    f['source.ip'] = ip;
    f['related.ip'] = [ip];
  } else {
    f['source.domain'] = address;
  }
  if (port !== undefined) {
    const n = Number(port);
    if (isPort(n)) f['source.port'] = n;
  }
}

function sshNetwork(f: EcsFields): EcsFields {
  f['network.transport'] = 'tcp';
  f['network.protocol'] = 'ssh';
  return f;
}

function sshd(message: string, out: EcsFields): EcsFields | null {
  // OpenSSH 8+ prefixes some lines with "error: " (log level), e.g. maximum attempts.
  const msg = message.startsWith('error: ') ? message.slice(7) : message;
  let m: RegExpExecArray | null;
  switch (msg.charCodeAt(0)) {
    case 65: // A
      if ((m = RE_ACCEPTED.exec(msg)) !== null) {
        const f = base(out, ['authentication'], ['start'], 'success', 'authn_login_success');
        addUser(f, m[2]);
        addSource(f, m[3], m[4]);
        return sshNetwork(f);
      }
      return null;
    case 70: // F
      if ((m = RE_FAILED.exec(msg)) !== null) {
        const f = base(out, ['authentication'], ['start'], 'failure', 'authn_login_fail');
        if (m[2] !== undefined) f['event.reason'] = 'invalid user';
        addUser(f, m[3]);
        addSource(f, m[4], m[5]);
        return sshNetwork(f);
      }
      return null;
    case 73: // I
      if ((m = RE_INVALID.exec(msg)) !== null) {
        const f = base(out, ['authentication'], ['start'], 'failure', 'authn_login_fail');
        f['event.reason'] = 'invalid user';
        addUser(f, m[1]);
        addSource(f, m[2], m[3]);
        return sshNetwork(f);
      }
      return null;
    case 85: // U
      if ((m = RE_NOT_ALLOWED.exec(msg)) !== null) {
        const f = base(out, ['authentication'], ['start'], 'failure', 'authn_login_fail');
        f['event.reason'] = `not allowed because ${m[3] as string}`;
        addUser(f, m[1]);
        addSource(f, m[2], undefined);
        return sshNetwork(f);
      }
      return null;
    case 109: // m
      if ((m = RE_MAX_ATTEMPTS.exec(msg)) !== null) {
        const f = base(out, ['authentication'], ['info'], 'failure', 'authn_login_fail_max');
        f['event.reason'] = m[1] !== undefined ? 'maximum authentication attempts exceeded; invalid user' : 'maximum authentication attempts exceeded';
        addUser(f, m[2]);
        addSource(f, m[3], m[4]);
        return sshNetwork(f);
      }
      return null;
    case 67: // C
    case 68: // D
      if ((m = RE_DISCONNECT.exec(msg)) !== null) {
        const qualifier = m[1];
        const preauth = m[5] !== undefined || qualifier !== undefined;
        const f = preauth
          ? base(out, ['authentication'], ['end'], 'unknown', 'ssh_disconnect')
          : base(out, ['session'], ['end'], m[2] !== undefined ? 'success' : 'unknown', 'ssh_disconnect');
        if (qualifier === 'invalid') f['event.reason'] = 'invalid user';
        addUser(f, m[2]);
        addSource(f, m[3], m[4]);
        return sshNetwork(f);
      }
      if ((m = RE_DISCONNECT_OLD.exec(msg)) !== null) {
        const f = m[2] !== undefined
          ? base(out, ['authentication'], ['end'], 'unknown', 'ssh_disconnect')
          : base(out, ['session'], ['end'], 'unknown', 'ssh_disconnect');
        addSource(f, m[1], undefined);
        return sshNetwork(f);
      }
      return null;
    case 82: // R
      if ((m = RE_RECEIVED_DISCONNECT.exec(msg)) !== null) {
        const f = msg.endsWith(' [preauth]')
          ? base(out, ['authentication'], ['end'], 'unknown', 'ssh_disconnect')
          : base(out, ['session'], ['end'], 'unknown', 'ssh_disconnect');
        addSource(f, m[1], m[2]);
        return sshNetwork(f);
      }
      return null;
    default:
      return null;
  }
}

/** `key=value` pairs of a PAM failure line (`logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root`). */
function pamPairs(tail: string): Map<string, string> {
  const out = new Map<string, string>();
  RE_KV.lastIndex = 0;
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = RE_KV.exec(tail)) !== null && n < 16) {
    out.set(m[1] as string, m[2] as string);
    n++;
  }
  return out;
}

function pam(message: string, out: EcsFields): EcsFields | null {
  let m = RE_PAM_AUTH_FAIL.exec(message);
  if (m !== null) {
    const f = base(out, ['authentication'], ['start'], 'failure', 'authn_login_fail');
    f['event.reason'] = 'authentication failure';
    // Only the short tail: PAM writes a handful of pairs, an attacker may write megabytes.
    const kv = pamPairs(message.slice(m[0].length, m[0].length + 1024));
    const user = kv.get('user');
    const ruser = kv.get('ruser');
    if (ruser !== undefined && ruser !== '' && user !== undefined && user !== '' && ruser !== user) {
      // su/sudo: ruser asks to become user.
      addUser(f, ruser);
      addEffectiveUser(f, user);
    } else {
      addUser(f, user !== undefined && user !== '' ? user : ruser);
    }
    addSource(f, kv.get('rhost'), undefined);
    return f;
  }
  m = RE_PAM_SESSION.exec(message);
  if (m !== null) {
    const opened = m[1] === 'opened';
    const f = base(out, ['session'], [opened ? 'start' : 'end'], 'success', opened ? 'session_created' : 'session_closed');
    const target = m[2] as string;
    const by = m[4];
    if (by !== undefined && by !== '' && by !== target) {
      // "session opened for user root(uid=0) by alice(uid=1000)": alice acts as root.
      addUser(f, by);
      if (m[5] !== undefined) f['user.id'] = m[5];
      addEffectiveUser(f, target);
      if (m[3] !== undefined) f['user.effective.id'] = m[3];
    } else {
      addUser(f, target);
      if (m[3] !== undefined) f['user.id'] = m[3];
    }
    return f;
  }
  return null;
}

/** Index where `^ *(\S+) : ` (the invoking user of a sudo line) has its user end, or -1. */
function sudoUserEnd(message: string, start: number): number {
  let i = start;
  const n = message.length;
  while (i < n && !isRegexSpace(message.charCodeAt(i))) i++;
  if (i === start || message.charCodeAt(i) !== 32 || message.charCodeAt(i + 1) !== 58 || message.charCodeAt(i + 2) !== 32) return -1;
  return i;
}

/** True when s[from, to) is non-empty and all of A-Z and '_' (a sudo key such as USER or TTY). */
function isSudoKey(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || c === 95)) return false;
  }
  return true;
}

/**
 * The words of a command line: command.split(' ', MAX_ARGS) without the empty
 * ones, by indexOf (split with a limit plus filter cost more than the rest of
 * the sudo mapping). The first MAX_ARGS pieces count, empty ones included.
 */
function commandArgs(command: string): string[] {
  const args: string[] = [];
  let from = 0;
  for (let pieces = 0; pieces < MAX_ARGS; pieces++) {
    const sp = command.indexOf(' ', from);
    const end = sp === -1 ? command.length : sp;
    if (end > from) args.push(command.slice(from, end));
    if (sp === -1) break;
    from = sp + 1;
  }
  return args;
}

/** Tag of a sudo line whose PWD or command hides which USER= and COMMAND= are sudo's own. */
export const TAG_SUDO_AMBIGUOUS = 'sudo_ambiguous';

/**
 * sudo's "user : [reason ; ]KEY=value ; ... ; COMMAND=cmd". Read with indexOf
 * over the message rather than split/Map/regex per part: every sudo line comes
 * through here.
 *
 * sudo escapes neither PWD nor the command, and the command is last and free:
 * a directory named "x ; USER=nobody ; COMMAND=/usr/bin/id" or a command
 * "id ; USER=root ; COMMAND=/bin/sh" puts the same text in the line. So:
 * - more than one " ; COMMAND=": any of them may be sudo's; the command, and
 *   with it where the head ends, cannot be known: no effective user, no
 *   process.* at all;
 * - one COMMAND= (sudo's), more than one USER= before it: the command is
 *   known, the user it ran as and the PWD are not;
 * - a second PWD=, or free text after a KEY=value: a value held " ; ", the
 *   PWD is not known.
 * Such a line keeps its message, user.name (the first word, before any
 * value) and its classification (the reason comes before any value), and is
 * tagged sudo_ambiguous. A USER= after the one COMMAND= is the command's text.
 */
function sudo(message: string, out: EcsFields, tags: string[]): EcsFields | null {
  let userStart = 0;
  while (message.charCodeAt(userStart) === 32) userStart++;
  const userEnd = sudoUserEnd(message, userStart);
  if (userEnd === -1) return null;
  const restAt = userEnd + 3;
  const cmdAt = message.startsWith('COMMAND=', restAt) ? restAt : message.indexOf(' ; COMMAND=', restAt);
  const commandKnown = cmdAt === -1 || message.indexOf(' ; COMMAND=', cmdAt + 1) === -1;
  const headEnd = cmdAt === -1 ? message.length : cmdAt;
  const command = cmdAt === -1 ? undefined : message.slice(cmdAt === restAt ? restAt + 8 : cmdAt + 11);
  // The parts of the head, split on " ; ": at most one free-text reason first, then KEY=value pairs.
  let reason: string | undefined;
  let runAs: string | undefined;
  let pwd: string | undefined;
  let keys = 0; // USER, PWD or TTY seen
  let users = 0;
  let pwds = 0;
  let keyed = false; // any KEY=value seen: sudo's reason comes before all of them
  let split = false; // free text after a KEY=value: some value held " ; "
  let p = restAt;
  while (p <= headEnd) {
    let end = message.indexOf(' ; ', p);
    if (end === -1 || end > headEnd - 3) end = headEnd;
    if (end > p) {
      const eq = message.indexOf('=', p);
      if (eq > p && eq < end && isSudoKey(message, p, eq)) {
        keyed = true;
        const len = eq - p;
        if (len === 4 && message.startsWith('USER', p)) {
          runAs = message.slice(eq + 1, end);
          users++;
          keys++;
        } else if (len === 3 && message.startsWith('PWD', p)) {
          pwd = message.slice(eq + 1, end);
          pwds++;
          keys++;
        } else if (len === 3 && message.startsWith('TTY', p)) {
          keys++;
        }
      } else if (keyed) {
        split = true;
      } else if (reason === undefined) {
        reason = message.slice(p, end);
      } else {
        return null;
      }
    }
    p = end + 3;
  }
  if (keys === 0) return null;
  let f: EcsFields;
  if (reason === undefined) {
    f = base(out, ['process'], ['start'], 'success', 'authz_admin');
  } else if (RE_SUDO_BAD_PASSWORD.test(reason)) {
    f = base(out, ['authentication', 'process'], ['start'], 'failure', 'authn_login_fail');
    f['event.reason'] = 'incorrect password attempts';
  } else if (SUDO_DENIALS.has(reason)) {
    f = base(out, ['process'], ['start'], 'failure', 'authz_fail');
    f['event.reason'] = reason;
  } else {
    return null;
  }
  const runAsKnown = commandKnown && users <= 1;
  const pwdKnown = runAsKnown && pwds <= 1 && !split;
  if (!pwdKnown) tags.push(TAG_SUDO_AMBIGUOUS);
  addUser(f, message.slice(userStart, userEnd));
  if (runAsKnown) addEffectiveUser(f, runAs);
  if (pwdKnown && pwd !== undefined && pwd !== '') f['process.working_directory'] = pwd;
  if (commandKnown && command !== undefined && command !== '') {
    f['process.command_line'] = command;
    const args = commandArgs(command);
    if (args.length > 0) {
      const exe = args[0] as string;
      f['process.args'] = args;
      f['process.executable'] = exe;
      const slash = exe.lastIndexOf('/');
      f['process.name'] = slash === -1 ? exe : exe.slice(slash + 1) || exe;
    }
  }
  return f;
}

function su(message: string, out: EcsFields): EcsFields | null {
  let m = RE_SU_TO.exec(message);
  if (m !== null) {
    const f = base(out, ['authentication', 'session'], ['start'], 'success', 'authn_login_success');
    addUser(f, m[2]);
    addEffectiveUser(f, m[1]);
    return f;
  }
  m = RE_SU_SHADOW.exec(message);
  if (m !== null) {
    const ok = m[1] === 'Successful';
    const f = ok
      ? base(out, ['authentication', 'session'], ['start'], 'success', 'authn_login_success')
      : base(out, ['authentication'], ['start'], 'failure', 'authn_login_fail');
    addUser(f, m[3]);
    addEffectiveUser(f, m[2]);
    return f;
  }
  return null;
}

function login(message: string, out: EcsFields): EcsFields | null {
  let m = RE_LOGIN_FAILED.exec(message);
  if (m !== null) {
    const f = base(out, ['authentication'], ['start'], 'failure', 'authn_login_fail');
    const reason = message.slice(m[0].length, m[0].length + 200);
    if (reason !== '') f['event.reason'] = reason;
    // shadow's login writes UNKNOWN when the name is not a known account.
    if (m[3] !== 'UNKNOWN') addUser(f, m[3]);
    addSource(f, m[2], undefined);
    return f;
  }
  m = RE_ROOT_LOGIN.exec(message);
  if (m !== null) {
    const f = base(out, ['authentication'], ['start'], 'success', 'authn_login_success');
    addUser(f, 'root');
    addSource(f, m[2], undefined);
    return f;
  }
  return null;
}

/**
 * The auth mapping of one message from `program` (sshd, sudo, su, login, or
 * any program for pam_* lines); null when the message is not an auth event.
 * Used for auth.log lines and, by the journald source, for journal entries.
 */
export function parseAuthMessage(program: string, message: string): EcsFields | null {
  const tags: string[] = [];
  const f = mapAuthMessage(program, message, {}, tags);
  // The caller (the journald path of the processor) passes fields on, not tags: a tag goes in
  // the fields' own `tags`, which the event builder merges with the others.
  if (f !== null && tags.length > 0) f['tags'] = tags;
  return f;
}

/**
 * parseAuthMessage writing into `out` (the syslog header's fields), which
 * saves a merge per line. `out` is only written once a pattern has matched;
 * `tags` (sudo_ambiguous) is added to only then too.
 */
function mapAuthMessage(program: string, message: string, out: EcsFields, tags: string[]): EcsFields | null {
  const slash = program.lastIndexOf('/');
  const prog = slash === -1 ? program : program.slice(slash + 1);
  let f: EcsFields | null = null;
  switch (prog) {
    case 'sshd':
    case 'sshd-session':
    case 'sshd-auth':
      f = sshd(message, out);
      break;
    case 'sudo':
      f = sudo(message, out, tags);
      break;
    case 'su':
      f = su(message, out);
      break;
    case 'login':
      f = login(message, out);
      break;
    default:
      break;
  }
  if (f === null && message.startsWith('pam_')) f = pam(message, out);
  return f;
}

/** The auth ParseResult of an already split syslog record, or null when it is not an auth event. */
export function authFromSyslog(rec: SyslogRecord): ParseResult | null {
  if (rec.program === undefined) return null;
  const f = mapAuthMessage(rec.program, rec.message, rec.fields, rec.tags);
  if (f === null) return null;
  // process.* now describes the command sudo ran; sudo's own pid stays in log.syslog.procid.
  if (f['process.executable'] !== undefined) delete f['process.pid'];
  return syslogResult(rec, 'auth');
}

/** The `auth` parser: a syslog line from an auth program whose message is a known auth event. */
export const parseAuth: Parser = (line, ctx) => {
  const rec = parseSyslogHeader(line, ctx);
  return rec === null ? null : authFromSyslog(rec);
};
