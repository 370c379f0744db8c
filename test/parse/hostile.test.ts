/**
 * Parsers never throw and stay well-typed on random and hostile input, and
 * megabyte lines built to provoke regex backtracking still complete.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ParseContext, Parser } from '../../src/event/types.js';
import { getParser, PARSER_NAMES } from '../../src/parse/index.js';
import { assertWellTyped } from './ecs-check.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'Europe/Berlin' };
const parsers: [string, Parser][] = PARSER_NAMES.map((name) => [
  name,
  getParser(name, {
    sanitizeValue: (s) => s,
    regex: String.raw`^(?<timestamp>\S+) (?<source__ip>\S+) (?<source__port>\d+) (?<event__outcome>\w+) (?<message>.*)$`,
  }),
]);

const REAL = [
  'Nov 22 10:01:02 web sshd[812]: Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2',
  'Nov 22 10:02:00 web sshd[900]: Accepted publickey for alice from 198.51.100.7 port 50022 ssh2: ED25519 SHA256:x',
  'Nov 22 10:01:09 web sshd[812]: Disconnected from invalid user admin 203.0.113.9 port 52114 [preauth]',
  'Nov 22 10:01:03 web sshd[812]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root',
  'May 20 10:15:02 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx',
  'Nov 22 11:00:00 web su[3000]: (to root) alice on pts/0',
  '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] msg',
  '2024-05-20T10:13:20.412345+00:00 web01 sshd[4242]: Failed password for root from 203.0.113.7 port 52344 ssh2',
  '198.51.100.23 - bob [20/May/2024:10:16:40 +0000] "GET /admin?tab=users HTTP/1.1" 401 179 "https://a.example/" "Mozilla/5.0"',
  'www.example.com:443 192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8.5.0"',
  '{"ts":"2024-05-20T10:18:05.250+02:00","level":"warn","msg":"x","user":{"name":"bob"},"event":{"category":["web"],"type":["access"]}}',
  '2024-05-20T10:13:20Z 203.0.113.9 22 failure hello',
];

/** Real lines cut, spliced with random text, or with a random character replaced. */
const mutated = fc.tuple(fc.constantFrom(...REAL), fc.nat(), fc.nat(), fc.string({ unit: 'binary', maxLength: 40 })).map(([line, a, b, noise]) => {
  const i = a % (line.length + 1);
  const j = Math.min(line.length, i + (b % 8));
  return line.slice(0, i) + noise + line.slice(j);
});

const TOKENS = ['{', '}', '"', '\\', '[', ']', ' ', ':', '<', '>', '=', ' from ', ' port ', 'user ', 'invalid ', 'Nov 22 10:01:02 ', '<13>1 ', '- - [', '{U+001B}', '\u2028', '\u0000', '1.2.3.4', '::1', '99999', '-'];
const tokenSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((a) => a.join(''));

const lines = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), mutated, tokenSoup);

describe('hostile input', () => {
  for (const [name, parser] of parsers) {
    test(`${name}: never throws and results stay well-typed ECS on random lines`, () => {
      fc.assert(
        fc.property(lines, (line) => {
          assertWellTyped(parser(line, ctx), `${name} ${JSON.stringify(line)}`);
        }),
        { numRuns: process.env.LOGWARD_STRESS === "1" ? 50_000 : 1500 },
      );
    });
  }

  test('megabyte lines built to provoke backtracking complete', () => {
    const MB = 1 << 20;
    const big = [
      'a'.repeat(MB),
      ' '.repeat(MB),
      '"'.repeat(MB),
      '\\'.repeat(MB),
      '{'.repeat(MB),
      '[' + '"a",'.repeat(MB / 4) + '"a"]',
      '{"a":"' + 'x'.repeat(MB) + '"}',
      'Nov 22 10:01:02 web sshd[812]: Failed password for ' + 'x from 1.1.1.1 port 1 '.repeat(MB / 24) + 'tail',
      'Nov 22 10:01:02 web sshd[812]: Disconnected from user ' + 'a '.repeat(MB / 2),
      'Nov 22 10:01:02 web sshd[812]: Invalid user ' + ' from x'.repeat(MB / 7),
      'Nov 22 10:01:02 web sudo: alice : ' + 'X=1 ; '.repeat(MB / 6),
      'Nov 22 10:01:02 web sudo: alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=' + 'a '.repeat(MB / 2),
      'Nov 22 10:01:02 web sshd[812]: pam_unix(sshd:auth): authentication failure;' + ' a='.repeat(MB / 3),
      'Nov 22 10:01:02 ' + 'h'.repeat(MB),
      'Nov 22 10:01:02 h ' + 'tag'.repeat(MB / 3),
      'Nov 22 10:01:02 h tag[' + '1'.repeat(MB),
      '<13>1 - - - - - ' + '[a b="'.repeat(MB / 6),
      '<13>1 - - - - - [a ' + 'b="c" '.repeat(MB / 6) + ']',
      '<13>1 - - - - - [a b="' + '\\"'.repeat(MB / 2),
      '1.2.3.4 - - [22/Nov/2026:10:01:02 +0100] "' + '\\"'.repeat(MB / 2),
      '1.2.3.4 - - [22/Nov/2026:10:01:02 +0100] "' + '\\x16'.repeat(MB / 4) + '" 400 0 "-" "-"',
      '1.2.3.4 - - [22/Nov/2026:10:01:02 +0100] "GET / HTTP/1.1" 200 1 "' + 'a'.repeat(MB) + '" "ua"',
      '1.2.3.4 '.repeat(MB / 8),
      '- '.repeat(MB / 2) + '[',
    ];
    for (const line of big) {
      for (const [name, parser] of parsers) {
        const r = parser(line, ctx);
        assertWellTyped(r, `${name} big line ${JSON.stringify(line.slice(0, 30))}`);
      }
    }
    // The last access-log vector above is a real line: it still parses.
    const r = parsers.find(([n]) => n === 'nginx')?.[1](big[21] as string, ctx);
    assert.equal(r?.fields['user_agent.original'], 'ua');
    assert.equal(r?.fields['http.request.referrer']?.toString().length, MB);
  });
});
