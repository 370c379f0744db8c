/**
 * Microbenchmark of the encoders on a typical 29-field sshd event:
 * `node --import tsx bench/encode.ts`. Prints µs per call; numbers depend on
 * the machine, compare them with each other, not across machines.
 */
import { encodeCef } from '../src/encode/cef.js';
import { encodeEcs, nestEcs, nestEcsGeneric, stringifyEcs } from '../src/encode/ecs.js';
import { assembleSyslog, syslogParts } from '../src/encode/rfc5424.js';
import { createValidators, encodeEvent } from '../src/encode/validate.js';
import type { EcsFields, LogEvent } from '../src/event/types.js';
import { Counters } from '../src/monitor/counters.js';

const original = 'May 20 10:13:20 web01 sshd[4242]: Failed password for invalid user admin from 203.0.113.7 port 52344 ssh2';
const fields: EcsFields = {
  'ecs.version': '9.4.0',
  message: 'Failed password for invalid user admin from 203.0.113.7 port 52344 ssh2',
  'process.name': 'sshd', 'process.pid': 4242, 'source.ip': '203.0.113.7', 'source.port': 52344, 'user.name': 'admin',
  'event.category': ['authentication'], 'event.type': ['start'], 'event.outcome': 'failure', 'event.action': 'ssh_login',
  '@timestamp': '2024-05-20T10:13:20.000Z', 'event.kind': 'event', 'event.created': '2024-05-20T10:13:20.412Z',
  'event.original': original, 'event.hash': '331684d9be66a80590b42117d9a3d0fbf346f0370f265eaf07c9a871bc1a873a',
  'event.id': '0b6c1f5e7a434c7e9a513a0d3f1c2b11', 'event.module': 'auth', 'log.file.path': '/var/log/auth.log',
  'log.offset': 88213, 'agent.type': 'logward', 'agent.name': 'web-01', 'agent.id': 'web-01', 'agent.version': '0.1.0',
  'host.name': 'web-01', 'logward.input': 'system', 'related.ip': ['203.0.113.7'], 'related.user': ['admin'],
  tags: ['invalid_user'],
};
const ev: LogEvent = { fields, source: { input: 'system', identity: 'x' }, severity: 5, classId: 'auth:ssh_login_failure', name: 'SSH login failed' };
const cef = { vendor: 'logward', product: 'logward', version: '0.1.0' };
const counters = new Counters();
const validators = createValidators();
const doc = nestEcs(fields);

function bench(name: string, fn: () => unknown, n = 200_000): void {
  for (let i = 0; i < 20_000; i++) fn();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const us = Number(process.hrtime.bigint() - t) / n / 1000;
  console.log(`${name.padEnd(44)} ${us.toFixed(2)} µs`);
}

bench('JSON.stringify(flat fields) (floor)', () => JSON.stringify(fields));
bench('nestEcs, generic path (keyed stores)', () => nestEcsGeneric(fields));
bench('nestEcs, compiled per shape', () => nestEcs(fields));
bench('stringifyEcs(nested)', () => stringifyEcs(doc));
bench('encodeEcs', () => encodeEcs(ev));
bench('validateEcs(nested)', () => validators.validateEcs(doc));
bench('encodeEvent ecs (nest+validate+stringify)', () => encodeEvent(ev, 'ecs', { counters, validators }));
bench('encodeCef', () => encodeCef(ev, cef));
bench('encodeEvent cef (build+validate+serialize)', () => encodeEvent(ev, 'cef', { counters, cef, validators }));
const payload = encodeEcs(ev);
const opts = { sdId: 'logward@32473', msgId: 'ECS' as const, agentId: 'web-01', hostname: 'web-01.example.com' };
bench('syslogParts+assembleSyslog (ECS payload)', () =>
  assembleSyslog(syslogParts(ev, payload, opts), { session: 'abcd', seq: 42, chain: 'ff'.repeat(32) }),
);
