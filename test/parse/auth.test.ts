import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EcsFields, ParseContext, ParseResult } from '../../src/event/types.js';
import { parseAuth, parseAuthMessage } from '../../src/parse/auth.js';
import { assertWellTyped } from './ecs-check.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'UTC' };

function auth(line: string): ParseResult {
  const r = parseAuth(line, ctx);
  assert.ok(r, `auth parser claims: ${line}`);
  assertWellTyped(r, line);
  return r;
}

/** The auth-specific fields of a result (header fields left out). */
function pick(f: EcsFields, keys: string[]): EcsFields {
  const out: EcsFields = {};
  for (const k of keys) if (f[k] !== undefined) out[k] = f[k];
  return out;
}

const EVENT = ['event.kind', 'event.category', 'event.type', 'event.outcome', 'event.action', 'event.reason'];
const WHO = ['user.name', 'user.effective.name', 'source.ip', 'source.port', 'source.domain'];

describe('sshd', () => {
  test('the must-show line: failed password for an invalid user', () => {
    const r = auth('Nov 22 10:01:02 web sshd[812]: Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2');
    assert.equal(r.parser, 'auth');
    assert.deepEqual(r.fields['event.category'], ['authentication']);
    assert.deepEqual(r.fields['event.type'], ['start']);
    assert.equal(r.fields['event.outcome'], 'failure');
    assert.equal(r.fields['event.action'], 'authn_login_fail');
    assert.equal(r.fields['event.kind'], 'event');
    assert.equal(r.fields['event.reason'], 'invalid user');
    assert.equal(r.fields['user.name'], 'admin');
    assert.equal(r.fields['source.ip'], '203.0.113.9');
    assert.equal(r.fields['source.port'], 52114);
    assert.deepEqual(r.fields['related.ip'], ['203.0.113.9']);
    assert.deepEqual(r.fields['related.user'], ['admin']);
    assert.equal(r.fields['process.name'], 'sshd');
    assert.equal(r.fields['process.pid'], 812);
    assert.equal(r.fields['host.hostname'], 'web');
    assert.equal(r.timestamp?.toISOString(), '2026-11-22T10:01:02.000Z');
    assert.equal(r.message, 'Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2');
  });

  test('failed password for an existing user (Debian, RHEL)', () => {
    for (const line of [
      'Nov 22 10:01:05 web sshd[812]: Failed password for root from 203.0.113.9 port 52116 ssh2',
      'Nov 22 10:01:05 rhel9 sshd[2231]: Failed password for root from 203.0.113.9 port 52116 ssh2',
    ]) {
      const r = auth(line);
      assert.deepEqual(pick(r.fields, [...EVENT, ...WHO]), {
        'event.kind': 'event',
        'event.category': ['authentication'],
        'event.type': ['start'],
        'event.outcome': 'failure',
        'event.action': 'authn_login_fail',
        'user.name': 'root',
        'source.ip': '203.0.113.9',
        'source.port': 52116,
      });
    }
  });

  test('accepted password, publickey and keyboard-interactive are successes', () => {
    for (const method of ['password', 'publickey', 'keyboard-interactive/pam']) {
      const suffix = method === 'publickey' ? ' ssh2: ED25519 SHA256:Zx0mPq3k3oBfZ2eP0bR8q9nAqFf5gS0Zx0mPq3k3oBf' : ' ssh2';
      const r = auth(`Nov 22 10:02:00 web sshd[900]: Accepted ${method} for alice from 198.51.100.7 port 50022${suffix}`);
      assert.deepEqual(pick(r.fields, [...EVENT, ...WHO]), {
        'event.kind': 'event',
        'event.category': ['authentication'],
        'event.type': ['start'],
        'event.outcome': 'success',
        'event.action': 'authn_login_success',
        'user.name': 'alice',
        'source.ip': '198.51.100.7',
        'source.port': 50022,
      });
    }
  });

  test('IPv6 sources and hostnames (UseDNS yes)', () => {
    const v6 = auth('Nov 22 10:02:00 web sshd[900]: Accepted publickey for alice from 2001:db8::7 port 50022 ssh2');
    assert.equal(v6.fields['source.ip'], '2001:db8::7');
    const named = auth('Nov 22 10:02:00 web sshd[900]: Failed password for bob from scanner.example.net port 50022 ssh2');
    assert.equal(named.fields['source.ip'], undefined);
    assert.equal(named.fields['source.domain'], 'scanner.example.net');
    assert.equal(named.fields['source.address'], 'scanner.example.net');
  });

  test('invalid user, with and without port', () => {
    const r = auth('Nov 22 10:01:00 web sshd[811]: Invalid user oracle from 203.0.113.9 port 52114');
    assert.deepEqual(pick(r.fields, [...EVENT, ...WHO]), {
      'event.kind': 'event',
      'event.category': ['authentication'],
      'event.type': ['start'],
      'event.outcome': 'failure',
      'event.action': 'authn_login_fail',
      'event.reason': 'invalid user',
      'user.name': 'oracle',
      'source.ip': '203.0.113.9',
      'source.port': 52114,
    });
    const old = auth('Nov 22 10:01:00 web sshd[811]: Invalid user oracle from 203.0.113.9');
    assert.equal(old.fields['source.ip'], '203.0.113.9');
    assert.equal(old.fields['source.port'], undefined);
  });

  test('an injected "from … port …" in the user name cannot move source.ip', () => {
    const r = auth(
      'Nov 22 10:01:02 web sshd[812]: Failed password for invalid user x from 6.6.6.6 port 22 ssh2 from 203.0.113.9 port 52114 ssh2',
    );
    assert.equal(r.fields['source.ip'], '203.0.113.9');
    assert.equal(r.fields['source.port'], 52114);
    assert.equal(r.fields['user.name'], 'x from 6.6.6.6 port 22 ssh2');
  });

  test('an empty invalid user name leaves user.name out', () => {
    const r = auth('Nov 22 10:01:02 web sshd[812]: Invalid user  from 203.0.113.9 port 52114');
    assert.equal(r.fields['user.name'], undefined);
    assert.equal(r.fields['event.outcome'], 'failure');
  });

  test('pre-auth disconnects end an authentication with unknown outcome', () => {
    for (const [line, user] of [
      ['Nov 22 10:01:09 web sshd[812]: Disconnected from invalid user admin 203.0.113.9 port 52114 [preauth]', 'admin'],
      ['Nov 22 10:01:09 web sshd[812]: Connection closed by authenticating user root 203.0.113.9 port 52114 [preauth]', 'root'],
      ['Nov 22 10:01:09 web sshd[812]: Connection closed by 203.0.113.9 port 52114 [preauth]', undefined],
      ['Nov 22 10:01:09 web sshd[812]: Received disconnect from 203.0.113.9 port 52114:11: Bye Bye [preauth]', undefined],
    ] as const) {
      const r = auth(line);
      assert.deepEqual(r.fields['event.category'], ['authentication'], line);
      assert.deepEqual(r.fields['event.type'], ['end'], line);
      assert.equal(r.fields['event.outcome'], 'unknown', line);
      assert.equal(r.fields['user.name'], user, line);
      assert.equal(r.fields['source.ip'], '203.0.113.9', line);
      assert.equal(r.fields['source.port'], 52114, line);
    }
  });

  test('a disconnect after login ends the session', () => {
    const r = auth('Nov 22 10:30:00 web sshd[900]: Disconnected from user alice 198.51.100.7 port 50022');
    assert.deepEqual(pick(r.fields, [...EVENT, ...WHO]), {
      'event.kind': 'event',
      'event.category': ['session'],
      'event.type': ['end'],
      'event.outcome': 'success',
      'event.action': 'ssh_disconnect',
      'user.name': 'alice',
      'source.ip': '198.51.100.7',
      'source.port': 50022,
    });
  });

  test('maximum authentication attempts exceeded (with the "error: " prefix of OpenSSH 8+)', () => {
    const r = auth(
      'Nov 22 10:01:09 web sshd[812]: error: maximum authentication attempts exceeded for root from 203.0.113.9 port 52114 ssh2 [preauth]',
    );
    assert.equal(r.fields['event.action'], 'authn_login_fail_max');
    assert.deepEqual(r.fields['event.category'], ['authentication']);
    assert.deepEqual(r.fields['event.type'], ['info']);
    assert.equal(r.fields['event.outcome'], 'failure');
    assert.equal(r.fields['user.name'], 'root');
    assert.equal(r.fields['source.ip'], '203.0.113.9');
  });

  test('OpenSSH 9.8+ logs as sshd-session', () => {
    const r = auth('Nov 22 10:01:02 web sshd-session[4411]: Failed password for root from 203.0.113.9 port 52114 ssh2');
    assert.equal(r.fields['event.outcome'], 'failure');
    assert.equal(r.fields['process.name'], 'sshd-session');
  });

  test('an sshd message that is no auth event is not claimed', () => {
    assert.equal(parseAuth('Nov 22 09:00:00 web sshd[700]: Server listening on 0.0.0.0 port 22.', ctx), null);
    assert.equal(parseAuth('Nov 22 09:00:00 web systemd[1]: Failed password for root from 203.0.113.9 port 1 ssh2', ctx), null);
    assert.equal(parseAuth('not a syslog line', ctx), null);
  });

  test('auth lines inside RFC 5424 and high-precision headers', () => {
    const a = auth('<38>1 2026-11-22T10:01:02.5Z web sshd 812 - - Failed password for root from 203.0.113.9 port 52114 ssh2');
    assert.equal(a.fields['event.outcome'], 'failure');
    assert.equal(a.fields['log.syslog.facility.name'], 'auth');
    assert.equal(a.severity, 6);
    const b = auth('2026-11-22T10:01:02.412345+00:00 web sshd[812]: Accepted password for alice from 198.51.100.7 port 50022 ssh2');
    assert.equal(b.fields['event.outcome'], 'success');
  });
});

