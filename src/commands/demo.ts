/**
 * `logward demo`: the whole agent on one machine, in under a minute, with
 * nothing but Node. Temporary certificates and HMAC key in a private temp
 * directory, a local RFC 5425 receiver, sample logs written live (an app's
 * JSON log, nginx, auth.log with a credential-stuffing attack, password
 * spraying, a log-injection attempt and a leaked secret), every event printed
 * as it arrives, the alerts, and finally `verify` over what was received.
 *
 * It runs the real pipeline (the same code as `logward run`), in process.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';

import pino from 'pino';

import { loadConfigText } from '../config/load.js';
import { issue, makeCa } from '../demo/pki.js';
import { parseRfc5424 } from '../encode/rfc5424.js';
import { Pipeline } from '../pipeline.js';
import { SyslogReceiver } from '../sink/receiver.js';
import { runVerify } from './verify.js';

export interface DemoOptions {
  /** Keep the temp directory (received events, config, state) for a look afterwards. */
  keep: boolean;
  /** Seconds between sample lines; the default keeps the whole demo well under a minute. */
  paceMs?: number;
}

interface Received {
  ts?: string;
  action?: string;
  kind?: string;
  module?: string;
  message?: string;
  user?: string;
  ip?: string;
  tags?: string[];
  input?: string;
}

const ATTACKER = '203.0.113.9';
const SPRAYER = '198.51.100.77';

