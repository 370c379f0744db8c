/**
 * Every event the agent raises about itself must pass its own schema in both
 * output formats. One that does not is shipped as a schema_invalid stand-in
 * (no event.action, kind "event"), so a SIEM rule on its action never fires:
 * the certificate-expiry warning was such an event (a root "x509" field, which
 * ECS has only nested). Each kind of internal event is built here from the
 * builder the agent itself uses, in its plain and its edge-case forms.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeCef } from '../../src/encode/cef.js';
import { encodeEvent, TAG_SCHEMA_INVALID, type EncodeFormat } from '../../src/encode/validate.js';
import { ECS_VERSION } from '../../src/ecs/generated.js';
import {
  controlsWeakenedSpec,
  inputErrorSpec,
  InternalEvents,
  lostRangeSpec,
  metricsUnavailableSpec,
  reloadedSpec,
  reloadRejectedSpec,
  startSpec,
  stopSpec,
  type InternalEventSpec,
} from '../../src/event/internal.js';
import { queueSpec, sinkSpec, tamperSpec } from '../../src/event/signals.js';
import { ClockMonitor } from '../../src/monitor/clock.js';
import { Counters } from '../../src/monitor/counters.js';
import { heartbeatSpec, resumedSpec, silentSpec } from '../../src/monitor/heartbeat.js';
import type { AgentSnapshot, InputSnapshot } from '../../src/monitor/snapshot.js';
import type { SntpResult } from '../../src/monitor/sntp.js';
import type { QueueAlert } from '../../src/queue/disk-queue.js';
import { ruleAlertSpec } from '../../src/rules/engine.js';
import type { SinkEvent } from '../../src/sink/types.js';
import type { TamperKind } from '../../src/source/tamper.js';

const CEF_OPTS = { vendor: 'logward', product: 'logward', version: '0.1.0' };
const NOT_AFTER = '2026-12-20T12:00:00.000Z';
const CHAIN = 'ab'.repeat(32);

/** One sample per variant of every union, typed so that a new variant without a sample fails to compile. */
const SINK: { [K in SinkEvent['type']]: Extract<SinkEvent, { type: K }>[] } = {
  connected: [{ type: 'connected', host: 'siem.example:6514', protocol: 'tls', tlsVersion: 'TLSv1.3' }],
  disconnected: [{ type: 'disconnected', host: 'siem.example:6514', reason: 'reset' }],
  tls_failure: [
    { type: 'tls_failure', host: 'siem.example:6514', reason: 'unknown_ca', detail: 'unable to get local issuer certificate' },
    { type: 'tls_failure', host: 'siem.example:6514', reason: 'other', detail: '' },
  ],
  connect_failure: [{ type: 'connect_failure', host: 'siem.example:6514', reason: 'refused', detail: 'ECONNREFUSED' }],
  dead_connection: [
    { type: 'dead_connection', host: 'siem.example:6514', stalledMs: 30_000, cause: 'unacked' },
    { type: 'dead_connection', host: 'siem.example:6514', stalledMs: 30_000, cause: 'no_drain' },
  ],
  failback: [{ type: 'failback', from: 'b.example:6514', to: 'a.example:6514' }],
  cert_expiring: [
    // X509Certificate.subject of the client certificate: one RDN per line.
    { type: 'cert_expiring', which: 'client', days: 29, subject: 'C=DE\nO=Example\nCN=logward-agent', notAfter: NOT_AFTER },
    // The peer's certificate: its CN only, with the destination it came from.
    { type: 'cert_expiring', which: 'server', days: 3, subject: 'siem.example', notAfter: NOT_AFTER, host: 'siem.example:6514' },
    { type: 'cert_expiring', which: 'server', days: 0, subject: '', notAfter: NOT_AFTER },
  ],
  insecure_transport: [
    { type: 'insecure_transport', protocol: 'tcp' },
    { type: 'insecure_transport', protocol: 'udp' },
  ],
};

const QUEUE: { [K in QueueAlert['kind']]: Extract<QueueAlert, { kind: K }> } = {
  dropped: { kind: 'dropped', records: 120, bytes: 48_000, totalDropped: 300, unconfirmed: 4 },
  disk_full: { kind: 'disk_full', error: 'ENOSPC: no space left on device, write' },
  disk_recovered: { kind: 'disk_recovered', afterMs: 61_000 },
  error: { kind: 'error', error: 'EIO: i/o error, fsync' },
};

const TAMPER_KINDS: { [K in TamperKind]: K } = { truncated: 'truncated', deleted: 'deleted', replaced: 'replaced', unreadable: 'unreadable' };

