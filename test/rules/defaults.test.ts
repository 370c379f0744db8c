/**
 * The built-in rules against what the real parsers make of real log lines
 * (auth.log as Debian and RHEL write it, the journal, nginx access logs),
 * through the real RecordProcessor, so a parser change that breaks a rule
 * breaks a test.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { EcsVersion } from '@elastic/ecs';

import type { AlertRuleConfig } from '../../src/config/types.js';
import { encodeEvent } from '../../src/encode/validate.js';
import { InternalEvents } from '../../src/event/internal.js';
import type { EcsFields, LogEvent } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';
import { RecordProcessor } from '../../src/processor.js';
import { DEFAULT_RULES, defaultRulesMarkdown, effectiveRules } from '../../src/rules/defaults.js';
import { RuleEngine, ruleAlertSpec, type RuleAlert } from '../../src/rules/engine.js';

interface Agent {
  feed(line: string, stepMs?: number): LogEvent;
  feedJournal(program: string, message: string, stepMs?: number): LogEvent;
  alerts: RuleAlert[];
  of(rule: string): RuleAlert[];
}

function agent(rules: readonly AlertRuleConfig[] = effectiveRules([])): Agent {
  const counters = new Counters();
  const processor = new RecordProcessor({
    agentId: 'web-01',
    parser: 'auto',
    format: 'ecs',
    cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: ['pan', 'national_id', 'password', 'credentials', 'api_keys', 'private_keys'], custom: [] },
    maxLineBytes: 65536,
    counters,
    timeZone: 'UTC',
    host: { name: 'web-01', ips: [] },
    now: () => new Date('2026-11-22T12:00:00Z'),
  });
  const alerts: RuleAlert[] = [];
  let clock = Date.UTC(2026, 10, 22, 12);
  const engine = new RuleEngine(rules, { counters, onAlert: (a) => alerts.push(a), now: () => clock });
  let offset = 0;
  let cursor = 0;
  return {
    alerts,
    of: (name) => alerts.filter((a) => a.rule === name),
    feed(line, stepMs = 100) {
      clock += stepMs;
      const bytes = Buffer.from(line);
      const e = processor.toEvent({ bytes, source: { input: 'auth', identity: 'fp:1', path: '/var/log/auth.log', offset, end: offset + bytes.length + 1 } });
      offset += bytes.length + 1;
      engine.observe(e);
      return e;
    },
    feedJournal(program, message, stepMs = 100) {
      clock += stepMs;
      const e = processor.toEvent({
        bytes: Buffer.from(message),
        source: { input: 'system', identity: 'journal:m1', cursor: `s=1;i=${++cursor}` },
        fields: { 'process.name': program, 'process.pid': 4711, 'host.hostname': 'web' },
      });
      engine.observe(e);
      return e;
    },
  };
}

const pick = (f: EcsFields, keys: string[]): Record<string, unknown> => Object.fromEntries(keys.map((k) => [k, f[k]]));

function sshFailure(a: Agent, i: number, ip: string, user: string, debian: boolean): LogEvent {
  const s = String(i % 60).padStart(2, '0');
  if (debian) {
    a.feed(`Nov 22 10:01:${s} web sshd[${800 + i}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip}  user=${user}`, 50);
  }
  return a.feed(`Nov 22 10:01:${s} web sshd[${800 + i}]: Failed password for ${user} from ${ip} port ${52000 + i} ssh2`, 50);
}

describe('credential-stuffing', () => {
  test('25 failed ssh logins from one address within 10 s raise exactly one alert', () => {
    const a = agent();
    const first = sshFailure(a, 0, '203.0.113.9', 'root', false);
    assert.deepEqual(pick(first.fields, ['event.category', 'event.outcome', 'source.ip']), {
      'event.category': ['authentication'],
      'event.outcome': 'failure',
      'source.ip': '203.0.113.9',
    });
    for (let i = 1; i < 25; i++) sshFailure(a, i, '203.0.113.9', 'root', false);
    assert.equal(a.of('credential-stuffing').length, 1);
    const alert = a.of('credential-stuffing')[0] as RuleAlert;
    assert.deepEqual(alert.groupKey, { 'source.ip': '203.0.113.9' });
    assert.equal(alert.count, 10);
    assert.equal(alert.firstEventId, first.fields['event.id'], 'the first failure is the first counted event');
    assert.equal(a.of('password-spraying').length, 0, 'one user name is not spraying');
    assert.equal(a.alerts.length, 1);
  });

  test('on Debian (PAM line + sshd line per attempt) 25 attempts still raise exactly one alert, after 5 attempts', () => {
    const a = agent();
    let fired = -1;
    for (let i = 0; i < 25; i++) {
      sshFailure(a, i, '203.0.113.9', 'root', true);
      if (fired === -1 && a.of('credential-stuffing').length === 1) fired = i + 1;
    }
    assert.equal(a.of('credential-stuffing').length, 1);
    assert.equal(fired, 5, 'two events per attempt: documented in defaults.ts');
  });

  test('24 failures from one address and 1 from another: only the first is alerted', () => {
    const a = agent();
    for (let i = 0; i < 24; i++) sshFailure(a, i, '203.0.113.9', 'root', false);
    sshFailure(a, 99, '198.51.100.7', 'root', false);
    assert.deepEqual(
      a.alerts.map((x) => [x.rule, x.groupKey['source.ip']]),
      [['credential-stuffing', '203.0.113.9']],
    );
  });

  test('9 failures a minute apart never fire', () => {
    const a = agent();
    for (let i = 0; i < 30; i++) a.feed(`Nov 22 10:01:02 web sshd[1]: Failed password for root from 203.0.113.9 port 5 ssh2`, 7000);
    assert.equal(a.of('credential-stuffing').length, 0, 'at most 9 within any 60 s');
  });

  test('failures from the journal count like those from auth.log', () => {
    const a = agent();
    for (let i = 0; i < 10; i++) a.feedJournal('sshd', `Failed password for invalid user admin from 203.0.113.9 port ${50000 + i} ssh2`);
    assert.equal(a.of('credential-stuffing').length, 1);
  });
});

describe('password-spraying', () => {
  test('6 user names tried from one address raise exactly one spraying alert', () => {
    const a = agent();
    const users = ['admin', 'oracle', 'postgres', 'ubuntu', 'test', 'deploy'];
    users.forEach((u, i) => a.feed(`Nov 22 10:02:0${i} web sshd[900]: Failed password for invalid user ${u} from 203.0.113.9 port ${40000 + i} ssh2`, 1000));
    assert.equal(a.of('password-spraying').length, 1);
    const alert = a.of('password-spraying')[0] as RuleAlert;
    assert.deepEqual(alert.groupKey, { 'source.ip': '203.0.113.9' });
    assert.equal(alert.distinct, 'user.name');
    assert.equal(alert.count, 5);
    assert.deepEqual(alert.distinctValues, users.slice(0, 5));
    assert.equal(a.of('credential-stuffing').length, 0, '6 failures are below 10');
  });

  test('the same 4 users over and over are not spraying, however often', () => {
    const a = agent();
    for (let i = 0; i < 40; i++) sshFailure(a, i, '203.0.113.9', ['root', 'admin', 'pi', 'git'][i % 4] as string, true);
    assert.equal(a.of('password-spraying').length, 0);
    assert.equal(a.of('credential-stuffing').length, 1);
  });
});

describe('sudo-failures', () => {
  const wrong = (user: string) => [
    `May 20 10:16:00 web01 sudo: pam_unix(sudo:auth): authentication failure; logname=${user} uid=1001 euid=0 tty=/dev/pts/1 ruser=${user} rhost=  user=${user}`,
    `May 20 10:16:00 web01 sudo:      ${user} : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/${user} ; USER=root ; COMMAND=/bin/bash`,
  ];

  test('three failed sudo runs by one user within 5 minutes raise one alert for that user', () => {
    const a = agent();
    for (const l of wrong('bob')) a.feed(l, 30_000);
    for (const l of wrong('bob')) a.feed(l, 30_000);
    assert.equal(a.of('sudo-failures').length, 0, 'two runs; the PAM lines do not count twice');
    for (const l of wrong('bob')) a.feed(l, 30_000);
    assert.equal(a.of('sudo-failures').length, 1);
    assert.deepEqual(a.of('sudo-failures')[0]?.groupKey, { 'user.name': 'bob' });
    for (const l of wrong('bob')) a.feed(l, 30_000);
    assert.equal(a.of('sudo-failures').length, 1, 'no repeat within the window');
    assert.equal(a.of('credential-stuffing').length, 0, 'local failures have no source.ip');
  });

  test('denials (user NOT in sudoers) count too, per user', () => {
    const a = agent();
    for (let i = 0; i < 3; i++) {
      a.feed('May 20 10:17:00 web01 sudo: mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/home/mallory ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow');
      a.feed('May 20 10:17:00 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id');
    }
    assert.deepEqual(
      a.of('sudo-failures').map((x) => x.groupKey),
      [{ 'user.name': 'mallory' }],
    );
  });

  test('sudo failures from the journal match too', () => {
    const a = agent();
    for (let i = 0; i < 3; i++) a.feedJournal('sudo', 'bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash');
    assert.equal(a.of('sudo-failures').length, 1);
  });
});

describe('HTTP bursts', () => {
  const line = (ip: string, status: number, path = '/login') =>
    `${ip} - - [22/Nov/2026:10:01:02 +0000] "POST ${path} HTTP/1.1" ${status} 153 "-" "python-requests/2.31"`;

  test('20 responses 401/403 to one client within a minute raise one alert; 19 do not', () => {
    const a = agent();
    const e = a.feed(line('203.0.113.9', 401));
    assert.equal(e.fields['http.response.status_code'], 401);
    assert.equal(e.fields['source.ip'], '203.0.113.9');
    for (let i = 1; i < 19; i++) a.feed(line('203.0.113.9', i % 2 === 0 ? 401 : 403));
    for (let i = 0; i < 50; i++) a.feed(line('198.51.100.7', 404));
    assert.equal(a.alerts.length, 0);
    a.feed(line('203.0.113.9', 403));
    assert.deepEqual(
      a.alerts.map((x) => [x.rule, x.groupKey['source.ip'], x.category]),
      [['http-auth-failures', '203.0.113.9', ['web', 'intrusion_detection']]],
    );
  });

  test('20 responses 400/422 to one client raise an input-validation alert', () => {
    const a = agent();
    for (let i = 0; i < 20; i++) a.feed(line('2001:db8::7', i % 2 === 0 ? 400 : 422, '/api/orders'));
    assert.deepEqual(
      a.alerts.map((x) => [x.rule, x.groupKey['source.ip']]),
      [['input-validation-failures', '2001:db8::7']],
    );
  });
});

describe('the default set', () => {
  test('a configured rule with a built-in name replaces it; others are added', () => {
    const mine: AlertRuleConfig = { name: 'credential-stuffing', when: { 'event.outcome': ['failure'] }, groupBy: ['source.ip'], threshold: 50, windowMs: 60_000 };
    const extra: AlertRuleConfig = { name: 'web-auth-failures', when: { 'http.response.status_code': [401] }, groupBy: ['source.ip'], threshold: 5, windowMs: 60_000 };
    const rules = effectiveRules([mine, extra]);
    assert.equal(rules.length, DEFAULT_RULES.length + 1);
    assert.equal(rules.filter((r) => r.name === 'credential-stuffing').length, 1);
    assert.equal(rules.find((r) => r.name === 'credential-stuffing'), mine);
    assert.equal(rules.at(-1), extra);
    assert.deepEqual(effectiveRules([]).map((r) => r.name), ['credential-stuffing', 'password-spraying', 'sudo-failures', 'http-auth-failures', 'input-validation-failures']);
    // And the override is what runs: 25 failures no longer reach its threshold of 50.
    const a = agent(rules);
    for (let i = 0; i < 25; i++) sshFailure(a, i, '203.0.113.9', 'root', false);
    assert.equal(a.of('credential-stuffing').length, 0);
  });

  test('the README table names every built-in rule', () => {
    const md = defaultRulesMarkdown();
    for (const r of DEFAULT_RULES) assert.ok(md.includes(`\`${r.name}\``), r.name);
    assert.equal(md.split('\n').length, DEFAULT_RULES.length + 2);
  });

  test('an alert from a real burst becomes a valid ECS and CEF event naming the real events', () => {
    const a = agent();
    const events = [];
    for (let i = 0; i < 10; i++) events.push(sshFailure(a, i, '203.0.113.9', 'root', false));
    const alert = a.of('credential-stuffing')[0] as RuleAlert;
    const internal = new InternalEvents({ id: 'web-01', version: '0.1.0', hostName: 'web-01', ecsVersion: EcsVersion, session: 's' });
    const e = internal.make(ruleAlertSpec(alert));
    assert.equal(e.fields['logward.alert.first_event_id'], events[0]?.fields['event.id']);
    assert.equal(e.fields['logward.alert.last_event_id'], events[9]?.fields['event.id']);
    assert.equal(e.fields['message'], 'credential-stuffing: 10 matching events for source.ip 203.0.113.9 within 60 s');
    for (const format of ['ecs', 'cef'] as const) {
      const enc = encodeEvent(e, format, { counters: new Counters(), cef: { vendor: 'logward', product: 'logward', version: '0.1.0' } });
      assert.equal(enc.valid, true, `${format}: ${enc.errors?.join('; ')}`);
    }
  });
});
