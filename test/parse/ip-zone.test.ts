/**
 * An IPv6 peer with a zone ID ("fe80::1%eth0", as sshd logs link-local peers)
 * is an address node:net's isIP accepts and the ECS ip format does not. It
 * used to fail the whole event: a failed login from the local link shipped as
 * a schema_invalid stand-in without source.ip or user.name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeCef } from '../../src/encode/cef.js';
import { ipOfAddress, isIpAddress } from '../../src/parse/ip.js';
import type { ParserName } from '../../src/parse/index.js';
import { testProcessor } from './processor-fixture.js';

function run(parser: ParserName, line: string, format: 'ecs' | 'cef', regex?: string) {
  const { p, counters } = testProcessor({ parser, format, redact: { builtin: [], custom: [] }, ...(regex !== undefined ? { regex } : {}) });
  const r = p.process({ bytes: Buffer.from(line), source: { input: 'in', identity: 'fp:1', path: '/var/log/x.log', offset: 0, end: line.length + 1 } });
  return { r, counters };
}

test('an ECS ip value has no zone ID; the address of a peer loses it, nothing else does', () => {
  assert.equal(isIpAddress('fe80::1%eth0'), false);
  assert.equal(isIpAddress('fe80::1'), true);
  assert.equal(ipOfAddress('fe80::1%eth0'), 'fe80::1');
  assert.equal(ipOfAddress('203.0.113.7'), '203.0.113.7');
  assert.equal(ipOfAddress('%eth0'), undefined);
  assert.equal(ipOfAddress('host.example%eth0'), undefined);
  assert.equal(ipOfAddress('1.2.3.4%eth0'), undefined, 'IPv4 has no zone');
});

test('a failed sshd login from a link-local peer with a zone ID keeps its user and address, valid in ECS and CEF', () => {
  const line = 'Nov 22 10:00:01 web01 sshd[801]: Failed password for root from fe80::1%eth0 port 50122 ssh2';
  const ecs = run('auth', line, 'ecs');
  assert.equal(ecs.r.valid, true, ecs.r.payload);
  const doc = JSON.parse(ecs.r.payload) as { source: { ip: string; address: string; port: number }; user: { name: string }; related: { ip: string[] } };
  assert.equal(doc.source.ip, 'fe80::1');
  assert.equal(doc.source.address, 'fe80::1%eth0');
  assert.equal(doc.user.name, 'root');
  assert.deepEqual(doc.related.ip, ['fe80::1']);
  const cef = run('auth', line, 'cef');
  assert.equal(cef.r.valid, true, cef.r.payload);
  assert.equal(decodeCef(cef.r.payload).extension['duser'], 'root');
  assert.equal(decodeCef(cef.r.payload).extension['c6a2'], 'fe80::1');
});

test('an access-log client with a zone ID keeps the request, valid', () => {
  const line = 'fe80::2%eth1 - - [22/Nov/2026:10:00:01 +0000] "GET /login HTTP/1.1" 401 12 "-" "curl/8"';
  const r = run('nginx', line, 'ecs');
  assert.equal(r.r.valid, true, r.r.payload);
  assert.match(r.r.payload, /"ip":"fe80::2"/);
});

test('a JSON or regex value with a zone ID does not fit source.ip: it goes under json.*, and the event stays valid', () => {
  const json = run('json', '{"msg":"login","source":{"ip":"fe80::1%eth0"}}', 'ecs');
  assert.equal(json.r.valid, true, json.r.payload);
  assert.match(json.r.payload, /"json":\{[^}]*"fe80::1%eth0"/);
  const regex = run('regex', 'fe80::1%eth0 login', 'ecs', '^(?<source__ip>\\S+) (?<message>.*)$');
  assert.equal(regex.r.valid, true, regex.r.payload);
  const doc = JSON.parse(regex.r.payload) as { source?: unknown; json: { source: { ip: string } } };
  assert.equal(doc.source, undefined);
  assert.equal(doc.json.source.ip, 'fe80::1%eth0');
});