/** The sample logs, in the order they are written: [file, line]. */
function script(): [string, string][] {
  const t = (s: number): string => `Nov 22 10:${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  const lines: [string, string][] = [
    ['app.log', '{"@timestamp":"2026-11-22T10:00:01.000Z","level":"info","message":"order created","order_id":"A-1001","user":{"name":"alice"}}'],
    ['nginx.log', '198.51.100.20 - - [22/Nov/2026:10:00:02 +0000] "GET /shop/cart HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64)"'],
    ['auth.log', `${t(3)} web01 sshd[801]: Accepted publickey for alice from 198.51.100.20 port 50122 ssh2: ED25519 SHA256:Zq3mQk0J4mXc6v2yL1oAq9xPZbDk7rE5sUuWn8hT2fY`],
    ['app.log', '{"@timestamp":"2026-11-22T10:00:04.000Z","level":"warn","message":"payment declined","card":"4111 1111 1111 1111","user":{"name":"bob"}}'],
  ];
  for (let i = 0; i < 12; i++) {
    lines.push(['auth.log', `${t(10 + i)} web01 sshd[${900 + i}]: Failed password for root from ${ATTACKER} port ${40000 + i} ssh2`]);
  }
  for (const [i, u] of ['admin', 'oracle', 'test', 'guest', 'ubuntu', 'deploy'].entries()) {
    lines.push(['auth.log', `${t(30 + i)} web01 sshd[${950 + i}]: Failed password for invalid user ${u} from ${SPRAYER} port ${41000 + i} ssh2`]);
  }
  lines.push(
    // A CR trying to forge a second, successful login; ANSI colours and a bidi override trying to fool a terminal.
    // (sshd logs an invalid user name verbatim, so the attacker controls that part of the line.)
    ['auth.log', `${t(40)} web01 sshd[990]: Failed password for invalid user x\rNov 22 10:00:41 web01 sshd[991]: Accepted password for root from ${ATTACKER} port 40100 ssh2`],
    ['app.log', '{"@timestamp":"2026-11-22T10:00:42.000Z","level":"error","message":"login failed for \\u001b[32madmin\\u001b[0m \\u202egnp.exe","client":{"ip":"203.0.113.9"}}'],
    ['nginx.log', `${ATTACKER} - - [22/Nov/2026:10:00:43 +0000] "GET /api/orders?access_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ HTTP/1.1" 401 12 "-" "python-requests/2.32"`],
    ['auth.log', `${t(50)} web01 sudo:  mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/bin/cat /etc/shadow`],
  );
  return lines;
}

export async function runDemo(opts: DemoOptions, io: { stdout: Writable; stderr: Writable }): Promise<number> {
  const out = (s: string): void => void io.stdout.write(s + '\n');
  const dir = mkdtempSync(join(tmpdir(), 'logward-demo-'));
  const logs = join(dir, 'logs');
  mkdirSync(logs, { mode: 0o700 });
  let pipeline: Pipeline | undefined;
  let receiver: SyslogReceiver | undefined;
  try {
    out('logward demo: temporary certificates, a local TLS receiver, sample logs with an attack in them.');
    out(`(working directory ${dir}${opts.keep ? ', kept afterwards' : ', removed afterwards; --keep keeps it'})\n`);

    const ca = await makeCa('logward demo CA');
    const server = await issue(ca, { cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, ca.cert, { mode: 0o600 });
    writeFileSync(join(dir, 'server.pem'), server.cert, { mode: 0o600 });
    writeFileSync(join(dir, 'server.key'), server.key, { mode: 0o600 });
    const keyFile = join(dir, 'hmac.key');
    writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    for (const f of ['app.log', 'nginx.log', 'auth.log']) writeFileSync(join(logs, f), '');

    const received: Received[] = [];
    const receivedFile = join(dir, 'received.log');
    receiver = new SyslogReceiver({
      host: '127.0.0.1',
      port: 0,
      cert: join(dir, 'server.pem'),
      key: join(dir, 'server.key'),
      out: receivedFile,
      onRecord: (m) => {
        const ev = describe(m.toString('utf8'));
        received.push(ev);
        if (ev.action !== 'agent_heartbeat') out(render(ev));
      },
    });
    const { port } = await receiver.start();

    const config = await loadConfigText(
      `agent: { id: demo-host, state_dir: ${JSON.stringify(join(dir, 'state'))}, shutdown_grace: 5s }
inputs:
  - { id: app, type: file, paths: [${JSON.stringify(join(logs, 'app.log'))}], parser: json, start_at: beginning }
  - { id: nginx, type: file, paths: [${JSON.stringify(join(logs, 'nginx.log'))}], parser: nginx, start_at: beginning }
  - { id: auth, type: file, paths: [${JSON.stringify(join(logs, 'auth.log'))}], parser: auth, start_at: beginning }
sources: { rescan_interval: 1s }
output:
  format: ecs
  destination: { protocol: tls, hosts: ["127.0.0.1:${port}"], server_name: localhost, ca: ${JSON.stringify(caFile)} }
  retry: { min_delay: 100ms, max_delay: 1s }
integrity: { key_file: ${JSON.stringify(keyFile)} }
monitoring: { metrics: { listen: "127.0.0.1:0" } }
`,
      join(dir, 'logward.yaml'),
      { checkFiles: true },
    );
    // The agent's own log goes to stderr only when something is wrong: the demo shows events, not chatter.
    pipeline = new Pipeline(config, { log: pino({ level: 'warn' }, pino.destination({ fd: 2, sync: true })) });
    await pipeline.start();

    const lines = script();
    const pace = opts.paceMs ?? 150;
    for (const [file, line] of lines) {
      appendFileSync(join(logs, file), line + '\n');
      await sleep(pace);
    }
    const ordinary = (): number => received.filter((e) => e.module !== 'logward').length;
    const fired = (name: string): boolean => received.some((e) => e.action === `rule_${name}`);
    const deadline = Date.now() + 30_000;
    while ((ordinary() < lines.length || !fired('credential-stuffing') || !fired('password-spraying')) && Date.now() < deadline) await sleep(100);

    await pipeline.stop();
    pipeline = undefined;
    await receiver.stop();
    receiver = undefined;

    out('\n── verify: sessions, sequence numbers and HMAC chain of what the receiver stored ──');
    const verdict = await runVerify({ keyFile, file: receivedFile }, { stdout: io.stdout, stderr: io.stderr });

    const alerts = received.filter((e) => e.kind === 'alert' && e.action?.startsWith('rule_'));
    out('\n── summary ──');
    out(`${ordinary()} of ${lines.length} log lines arrived as events; ${alerts.length} rule alerts (${[...new Set(alerts.map((a) => a.action))].join(', ') || 'none'})`);
    out(`secrets masked in ${received.filter((e) => e.tags?.includes('secrets_redacted')).length} events, injection attempts neutralized in ${received.filter((e) => e.tags?.includes('log_injection_neutralized')).length}`);
    const ok = verdict === 0 && ordinary() >= lines.length && fired('credential-stuffing') && fired('password-spraying');
    out(ok ? 'demo: everything arrived, the attack was detected, the stream verifies.' : 'demo: something is missing (see above).');
    return ok ? 0 : 1;
  } finally {
    await pipeline?.stop().catch((e: unknown) => io.stderr.write(`demo: stopping the agent: ${(e as Error).message}\n`));
    await receiver?.stop().catch((e: unknown) => io.stderr.write(`demo: stopping the receiver: ${(e as Error).message}\n`));
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

function describe(record: string): Received {
  const msg = parseRfc5424(record).msg ?? '{}';
  const ev = JSON.parse(msg) as {
    '@timestamp'?: string;
    message?: string;
    tags?: string[];
    event?: { action?: string; kind?: string; module?: string };
    user?: { name?: string };
    source?: { ip?: string };
    client?: { ip?: string };
    logward?: { input?: string };
  };
  return {
    ...(ev['@timestamp'] !== undefined ? { ts: ev['@timestamp'] } : {}),
    ...(ev.event?.action !== undefined ? { action: ev.event.action } : {}),
    ...(ev.event?.kind !== undefined ? { kind: ev.event.kind } : {}),
    ...(ev.event?.module !== undefined ? { module: ev.event.module } : {}),
    ...(ev.message !== undefined ? { message: ev.message } : {}),
    ...(ev.user?.name !== undefined ? { user: ev.user.name } : {}),
    ...((ev.source?.ip ?? ev.client?.ip) !== undefined ? { ip: ev.source?.ip ?? ev.client?.ip } : {}),
    ...(ev.tags !== undefined ? { tags: ev.tags } : {}),
    ...(ev.logward?.input !== undefined ? { input: ev.logward.input } : {}),
  };
}

/** One readable line per event. Every string here already went through the neutralizer: nothing can drive the terminal. */
function render(e: Received): string {
  const time = e.ts ? e.ts.slice(11, 19) : '--:--:--';
  if (e.kind === 'alert') return `${time}  ALERT  ${e.message ?? e.action ?? ''}`;
  if (e.module === 'logward') return `${time}  agent  ${e.message ?? e.action ?? ''}`;
  const who = [e.user ? `user=${e.user}` : '', e.ip ? `src=${e.ip}` : ''].filter(Boolean).join(' ');
  const tags = e.tags && e.tags.length > 0 ? `  [${e.tags.join(', ')}]` : '';
  const text = (e.message ?? '').length > 90 ? `${(e.message ?? '').slice(0, 87)}...` : (e.message ?? '');
  return `${time}  ${(e.input ?? '').padEnd(5)}  ${(e.action ?? '').padEnd(20)} ${who.padEnd(32)} ${text}${tags}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
