import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { register as globalRegistry } from 'prom-client';

import { health, MetricsServer, RULE_FIRING_PREFIX } from '../../src/monitor/metrics.js';
import { snapshotFromJson, type AgentSnapshot } from '../../src/monitor/snapshot.js';

const havePromtool = spawnSync('promtool', ['--version']).status === 0;

const NOW = Date.parse('2025-03-01T12:00:00.000Z');

/** Distinct values everywhere, so a metric wired to the wrong counter cannot pass. */
function knownSnapshot(): AgentSnapshot {
  return {
    agentId: 'web-01',
    version: '9.8.7',
    startedAt: NOW - 3_723_000,
    now: NOW,
    session: 'sess-1234',
    counters: {
      lines_read: 1009,
      frames_written: 997,
      events_neutralized: 13,
      events_redacted: 17,
      events_invalid: 19,
      events_truncated: 23,
      queue_dropped_records: 29,
      internal_events: 31,
      bytes_unread_released: 4099,
      reconnects: 3,
      tls_failures: 5,
      source_bytes_read: 123457,
      [`${RULE_FIRING_PREFIX}credential-stuffing`]: 2,
      [`${RULE_FIRING_PREFIX}password-spraying`]: 7,
    },
    inputs: [
      { id: 'nginx', type: 'file', linesRead: 1000, lastActivityAt: NOW - 3000, lagBytes: 512, openFiles: 2 },
      { id: 'system', type: 'journald', linesRead: 9 },
    ],
    queue: { bytes: 65536, records: 41, written: '1041', sent: '1030', acked: '1000', dropped: 29, blocked: true },
    sink: { connected: true, host: 'siem.example.com:6514', lastSendAt: NOW - 3000, reconnects: 3 },
    clock: { offsetMs: -250, drifting: false, lastCheckAt: NOW - 60_000 },
    recentAlerts: [{ at: NOW - 10_000, action: 'log_file_truncated', message: 'Log file /var/log/x.log was truncated outside a rotation' }],
    heartbeatMs: 60_000,
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(port: number, path: string, opts: { method?: string; body?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: false, headers: opts.host ? { host: opts.host } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Prometheus text → "name{k="v",…}" (labels sorted) → value. Every sample line must parse. */
function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable sample line: ${line}`);
    const labels: string[] = [];
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    let consumed = 0;
    for (let l = re.exec(body); l; l = re.exec(body)) {
      labels.push(`${l[1]}=${JSON.stringify(l[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c)))}`);
      consumed += l[0].length;
    }
    assert.equal(consumed, body.length, `labels not fully parsed: ${line}`);
    labels.sort();
    const key = labels.length > 0 ? `${m[1]}{${labels.join(',')}}` : m[1]!;
    assert.ok(!out.has(key), `duplicate series ${key}`);
    out.set(key, Number(m[3]));
  }
  return out;
}

function promtool(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out }));
    p.stdin.end(text);
  });
}

describe('metrics endpoint', () => {
  let current: AgentSnapshot = knownSnapshot();
  const server = new MetricsServer({ host: '127.0.0.1', port: 0 }, { snapshot: () => current });
  let port = 0;

  before(async () => {
    port = (await server.start()).port;
  });
  after(() => server.stop());

  test('GET /metrics reports exactly the values of the snapshot, under the documented names', async () => {
    current = knownSnapshot();
    const r = await http(port, '/metrics');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const m = parseProm(r.body);
    const expected: Record<string, number> = {
      logward_up: 1,
      'logward_build_info{version="9.8.7"}': 1,
      logward_start_time_seconds: (NOW - 3_723_000) / 1000,
      'logward_lines_read_total{input="nginx"}': 1000,
      'logward_lines_read_total{input="system"}': 9,
      'logward_input_lag_bytes{input="nginx"}': 512,
      'logward_input_open_files{input="nginx"}': 2,
      'logward_input_last_activity_timestamp_seconds{input="nginx"}': (NOW - 3000) / 1000,
      logward_events_shipped_total: 997,
      logward_events_neutralized_total: 13,
      logward_events_redacted_total: 17,
      logward_events_invalid_total: 19,
      logward_events_truncated_total: 23,
      logward_events_dropped_total: 29,
      logward_internal_events_total: 31,
      logward_unread_released_bytes_total: 4099,
      logward_sink_reconnects_total: 3,
      logward_tls_failures_total: 5,
      logward_queue_bytes: 65536,
      logward_queue_records: 41,
      logward_queue_backlog_records: 11,
      logward_queue_blocked: 1,
      logward_sink_connected: 1,
      logward_last_send_timestamp_seconds: (NOW - 3000) / 1000,
      logward_clock_offset_seconds: -0.25,
      logward_clock_drifting: 0,
      'logward_rule_firings_total{rule="credential-stuffing"}': 2,
      'logward_rule_firings_total{rule="password-spraying"}': 7,
    };
    for (const [k, v] of Object.entries(expected)) assert.equal(m.get(k), v, k);
    // Every internal counter, verbatim, and nothing else under logward_internal_count_total.
    const generic = [...m.keys()].filter((k) => k.startsWith('logward_internal_count_total{'));
    assert.equal(generic.length, Object.keys(current.counters).length);
    for (const [name, v] of Object.entries(current.counters)) assert.equal(m.get(`logward_internal_count_total{name=${JSON.stringify(name)}}`), v, name);
    // Inputs without lag/open files/activity have no series, rather than a made-up 0.
    assert.equal(m.has('logward_input_lag_bytes{input="system"}'), false);
    assert.equal(m.has('logward_input_last_activity_timestamp_seconds{input="system"}'), false);
    // The agent's own process metrics are there too.
    assert.ok(m.has('process_resident_memory_bytes'));
  });

  test('each scrape reads a fresh snapshot', async () => {
    current = knownSnapshot();
    current.counters['frames_written'] = 5000;
    current.inputs[0]!.linesRead = 4242;
    const m = parseProm((await http(port, '/metrics')).body);
    assert.equal(m.get('logward_events_shipped_total'), 5000);
    assert.equal(m.get('logward_lines_read_total{input="nginx"}'), 4242);
  });

  test('unknown values are absent, not zero: no clock offset before NTP answers, no last send before the first', async () => {
    current = knownSnapshot();
    delete current.clock;
    current.sink = { connected: false, reconnects: 0 };
    delete current.queue;
    const r = await http(port, '/metrics');
    const m = parseProm(r.body);
    for (const name of ['logward_clock_offset_seconds', 'logward_clock_drifting', 'logward_last_send_timestamp_seconds', 'logward_queue_bytes', 'logward_queue_blocked']) {
      assert.equal(m.has(name), false, name);
    }
    assert.equal(m.get('logward_sink_connected'), 0);
    assert.match(r.body, /# TYPE logward_clock_offset_seconds gauge/);
  });

  test('promtool check metrics accepts the scrape with no errors and no lint warnings', { skip: havePromtool ? false : 'promtool not installed (Debian package prometheus)' }, async () => {
    current = knownSnapshot();
    // Label values that need escaping must still be valid exposition text.
    current.inputs.push({ id: 'we"ird\\name', type: 'file', linesRead: 1 });
    const full = await promtool((await http(port, '/metrics')).body);
    assert.equal(full.code, 0, full.out);
    assert.equal(full.out.trim(), '', full.out);
    const bare = knownSnapshot();
    bare.counters = {};
    bare.inputs = [];
    delete bare.queue;
    delete bare.sink;
    delete bare.clock;
    current = bare;
    const empty = await promtool((await http(port, '/metrics')).body);
    assert.equal(empty.code, 0, empty.out);
    assert.equal(empty.out.trim(), '', empty.out);
  });

  test('the metrics live in the server’s own registry, not prom-client’s global one', async () => {
    const text = await globalRegistry.metrics();
    assert.doesNotMatch(text, /logward_/);
    // Two servers in one process do not collide.
    const other = new MetricsServer({ host: '127.0.0.1', port: 0 }, { snapshot: knownSnapshot });
    const s = await other.start();
    try {
      assert.equal((await http(s.port, '/metrics')).status, 200);
    } finally {
      await other.stop();
    }
  });

  test('GET /healthz: 200 "ok" when connected and the last send is within two heartbeats', async () => {
    current = knownSnapshot();
    current.sink!.lastSendAt = NOW - 2 * 60_000;
    const r = await http(port, '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok\n');
  });

  test('GET /healthz: 200 when nothing waits to be sent, however long ago the last send was', async () => {
    current = knownSnapshot();
    current.queue = { ...current.queue!, sent: current.queue!.written };
    current.sink!.lastSendAt = NOW - 3_600_000;
    assert.equal((await http(port, '/healthz')).status, 200);
  });

  test('GET /healthz: 503 with a one-line reason when events wait and the last send is older than two heartbeats', async () => {
    current = knownSnapshot();
    current.sink!.lastSendAt = NOW - 2 * 60_000 - 1;
    const r = await http(port, '/healthz');
    assert.equal(r.status, 503);
    assert.equal(r.body, '11 events waiting and the last send was 120 s ago (more than two heartbeats)\n');
  });

  test('GET /healthz: 503 when not connected, even with nothing queued', async () => {
    current = knownSnapshot();
    current.queue = { ...current.queue!, sent: current.queue!.written };
    current.sink = { connected: false, host: 'siem.example.com:6514', reconnects: 3 };
    const r = await http(port, '/healthz');
    assert.equal(r.status, 503);
    assert.equal(r.body, 'not connected to the destination (last: siem.example.com:6514)\n');
    assert.equal(r.body.trimEnd().includes('\n'), false);
  });

  test('health: events waiting and nothing ever sent is unhealthy; no sink yet is unhealthy', () => {
    const s = knownSnapshot();
    delete s.sink!.lastSendAt;
    assert.equal(health(s).ok, false);
    delete s.sink;
    assert.deepEqual(health(s), { ok: false, reason: 'not started: no destination or queue yet' });
  });

  test('GET /status returns the snapshot as JSON, readable by snapshotFromJson', async () => {
    current = knownSnapshot();
    const r = await http(port, '/status');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const parsed: unknown = JSON.parse(r.body);
    assert.deepEqual(parsed, current);
    assert.deepEqual(snapshotFromJson(parsed), current);
  });

  test('unknown paths are 404, other methods 405 with Allow, HEAD answers headers only', async () => {
    current = knownSnapshot();
    const nf = await http(port, '/admin');
    assert.equal(nf.status, 404);
    const post = await http(port, '/status', { method: 'POST', body: 'x'.repeat(10_000) });
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
    const del = await http(port, '/metrics', { method: 'DELETE' });
    assert.equal(del.status, 405);
    const head = await http(port, '/status', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.ok(Number(head.headers['content-length']) > 0);
    // The query string does not change the route.
    assert.equal((await http(port, '/healthz?verbose=1')).status, 200);
  });

  test('on loopback, a Host header naming another host is refused (DNS rebinding)', async () => {
    const r = await http(port, '/status', { host: 'evil.example:80' });
    assert.equal(r.status, 403);
    assert.doesNotMatch(r.body, /web-01/);
    assert.equal((await http(port, '/status', { host: `localhost:${port}` })).status, 200);
    assert.equal((await http(port, '/status', { host: `[::1]:${port}` })).status, 200);
  });

  test('a snapshot that throws gives 500 and the server keeps answering', async () => {
    const errors: unknown[] = [];
    let broken = true;
    const s = new MetricsServer(
      { host: '127.0.0.1', port: 0, processMetrics: false },
      {
        snapshot: () => {
          if (broken) throw new Error('boom');
          return knownSnapshot();
        },
        log: { warn: () => undefined, error: (o) => errors.push(o) },
      },
    );
    const { port: p } = await s.start();
    try {
      assert.equal((await http(p, '/metrics')).status, 500);
      assert.equal(errors.length, 1);
      broken = false;
      assert.equal((await http(p, '/metrics')).status, 200);
    } finally {
      await s.stop();
    }
  });

  test('binds to the given host only and frees the port on stop', async () => {
    const s = new MetricsServer({ host: '127.0.0.1', port: 0, processMetrics: false }, { snapshot: knownSnapshot });
    const { port: p } = await s.start();
    await s.stop();
    await assert.rejects(http(p, '/status'), /ECONNREFUSED/);
    // A port in use is an error at start, not a silent second listener.
    const a = new MetricsServer({ host: '127.0.0.1', port: 0, processMetrics: false }, { snapshot: knownSnapshot });
    const { port: taken } = await a.start();
    try {
      const b = new MetricsServer({ host: '127.0.0.1', port: taken, processMetrics: false }, { snapshot: knownSnapshot });
      await assert.rejects(b.start(), /EADDRINUSE/);
    } finally {
      await a.stop();
    }
  });
});
