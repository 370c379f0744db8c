/**
 * The watcher, end to end: `logward run` tails temp files into a real rsyslog
 * TLS receiver (and asks a real chronyd, shifted +5 s by libfaketime, for the
 * time). Everything is judged from what rsyslog stored: the alerts, the tamper
 * alert, the heartbeat, the drift alert, the reloads; then `logward verify`
 * proves the stored stream intact and catches an edit, a deletion and a swap.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { parseRfc5424 } from '../../src/encode/rfc5424.js';
import { AgentProcess, makeAgentEnv, sleep, until, writeAgentConfig } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../sink/util.js';
import { ChronyServer, chronydMissing, faketimeMissing, freeUdpPort } from './chrony-fixture.js';
import { RsyslogReceiver, rsyslogMissing } from './rsyslog-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'logward-watcher-'));
after(() => rmSync(root, { recursive: true, force: true }));
const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();

interface Stored {
  id?: string;
  action?: string;
  kind?: string;
  message?: string;
  original?: string;
}

function stored(r: RsyslogReceiver): Stored[] {
  return r.storedRecords().map((rec) => {
    const ev = JSON.parse(parseRfc5424(rec.toString('utf8')).msg ?? '{}') as { message?: string; event?: { id?: string; action?: string; kind?: string; original?: string } };
    return { id: ev.event?.id, action: ev.event?.action, kind: ev.event?.kind, message: ev.message, original: ev.event?.original };
  });
}
/** Distinct events by event.id: a frame replayed from the resend window after a reconnect is the same event. */
const count = (r: RsyslogReceiver, action: string): number => new Set(stored(r).filter((e) => e.action === action).map((e) => e.id)).size;

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('alerts, tamper, heartbeat, drift and reloads reach rsyslog, and the stored stream verifies', { skip: rsyslogMissing(), timeout: 240_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'e2e'));
  const port = await freePort();
  const metricsPort = await freePort();
  const rsyslog = new RsyslogReceiver({ dir: env.dir, port, ca: env.pki.ca, cert: env.pki.serverCert, key: env.pki.serverKey });
  await rsyslog.start();
  const drift = !chronydMissing() && !faketimeMissing();
  let chrony: ChronyServer | undefined;
  let ntp = '';
  if (drift) {
    const ntpPort = await freeUdpPort();
    chrony = new ChronyServer({ dir: env.dir, port: ntpPort, fakeShift: '+5s' });
    await chrony.start();
    ntp = `, clock: { ntp_servers: ["127.0.0.1:${ntpPort}"], interval: 2s, max_offset: 500ms }`;
  }
  const monitoring = `{ metrics: { listen: "127.0.0.1:${metricsPort}" }, heartbeat: 2s${ntp} }`;
  const inputs = `  - { id: auth, type: file, paths: ["${env.logs}/auth.log"], parser: auth, start_at: beginning }
  - { id: app, type: file, paths: ["${env.logs}/app.log"], parser: auto, start_at: beginning }`;
  const configText = (): string => readFileSync(configFile, 'utf8');
  const configFile = writeAgentConfig(env, port, { monitoring, inputs });
  const goodConfig = configText();
  writeFileSync(join(env.logs, 'auth.log'), '');
  writeFileSync(join(env.logs, 'app.log'), 'app started\n');
  let agent = new AgentProcess(configFile);
  try {
    await agent.waitForLog(/logward started/);
    // 25 failed logins from one IP within 10 s (one user: no spraying), 6 users from another IP.
    let auth = '';
    for (let i = 0; i < 25; i++) auth += `Nov 22 10:01:${String(i).padStart(2, '0')} web sshd[${900 + i}]: Failed password for root from 203.0.113.9 port ${40000 + i} ssh2\n`;
    for (const u of ['admin', 'oracle', 'test', 'guest', 'ubuntu', 'deploy']) auth += `Nov 22 10:02:00 web sshd[990]: Failed password for invalid user ${u} from 198.51.100.77 port 41000 ssh2\n`;
    appendFileSync(join(env.logs, 'auth.log'), auth);
    await until(() => count(rsyslog, 'rule_credential-stuffing') >= 1 && count(rsyslog, 'rule_password-spraying') >= 1, 'both rule alerts at rsyslog');

    // A live file emptied outside a rotation.
    appendFileSync(join(env.logs, 'app.log'), 'important evidence\n'.repeat(20));
    await until(() => stored(rsyslog).filter((e) => e.original === 'important evidence').length >= 20, 'app lines');
    truncateSync(join(env.logs, 'app.log'), 0);
    await until(() => count(rsyslog, 'log_file_truncated') >= 1, 'tamper alert at rsyslog');
    await until(() => count(rsyslog, 'agent_heartbeat') >= 1, 'a heartbeat at rsyslog');
    if (drift) await until(() => count(rsyslog, 'clock_drift_detected') >= 1, 'drift alert at rsyslog', 60_000);

    // Metrics: valid exposition format, values that match what was sent.
    const metrics = await get(metricsPort, '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /logward_lines_read_total\{input="auth"\} 31\b/);
    if (promtool) {
      const check = spawnSync(promtool, ['check', 'metrics'], { input: metrics.body, encoding: 'utf8' });
      assert.equal(check.status, 0, check.stdout + check.stderr);
    }
    assert.equal((await get(metricsPort, '/healthz')).status, 200);
    const status = await runCli(['status', '-c', configFile]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /auth/);

    // SIGHUP with a broken config: rejected, the old one keeps running.
    writeFileSync(configFile, goodConfig.replace('heartbeat: 2s', 'heartbeat: often'));
    agent.child.kill('SIGHUP');
    await until(() => count(rsyslog, 'config_reload_rejected') >= 1, 'reload rejection at rsyslog');
    appendFileSync(join(env.logs, 'auth.log'), 'Nov 22 10:03:00 web sshd[1]: Accepted publickey for alice from 192.0.2.1 port 22 ssh2\n');
    await until(() => stored(rsyslog).some((e) => e.original?.includes('Accepted publickey for alice')), 'lines still shipped after the rejected reload');

    // SIGHUP with a valid config that weakens a control: reloaded, and the weakening is announced.
    writeFileSync(configFile, goodConfig + `alerts:\n  - { name: credential-stuffing, when: { event.category: authentication, event.outcome: failure }, group_by: source.ip, threshold: 50, window: 60s }\n`);
    agent.child.kill('SIGHUP');
    await until(() => count(rsyslog, 'config_reloaded') >= 1 && count(rsyslog, 'config_controls_weakened') >= 1, 'reload events at rsyslog');
    assert.match(stored(rsyslog).find((e) => e.action === 'config_controls_weakened')?.message ?? '', /credential-stuffing: threshold 10 -> 50/);

    // A restart in between is a declared boundary too.
    assert.equal((await agent.stop('SIGTERM')).code, 0, agent.stderr.slice(-2000));
    agent = new AgentProcess(configFile);
    await agent.waitForLog(/logward started/);
    appendFileSync(join(env.logs, 'auth.log'), 'Nov 22 10:04:00 web sshd[2]: Accepted publickey for bob from 192.0.2.2 port 22 ssh2\n');
    await until(() => stored(rsyslog).some((e) => e.original?.includes('for bob')), 'line after the restart');
    assert.equal((await agent.stop('SIGTERM')).code, 0);
    await sleep(300);
    await rsyslog.stop('SIGTERM');

    assert.equal(count(rsyslog, 'rule_credential-stuffing'), 1, 'exactly one credential-stuffing alert');
    assert.equal(count(rsyslog, 'rule_password-spraying'), 1, 'exactly one spraying alert');
    assert.equal(count(rsyslog, 'log_file_truncated'), 1, 'exactly one tamper alert');
    const checkpoint = JSON.parse(readFileSync(join(env.state, 'checkpoints', 'auth.json'), 'utf8')) as { entries?: Record<string, { offset: number }> };
    const size = readFileSync(join(env.logs, 'auth.log')).length;
    assert.ok(Object.values(checkpoint.entries ?? {}).some((e) => e.offset === size), 'checkpoint committed at the end of auth.log');

    // The stored stream verifies; the restart and the reloads are declared.
    const out = rsyslog.outFile;
    const ok = await runCli(['verify', '--key', env.keyFile, out]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /RESTART declared/);

    const lines = readFileSync(out, 'utf8').split('\n').filter((l) => l.length > 0);
    const tamperedCopy = async (name: string, edit: (l: string[]) => string[]): Promise<string> => {
      const f = join(env.dir, name);
      writeFileSync(f, edit([...lines]).join('\n') + '\n');
      const r = await runCli(['verify', '--key', env.keyFile, f]);
      assert.equal(r.code, 1, `${name}: ${r.stdout}`);
      return r.stdout;
    };
    const seqOf = (l: string): string => /seq="(\d+)"/.exec(l)![1]!;
    // Tamper with records delivered once: a record that also arrived as a replay has an intact copy.
    const seqCount = new Map<string, number>();
    for (const l of lines) seqCount.set(seqOf(l), (seqCount.get(seqOf(l)) ?? 0) + 1);
    const once = lines.map((l, i) => (seqCount.get(seqOf(l)) === 1 ? i : -1)).filter((i) => i >= 0);
    const pairs = once.filter((i) => i > 0 && once.includes(i + 1) && seqOf(lines[i - 1]!) !== '0');
    const mid = pairs[Math.floor(pairs.length / 2)] ?? -1;
    assert.ok(mid >= 0, 'two adjacent records delivered once');
    const byte = await tamperedCopy('byte.log', (l) => {
      l[mid] = l[mid]!.replace('"message":"', '"message":"X');
      return l;
    });
    assert.match(byte, new RegExp(`ALTERED.*${seqOf(lines[mid]!)}`));
    const gap = await tamperedCopy('gap.log', (l) => l.filter((_x, i) => i !== mid));
    assert.match(gap, new RegExp(`GAP.*${seqOf(lines[mid]!)}`));
    const swap = await tamperedCopy('swap.log', (l) => {
      [l[mid], l[mid + 1]] = [l[mid + 1]!, l[mid]!];
      return l;
    });
    assert.match(swap, /REORDER/);
  } finally {
    await agent.stop('SIGKILL');
    await rsyslog.stop('SIGKILL');
    await chrony?.stop();
  }
});