describe('PAM', () => {
  test('pam_unix auth failure from sshd names the user and the remote host', () => {
    const r = auth(
      'Nov 22 10:01:03 web sshd[812]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root',
    );
    assert.deepEqual(pick(r.fields, [...EVENT, ...WHO]), {
      'event.kind': 'event',
      'event.category': ['authentication'],
      'event.type': ['start'],
      'event.outcome': 'failure',
      'event.action': 'authn_login_fail',
      'event.reason': 'authentication failure',
      'user.name': 'root',
      'source.ip': '203.0.113.9',
    });
  });

  test('RHEL pam failure without user= still is a failure from rhost', () => {
    const r = auth(
      'Nov 22 10:01:03 rhel9 sshd[2231]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.50',
    );
    assert.equal(r.fields['event.outcome'], 'failure');
    assert.equal(r.fields['user.name'], undefined);
    assert.equal(r.fields['source.ip'], '192.0.2.50');
  });

  test('other PAM modules and any service (pam_sss, vsftpd)', () => {
    const r = auth(
      'Nov 22 10:01:03 h vsftpd[300]: pam_sss(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=ftpuser rhost=192.0.2.8 user=ftpuser',
    );
    assert.equal(r.fields['event.outcome'], 'failure');
    assert.equal(r.fields['user.name'], 'ftpuser');
    assert.equal(r.fields['user.effective.name'], undefined);
  });

  test('session opened/closed map to session start/end with the acting and effective users', () => {
    const sshOpen = auth('Nov 22 10:02:00 web sshd[900]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)');
    assert.deepEqual(pick(sshOpen.fields, [...EVENT, ...WHO, 'user.id']), {
      'event.kind': 'event',
      'event.category': ['session'],
      'event.type': ['start'],
      'event.outcome': 'success',
      'event.action': 'session_created',
      'user.name': 'alice',
      'user.id': '1000',
    });
    const sudoOpen = auth('Nov 22 10:15:02 web sudo: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)');
    assert.equal(sudoOpen.fields['user.name'], 'alice');
    assert.equal(sudoOpen.fields['user.id'], '1000');
    assert.equal(sudoOpen.fields['user.effective.name'], 'root');
    assert.equal(sudoOpen.fields['user.effective.id'], '0');
    const closed = auth('Nov 22 10:05:00 rhel9 sshd[2301]: pam_unix(sshd:session): session closed for user alice');
    assert.deepEqual(closed.fields['event.type'], ['end']);
    assert.equal(closed.fields['event.action'], 'session_closed');
    assert.equal(closed.fields['user.name'], 'alice');
    const cron = auth('May  2 03:01:07 web01 CRON[981]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)');
    assert.equal(cron.fields['user.name'], 'root');
    assert.equal(cron.fields['process.name'], 'CRON');
  });
});

