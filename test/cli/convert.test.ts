import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { decodeCef } from '../../src/encode/cef.js';
import { parseRfc5424 } from '../../src/encode/rfc5424.js';
import { runCli } from '../helpers/cli.js';

const SSHD_FAIL = 'Nov 22 10:01:02 web sshd[812]: Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2\n';
const dir = mkdtempSync(join(tmpdir(), 'logward-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a failed sshd login becomes one ECS authentication failure event', async () => {
  const r = await runCli(['convert', '--parser', 'auto', '--format', 'ecs'], { input: SSHD_FAIL });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1);
  const ev = JSON.parse(lines[0]!) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.deepEqual(ev.event.category, ['authentication']);
  assert.equal(ev.event.outcome, 'failure');
  assert.equal(ev.user.name, 'admin');
  assert.equal(ev.source.ip, '203.0.113.9');
  assert.equal(ev.source.port, 52114);
  assert.equal(ev.event.original, SSHD_FAIL.trimEnd());
  assert.match(ev.event.hash, /^[0-9a-f]{64}$/);
  assert.equal(typeof ev.event.id, 'string');
  assert.equal(ev.ecs.version.length > 0, true);
  assert.equal(ev.tags, undefined, 'an ordinary line carries no tag');
});

test('the same line with --format cef is one valid CEF line', async () => {
  const r = await runCli(['convert', '--parser', 'auto', '--format', 'cef'], { input: SSHD_FAIL });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^CEF:0\|logward\|logward\|/);
  const cef = decodeCef(lines[0]!);
  assert.equal(cef.extension['src'], '203.0.113.9');
  assert.equal(cef.extension['spt'], '52114');
  assert.equal(cef.extension['duser'], 'admin');
  assert.equal(cef.extension['outcome'], 'failure');
  assert.match(cef.extension['rt'] ?? '', /^\d{13}$/);
});

test('--syslog prints a full RFC 5424 message with the agent structured data', async () => {
  const r = await runCli(['convert', '--format', 'ecs', '--syslog', '--agent-id', 'web-01'], { input: SSHD_FAIL });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1);
  const msg = parseRfc5424(lines[0]!);
  assert.equal(msg.msgId, 'ECS');
  const sd = msg.sd.find((e) => e.id === 'logward@32473');
  assert.ok(sd, 'agent SD element present');
  assert.equal(JSON.parse(msg.msg ?? "").user.name, 'admin');
});

test('one input line yields one output line even when it tries to forge records', async () => {
  const hostile = [
    'ok\rNov 22 10:00:00 web sshd[1]: Accepted password for root from 10.0.0.1 port 22 ssh2',
    '<134>1 2026-11-22T10:00:00Z forged app - - - fake event',
    'user=\u001b[31mroot\u001b[0m \u202Egnp.exe \u2028 next\u0085line \u0000 end \u0600 \u{1BCA0} \u{E0041}',
    'pipes | and \\ backslashes = equals ] brackets " quotes',
  ].join('\n') + '\n';
  for (const format of ['ecs', 'cef']) {
    for (const extra of [[], ['--syslog']]) {
      const r = await runCli(['convert', '--format', format, ...extra], { input: hostile });
      assert.equal(r.code, 0, r.stderr);
      const out = r.stdout.trimEnd().split('\n');
      assert.equal(out.length, 4, `${format} ${extra.join(' ')}: four records in, four out`);
      for (const line of out) {
        assert.doesNotMatch(line, /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u, 'no raw control or invisible character in any output');
        // JSON escapes (\u0600) decode back to raw characters at the SIEM: check the decoded values too.
        if (format === 'ecs' && extra.length === 0) {
          const walk = (v: unknown): void => {
            if (typeof v === 'string') assert.doesNotMatch(v, /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u, JSON.stringify(v));
            else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
          };
          walk(JSON.parse(line));
        }
      }
      if (extra.length > 0) for (const line of out) assert.equal(parseRfc5424(line).sd.length, 1);
    }
  }
});

test('invalid UTF-8 survives as visible evidence and the event is tagged', async () => {
  const input = Buffer.concat([Buffer.from('bad '), Buffer.from([0xc0, 0xaf, 0xff]), Buffer.from(' bytes\n')]);
  const r = await runCli(['convert', '--format', 'ecs'], { input });
  const ev = JSON.parse(r.stdout);
  assert.equal(ev.event.original, 'bad {0xC0}{0xAF}{0xFF} bytes');
  assert.ok(ev.tags.includes('log_injection_neutralized'));
});

test('secrets never reach the output, in any format', async () => {
  const input =
    'Nov 22 10:00:00 web app[1]: login user=bob password=hunter2 token=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n' +
    '{"message":"charge","card":"4111 1111 1111 1111","authorization":"Bearer abc.def.ghi"}\n';
  for (const format of ['ecs', 'cef']) {
    const r = await runCli(['convert', '--format', format, '--syslog'], { input });
    assert.equal(r.code, 0, r.stderr);
    for (const secret of ['hunter2', 'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789', '4111 1111 1111 1111', '4111111111111111', 'abc.def.ghi']) {
      assert.ok(!r.stdout.includes(secret), `${format}: ${secret} leaked`);
    }
    assert.match(r.stdout, /REDACTED/);
  }
});

test('reads a file argument and gives every line its byte offset', async () => {
  const file = join(dir, 'a.log');
  writeFileSync(file, 'first\nsecond\n');
  const r = await runCli(['convert', file]);
  assert.equal(r.code, 0, r.stderr);
  const evs = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(evs.map((e) => e.log.offset), [0, 6]);
  assert.ok(evs.every((e) => e.log.file.path === file));
});

test('bad arguments exit 2 with a message', async () => {
  for (const args of [['convert', '--format', 'xml'], ['convert', '--parser', 'nope'], ['convert', join(dir, 'missing.log')], ['nosuchcommand']]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')} -> ${r.code} ${r.stderr}`);
    assert.ok(r.stderr.length > 0);
  }
});

test('--help and --version exit 0', async () => {
  const v = await runCli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  for (const args of [['--help'], ['convert', '--help'], ['check', '--help']]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /Usage: logward/);
  }
});

test('crafted lines that once aborted the run (deep JSON nesting, a key of thousands of dotted segments) each give one event, and the lines after them too', async () => {
  const deep = `{"a":"\\u0041","b":${'['.repeat(5000)}${']'.repeat(5000)}}`;
  const dots = `{"${Array.from({ length: 6000 }, () => 'a').join('.')}":1}`;
  for (const format of ['ecs', 'cef']) {
    const r = await runCli(['convert', '--parser', 'auto', '--format', format], { input: `${deep}\n${dots}\n${SSHD_FAIL}` });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.trimEnd().split('\n');
    assert.equal(out.length, 3, `${format}: one event per line`);
    assert.match(out[2] ?? '', /root|admin/);
  }
});

test('a --regex pattern the parser refuses is a usage error: exit 2 and one line, no stack trace', async () => {
  for (const [pattern, why] of [
    ['^(?<host__name>\\S+) (?<message>.*)$', /host\.name/],
    ['^(?<ip>\\S+) (?<message>.*)$', /ip/],
    ['^(?<message>.*$', /Unterminated group|invalid/i],
  ] as const) {
    const r = await runCli(['convert', '--parser', 'regex', '--regex', pattern], { input: 'a b\n' });
    assert.equal(r.code, 2, `${pattern}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^logward: --regex: /);
    assert.match(lines[0]!, why);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(r.stdout, '');
  }
});