const INPUT: InputSnapshot = { id: 'auth', type: 'file', linesRead: 10, lastActivityAt: Date.parse('2026-11-20T10:00:00Z') };

function snapshot(): AgentSnapshot {
  return {
    agentId: 'web-01',
    version: '0.1.0',
    startedAt: Date.parse('2026-11-20T10:00:00Z'),
    now: Date.parse('2026-11-20T11:00:00Z'),
    session: 'c0ffee00',
    counters: { lines_read: 1000, frames_written: 990, events_invalid: 2, bytes_unread_released: 12 },
    inputs: [INPUT],
    queue: { bytes: 4096, records: 10, written: '1010', sent: '1000', acked: '990', dropped: 0, blocked: false },
    sink: { connected: true, host: 'siem.example:6514', reconnects: 1 },
    recentAlerts: [],
    heartbeatMs: 60_000,
  };
}

/** The clock monitor's own events, raised by the monitor itself: drift, recovery, no server answering. */
async function clockSpecs(): Promise<InternalEventSpec[]> {
  const specs: InternalEventSpec[] = [];
  const rounds: (number | Error)[] = [5_000, 100_000, 3, new Error('timeout')];
  let round = 0;
  const mon = new ClockMonitor(
    { servers: [{ host: 'ntp.example', port: 123 }], intervalMs: 60_000, maxOffsetMs: 500 },
    {
      onSpec: (s) => specs.push(s),
      counters: new Counters(),
      query: async (host, port) => {
        await Promise.resolve();
        const a = rounds[round] as number | Error;
        if (a instanceof Error) throw a;
        const r: SntpResult = { server: `${host}:${port}`, offsetMs: a, delayMs: 1, stratum: 2, leap: 0, refId: '10.0.0.1', receivedAt: Date.now() };
        return r;
      },
    },
  );
  for (round = 0; round < rounds.length; round++) await mon.checkNow();
  await mon.stop();
  return specs;
}

async function everyInternalEvent(): Promise<InternalEventSpec[]> {
  const specs: InternalEventSpec[] = [];
  specs.push(startSpec({ session: 'c0ffee00', firstSeq: 1n, lastSeq: null, lastChain: '0'.repeat(64) }, '0.1.0', { recordsKept: 0, bytesCut: 0 }));
  specs.push(
    startSpec({ session: 'c0ffee01', firstSeq: 42n, previousSession: 'c0ffee00', lastSeq: 41n, lastChain: CHAIN }, '0.1.0', { recordsKept: 7, bytesCut: 512 }, 'old-name'),
  );
  specs.push(stopSpec('0.1.0', 'stopping', 'c0ffee00'), stopSpec('0.1.0', 'reloading', undefined));
  specs.push(lostRangeSpec({ session: 'c0ffee00', seq: 13n, firstSeq: 10n, lastSeq: 12n, lastChain: CHAIN, cause: 'EIO' }, 'EIO: i/o error, write', '0.1.0'));
  specs.push(reloadedSpec('/etc/logward/logward.yaml'));
  specs.push(controlsWeakenedSpec('/etc/logward/logward.yaml', ['redaction: builtin password removed', 'integrity: sealing off']));
  specs.push(reloadRejectedSpec('/etc/logward/logward.yaml', ['output.bogus_key: unknown key']));
  specs.push(metricsUnavailableSpec('127.0.0.1', 9464, 'listen EADDRINUSE: address already in use 127.0.0.1:9464'));
  for (const stage of ['scan', 'read', 'emit'] as const) specs.push(inputErrorSpec('auth', stage, stage === 'read' ? '' : 'EACCES: permission denied'));
  for (const kind of Object.values(TAMPER_KINDS)) {
    specs.push(tamperSpec({ kind, path: '/var/log/auth.log', identity: 'fp:1', sizeBefore: 4096, sizeAfter: 0, offset: 4096 }, 'auth'));
    specs.push(tamperSpec({ kind, path: '/var/log/auth.log', identity: 'fp:1', unchecked: 'input_removed' }, 'auth'));
  }
  for (const a of Object.values(QUEUE)) specs.push(queueSpec(a));
  for (const events of Object.values(SINK)) {
    for (const e of events) {
      const s = sinkSpec(e);
      if (s) specs.push(s);
    }
  }
  specs.push(heartbeatSpec(snapshot(), 60_000), silentSpec(INPUT, INPUT.lastActivityAt!, Date.parse('2026-11-20T11:00:00Z')));
  specs.push(resumedSpec(INPUT, INPUT.lastActivityAt!, Date.parse('2026-11-20T11:00:00Z')));
  specs.push(
    ruleAlertSpec({
      rule: 'ssh_bruteforce',
      groupKey: { 'source.ip': '203.0.113.9', 'user.name': 'root' },
      count: 5,
      threshold: 5,
      windowMs: 60_000,
      firstEventId: 'e1',
      lastEventId: 'e5',
      firstAt: '2026-11-20T10:59:00.000Z',
      lastAt: '2026-11-20T11:00:00.000Z',
      category: ['authentication'],
    }),
  );
  specs.push(...(await clockSpecs()));
  return specs;
}