describe('sudo', () => {
  test('a command run as root: process start, acting and effective user, command', () => {
    const r = auth('May 20 10:15:02 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx');
    assert.deepEqual(pick(r.fields, [...EVENT, ...WHO]), {
      'event.kind': 'event',
      'event.category': ['process'],
      'event.type': ['start'],
      'event.outcome': 'success',
      'event.action': 'authz_admin',
      'user.name': 'alice',
      'user.effective.name': 'root',
    });
    assert.equal(r.fields['process.command_line'], '/usr/bin/systemctl restart nginx');
    assert.deepEqual(r.fields['process.args'], ['/usr/bin/systemctl', 'restart', 'nginx']);
    assert.equal(r.fields['process.executable'], '/usr/bin/systemctl');
    assert.equal(r.fields['process.name'], 'systemctl');
    assert.equal(r.fields['process.working_directory'], '/home/alice');
    assert.equal(r.fields['log.syslog.appname'], 'sudo');
    assert.deepEqual(r.fields['related.user'], ['alice', 'root']);
  });

  test("sudo's own pid is not reported as the command's pid", () => {
    const r = auth('May 20 10:15:02 web01 sudo[4711]:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id');
    assert.equal(r.fields['process.pid'], undefined);
    assert.equal(r.fields['log.syslog.procid'], '4711');
  });

  test('incorrect password attempts are authentication failures', () => {
    const r = auth('May 20 10:16:00 web01 sudo:      bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash');
    assert.deepEqual(pick(r.fields, [...EVENT, ...WHO]), {
      'event.kind': 'event',
      'event.category': ['authentication', 'process'],
      'event.type': ['start'],
      'event.outcome': 'failure',
      'event.action': 'authn_login_fail',
      'event.reason': 'incorrect password attempts',
      'user.name': 'bob',
      'user.effective.name': 'root',
    });
    const one = auth('May 20 10:16:00 web01 sudo: bob : 1 incorrect password attempt ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash');
    assert.equal(one.fields['event.outcome'], 'failure');
  });

  test('user NOT in sudoers is an authorization failure', () => {
    const r = auth(
      'May 20 10:17:00 web01 sudo: mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/home/mallory ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow',
    );
    assert.equal(r.fields['event.action'], 'authz_fail');
    assert.equal(r.fields['event.outcome'], 'failure');
    assert.equal(r.fields['event.reason'], 'user NOT in sudoers');
    assert.equal(r.fields['user.name'], 'mallory');
    assert.equal(r.fields['process.command_line'], '/usr/bin/cat /etc/shadow');
  });

  test('pam_unix(sudo:auth) failure', () => {
    const r = auth(
      'May 20 10:16:00 web01 sudo: pam_unix(sudo:auth): authentication failure; logname=bob uid=1001 euid=0 tty=/dev/pts/1 ruser=bob rhost=  user=bob',
    );
    assert.equal(r.fields['event.outcome'], 'failure');
    assert.equal(r.fields['user.name'], 'bob');
    assert.equal(r.fields['source.ip'], undefined, 'empty rhost');
  });

  test('sudo lines that are not events are not claimed', () => {
    assert.equal(parseAuth('May 20 10:15:02 web01 sudo: alice : (command continued) --now', ctx), null);
    assert.equal(parseAuth('May 20 10:15:02 web01 sudo: unable to resolve host web01', ctx), null);
  });
});

