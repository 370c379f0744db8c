import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ParseContext, ParseResult } from '../../src/event/types.js';
import { parseApache } from '../../src/parse/apache.js';
import { parseNginx } from '../../src/parse/nginx.js';
import { assertWellTyped } from './ecs-check.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'Europe/Berlin' };

function nginx(line: string): ParseResult {
  const r = parseNginx(line, ctx);
  assert.ok(r, line);
  assertWellTyped(r, line);
  return r;
}

function apache(line: string): ParseResult {
  const r = parseApache(line, ctx);
  assert.ok(r, line);
  assertWellTyped(r, line);
  return r;
}

describe('nginx combined', () => {
  test('maps every field of a 401 line (ECS digest example)', () => {
    const r = nginx(
      '198.51.100.23 - bob [20/May/2024:10:16:40 +0000] "GET /admin/settings?tab=users HTTP/1.1" 401 179 "https://app.example.com/login" "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"',
    );
    assert.equal(r.parser, 'nginx');
    assert.equal(r.timestamp?.toISOString(), '2024-05-20T10:16:40.000Z');
    assert.equal(r.timezone, undefined, 'the line carries its own offset');
    assert.equal(r.message, 'GET /admin/settings?tab=users HTTP/1.1 401');
    assert.deepEqual(r.fields, {
      'event.kind': 'event',
      'event.category': ['web'],
      'event.type': ['access'],
      'event.outcome': 'failure',
      'source.address': '198.51.100.23',
      'source.ip': '198.51.100.23',
      'related.ip': ['198.51.100.23'],
      'user.name': 'bob',
      'related.user': ['bob'],
      'http.request.method': 'GET',
      'url.original': '/admin/settings?tab=users',
      'url.path': '/admin/settings',
      'url.query': 'tab=users',
      'http.version': '1.1',
      'http.response.status_code': 401,
      'http.response.body.bytes': 179,
      'http.request.referrer': 'https://app.example.com/login',
      'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0',
    });
  });

  test('reads the offset of the line: +0100 is one hour ahead of UTC', () => {
    const r = nginx('203.0.113.9 - - [22/Nov/2026:10:01:02 +0100] "GET / HTTP/2.0" 200 612 "-" "curl/8.5.0"');
    assert.equal(r.timestamp?.toISOString(), '2026-11-22T09:01:02.000Z');
    assert.equal(r.fields['http.version'], '2.0');
    assert.equal(r.fields['event.outcome'], 'success');
    assert.equal(r.fields['user.name'], undefined, '"-" user is absent');
    assert.equal(r.fields['http.request.referrer'], undefined, '"-" referrer is absent');
    assert.equal(r.fields['url.query'], undefined);
    const west = nginx('203.0.113.9 - - [22/Nov/2026:10:01:02 -0430] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"');
    assert.equal(west.timestamp?.toISOString(), '2026-11-22T14:31:02.000Z');
  });

  test('a scanner sending raw TLS bytes: no method or url, the rest still parses', () => {
    const r = nginx(String.raw`203.0.113.9 - - [22/Nov/2026:10:01:02 +0100] "\x16\x03\x01\x00\xFC\x01\x00\x00\xF8\x03\x03" 400 157 "-" "-"`);
    assert.equal(r.fields['http.response.status_code'], 400);
    assert.equal(r.fields['event.outcome'], 'failure');
    assert.equal(r.fields['http.request.method'], undefined);
    assert.equal(r.fields['url.original'], undefined);
    assert.equal(r.fields['source.ip'], '203.0.113.9');
    assert.equal(r.fields['user_agent.original'], undefined);
    assert.equal(r.timestamp?.toISOString(), '2026-11-22T09:01:02.000Z');
    assert.equal(r.message, String.raw`\x16\x03\x01\x00\xFC\x01\x00\x00\xF8\x03\x03 400`);
  });

  test('an empty request "-" and bytes "-"', () => {
    const r = nginx('203.0.113.9 - - [22/Nov/2026:10:01:02 +0100] "-" 400 - "-" "-"');
    assert.equal(r.fields['http.response.body.bytes'], undefined);
    assert.equal(r.fields['http.request.method'], undefined);
  });

  test('HTTP/0.9 style request without protocol and an unescaped space in the target', () => {
    const a = nginx('203.0.113.9 - - [22/Nov/2026:10:01:02 +0100] "GET /index.html" 200 5 "-" "-"');
    assert.equal(a.fields['url.original'], '/index.html');
    assert.equal(a.fields['http.version'], undefined);
    const b = nginx('203.0.113.9 - - [22/Nov/2026:10:01:02 +0100] "GET /a b HTTP/1.1" 404 5 "-" "-"');
    assert.equal(b.fields['url.original'], '/a b');
    assert.equal(b.fields['http.version'], '1.1');
  });

  test('proxy-style absolute URL keeps url.original only', () => {
    const r = nginx('203.0.113.9 - - [22/Nov/2026:10:01:02 +0100] "CONNECT example.com:443 HTTP/1.1" 400 0 "-" "-"');
    assert.equal(r.fields['http.request.method'], 'CONNECT');
    assert.equal(r.fields['url.original'], 'example.com:443');
    assert.equal(r.fields['url.path'], undefined);
  });

  test('decodes only quote and backslash escapes: \\x22 becomes ", other \\xHH stay text', () => {
    const r = nginx(String.raw`203.0.113.9 - - [22/Nov/2026:10:01:02 +0100] "GET /?q=\x22x\x22 HTTP/1.1" 200 5 "-" "evil\x22agent\x1B[31m"`);
    assert.equal(r.fields['url.original'], '/?q="x"');
    assert.equal(r.fields['user_agent.original'], String.raw`evil"agent\x1B[31m`);
  });

  test('IPv6 clients and trailing extra fields (log_format main with $http_x_forwarded_for)', () => {
    const r = nginx('2001:db8::42 - - [22/Nov/2026:10:01:02 +0100] "POST /login HTTP/1.1" 403 12 "-" "python-requests/2.31" "198.51.100.1"');
    assert.equal(r.fields['source.ip'], '2001:db8::42');
    assert.equal(r.fields['http.response.status_code'], 403);
    assert.deepEqual(r.fields['event.category'], ['web'], '403 stays web');
  });

  test('lines that are not access logs are not claimed', () => {
    for (const line of [
      'Nov 22 10:01:02 web sshd[812]: Failed password',
      '{"a":1}',
      '203.0.113.9 - - [22/Nov/2026:10:01:02] "GET / HTTP/1.1" 200 1',
      '203.0.113.9 - - [22/Nov/2026:10:01:02 +0100] "GET / HTTP/1.1" 2000 1',
      'www.example.com:443 192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8.5.0"',
    ]) {
      assert.equal(parseNginx(line, ctx), null, line);
    }
  });
});