function encode(spec: InternalEventSpec, format: EncodeFormat): { valid: boolean; errors: string[]; payload: string } {
  const events = new InternalEvents({ id: 'web-01', version: '0.1.0', hostName: 'web-01.example', ecsVersion: ECS_VERSION, session: 'c0ffee00' });
  const r = encodeEvent(events.make(spec, new Date('2026-11-20T11:00:00.000Z')), format, { counters: new Counters(), cef: CEF_OPTS });
  return { valid: r.valid, errors: r.errors ?? [], payload: r.payload };
}

test('the sample covers every kind of internal event the agent raises', async () => {
  const actions = new Set((await everyInternalEvent()).map((s) => s.action));
  for (const a of [
    'agent_started', 'agent_stopped', 'agent_heartbeat', 'queue_records_lost', 'config_reloaded', 'config_controls_weakened',
    'config_reload_rejected', 'metrics_endpoint_unavailable', 'input_error', 'log_file_truncated', 'log_file_deleted',
    'log_file_replaced', 'log_file_unreadable', 'queue_overflow_dropped', 'queue_disk_full', 'queue_disk_recovered', 'queue_error',
    'tls_verification_failed', 'destination_stalled', 'certificate_expiring', 'insecure_transport', 'input_silent', 'input_resumed',
    'rule_ssh_bruteforce', 'clock_drift_detected', 'clock_drift_recovered', 'clock_source_unreachable',
  ]) {
    assert.ok(actions.has(a), `no sample of ${a}`);
  }
});

for (const format of ['ecs', 'cef'] as const) {
  test(`every internal event passes the ${format.toUpperCase()} schema as itself, not as a schema_invalid stand-in`, async () => {
    const failed: string[] = [];
    for (const spec of await everyInternalEvent()) {
      const r = encode(spec, format);
      if (!r.valid || r.payload.includes(TAG_SCHEMA_INVALID)) failed.push(`${spec.action}: ${r.errors.join('; ')}`);
      else if (format === 'ecs') assert.equal((JSON.parse(r.payload) as { event: { action: string } }).event.action, spec.action);
      else assert.equal(decodeCef(r.payload).extension['act'], spec.action);
    }
    assert.deepEqual(failed, []);
  });
}

test("the certificate-expiry alert carries the certificate in ECS tls.client.x509 / tls.server.x509, a subject on one line", () => {
  const [client, server, noCn] = SINK.cert_expiring.map((e) => JSON.parse(encode(sinkSpec(e)!, 'ecs').payload) as Record<string, unknown>);
  assert.deepEqual((client as { event: unknown }).event, {
    action: 'certificate_expiring',
    category: ['configuration'],
    created: '2026-11-20T11:00:00.000Z',
    id: (client as { event: { id: string } }).event.id,
    kind: 'alert',
    module: 'logward',
    original: 'The client certificate C=DE, O=Example, CN=logward-agent expires in 29 days (2026-12-20T12:00:00.000Z)',
    type: ['info'],
  });
  assert.deepEqual(client!['tls'], { client: { x509: { not_after: NOT_AFTER, subject: { distinguished_name: 'C=DE, O=Example, CN=logward-agent' } } } });
  assert.equal(client!['x509'], undefined);
  assert.deepEqual(server!['tls'], { server: { x509: { not_after: NOT_AFTER, subject: { common_name: ['siem.example'] } } } });
  assert.deepEqual(server!['destination'], { address: 'siem.example:6514' });
  assert.equal(server!['message'], 'The server certificate siem.example expires in 3 days (2026-12-20T12:00:00.000Z)');
  assert.deepEqual(noCn!['tls'], { server: { x509: { not_after: NOT_AFTER } } });
  assert.equal(noCn!['message'], 'The server certificate expires in 0 days (2026-12-20T12:00:00.000Z)');
});
