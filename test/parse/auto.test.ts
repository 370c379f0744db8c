import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ParseContext } from '../../src/event/types.js';
import { createAutoParser } from '../../src/parse/auto.js';
import { getParser, PARSER_NAMES } from '../../src/parse/index.js';
import { createJsonParser } from '../../src/parse/json.js';
import { assertWellTyped } from './ecs-check.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'UTC' };
const auto = getParser('auto', { sanitizeValue: (s) => s });

describe('auto detection', () => {
  const cases: [string, string][] = [
    ['{"msg":"hello","level":"info"}', 'json'],
    ['  {"msg":"indented"}', 'json'],
    ['Nov 22 10:01:02 web sshd[812]: Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2', 'auth'],
    ['Nov 22 10:01:02 web sshd[812]: Server listening on 0.0.0.0 port 22.', 'syslog'],
    ['Nov 22 10:01:02 web kernel: [  12.345] usb 1-1: new high-speed USB device', 'syslog'],
    ['<38>1 2026-11-22T10:01:02Z web sshd 812 - - Accepted password for a from 192.0.2.1 port 1 ssh2', 'auth'],
    ['<13>1 2026-11-22T10:01:02Z web app - - - hello', 'syslog'],
    ['2026-11-22T10:01:02.412345+00:00 web01 sudo:    alice : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/usr/bin/id', 'auth'],
    ['203.0.113.9 - - [22/Nov/2026:10:01:02 +0100] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"', 'access_log'],
    ['2001:db8::1 - - [22/Nov/2026:10:01:02 +0100] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"', 'access_log'],
    ['::1 - - [22/Nov/2026:10:01:02 +0100] "GET / HTTP/1.1" 200 612', 'access_log'],
    ['www.example.com:443 192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8.5.0"', 'access_log'],
    ['2024-05-20 10:00:00,123 INFO [main] app started', 'plain'],
    ['November rain', 'plain'],
    ['{not json', 'plain'],
    ['', 'plain'],
    ['Traceback (most recent call last):', 'plain'],
  ];
  for (const [line, parser] of cases) {
    test(`${JSON.stringify(line.slice(0, 50))} is read by ${parser}`, () => {
      const r = auto(line, ctx);
      assert.ok(r);
      assert.equal(r.parser, parser);
      assertWellTyped(r, line);
      if (parser === 'plain') assert.equal(r.message, line);
    });
  }

  test('auth via auto gives the same fields as the auth parser', () => {
    const line = 'Nov 22 10:01:02 web sshd[812]: Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2';
    assert.deepEqual(auto(line, ctx), getParser('auth', { sanitizeValue: (s) => s })(line, ctx));
  });

  test('a throwing sanitizer does not make auto throw: plain result tagged parser_error', () => {
    const p = createAutoParser(
      createJsonParser(() => {
        throw new TypeError('sanitizer broke');
      }),
    );
    const r = p('{"msg":"x"}', ctx);
    assert.equal(r?.parser, 'plain');
    assert.equal(r?.message, '{"msg":"x"}');
    assert.deepEqual(r?.tags, ['parser_error', 'parser_error_TypeError']);
  });
});

describe('parser registry', () => {
  test('every name in PARSER_NAMES gives a parser', () => {
    assert.deepEqual([...PARSER_NAMES], ['auto', 'json', 'syslog', 'nginx', 'apache', 'auth', 'regex', 'plain']);
    for (const name of PARSER_NAMES) {
      const p = getParser(name, { sanitizeValue: (s) => s, regex: '(?<message>.*)' });
      assert.equal(typeof p, 'function', name);
    }
  });

  test('plain always succeeds and claims nothing', () => {
    assert.deepEqual(getParser('plain', { sanitizeValue: (s) => s })('anything at all', ctx), {
      parser: 'plain',
      message: 'anything at all',
      fields: {},
    });
  });

  test('json via the registry uses the given sanitizer', () => {
    const p = getParser('json', { sanitizeValue: (s) => s.toUpperCase() });
    assert.equal(p('{"msg":"quiet"}', ctx)?.message, 'QUIET');
  });
});