describe('su and login', () => {
  test('util-linux su success: (to root) alice on pts/0', () => {
    const r = auth('Nov 22 11:00:00 web su[3000]: (to root) alice on pts/0');
    assert.deepEqual(pick(r.fields, [...EVENT, ...WHO]), {
      'event.kind': 'event',
      'event.category': ['authentication', 'session'],
      'event.type': ['start'],
      'event.outcome': 'success',
      'event.action': 'authn_login_success',
      'user.name': 'alice',
      'user.effective.name': 'root',
    });
  });

  test('shadow su: FAILED su for root by alice', () => {
    const r = auth('Nov 22 11:00:00 web su[3000]: FAILED su for root by alice');
    assert.equal(r.fields['event.outcome'], 'failure');
    assert.equal(r.fields['event.action'], 'authn_login_fail');
    assert.equal(r.fields['user.name'], 'alice');
    assert.equal(r.fields['user.effective.name'], 'root');
  });

  test('pam_unix(su:auth) failure: ruser asks to become user', () => {
    const r = auth(
      'Nov 22 11:00:00 web su[3000]: pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=root',
    );
    assert.equal(r.fields['event.outcome'], 'failure');
    assert.equal(r.fields['user.name'], 'alice');
    assert.equal(r.fields['user.effective.name'], 'root');
  });

  test('RHEL su-l session', () => {
    const r = auth('Nov 22 11:00:00 rhel9 su[3000]: pam_unix(su-l:session): session opened for user root(uid=0) by alice(uid=1000)');
    assert.equal(r.fields['user.name'], 'alice');
    assert.equal(r.fields['user.effective.name'], 'root');
  });

  test('login failures and root logins on a console', () => {
    const f = auth("Nov 22 11:00:00 web login[800]: FAILED LOGIN (1) on '/dev/tty1' FOR 'root', Authentication failure");
    assert.equal(f.fields['event.outcome'], 'failure');
    assert.equal(f.fields['user.name'], 'root');
    assert.equal(f.fields['event.reason'], 'Authentication failure');
    const unknown = auth("Nov 22 11:00:00 web login[800]: FAILED LOGIN (2) on '/dev/tty1' FOR 'UNKNOWN', User not known to the underlying authentication module");
    assert.equal(unknown.fields['user.name'], undefined);
    const ok = auth("Nov 22 11:00:00 web login[800]: ROOT LOGIN  on '/dev/tty1'");
    assert.equal(ok.fields['event.outcome'], 'success');
    assert.equal(ok.fields['user.name'], 'root');
  });
});