describe('apache', () => {
  test('common log format (the Apache documentation example)', () => {
    const r = apache('127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326');
    assert.equal(r.parser, 'apache');
    assert.equal(r.timestamp?.toISOString(), '2000-10-10T20:55:36.000Z');
    assert.equal(r.fields['user.name'], 'frank');
    assert.equal(r.fields['http.version'], '1.0');
    assert.equal(r.fields['http.response.body.bytes'], 2326);
    assert.equal(r.fields['user_agent.original'], undefined);
  });

  test('combined with backslash-escaped quotes in the user agent', () => {
    const r = apache(
      String.raw`192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla \"evil\" agent \\o/"`,
    );
    assert.equal(r.fields['user_agent.original'], String.raw`Mozilla "evil" agent \o/`);
    assert.equal(r.fields['http.request.referrer'], 'http://www.example.com/start.html');
  });

  test('vhost_combined maps %v:%p to url.domain and url.port', () => {
    const r = apache('www.example.com:443 192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8.5.0"');
    assert.equal(r.fields['url.domain'], 'www.example.com');
    assert.equal(r.fields['url.port'], 443);
    assert.equal(r.fields['source.ip'], '192.0.2.1');
  });

  test('HostnameLookups On: a client name goes to source.domain', () => {
    const r = apache('crawler.example.org - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1');
    assert.equal(r.fields['source.domain'], 'crawler.example.org');
    assert.equal(r.fields['source.ip'], undefined);
  });
});