describe('parseAuthMessage (journald: program and message apart)', () => {
  test('gives exactly the auth fields the auth.log line gets', () => {
    const cases: [string, string][] = [
      ['sshd', 'Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2'],
      ['sshd', 'Accepted publickey for alice from 198.51.100.7 port 50022 ssh2: ED25519 SHA256:abc'],
      ['sudo', 'alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id'],
      ['su', '(to root) alice on pts/0'],
      ['CRON', 'pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)'],
    ];
    for (const [program, message] of cases) {
      const fromJournal = parseAuthMessage(program, message);
      assert.ok(fromJournal, message);
      const fromFile = auth(`Nov 22 10:01:02 web ${program}: ${message}`);
      for (const [k, v] of Object.entries(fromJournal)) assert.deepEqual(fromFile.fields[k], v, `${program}: ${k}`);
      assertWellTyped({ parser: 'auth', fields: fromJournal }, message);
    }
  });

  test('accepts a program given as a path and returns null for unknown messages', () => {
    assert.equal(parseAuthMessage('/usr/sbin/sshd', 'Invalid user x from 192.0.2.1 port 1')?.['event.outcome'], 'failure');
    assert.equal(parseAuthMessage('sshd', 'Server listening on :: port 22.'), null);
    assert.equal(parseAuthMessage('nginx', 'Failed password for root from 192.0.2.1 port 1 ssh2'), null);
  });
});
