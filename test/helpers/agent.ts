/**
 * End-to-end fixture: a temp directory with test certificates, an HMAC key, a
 * log directory and a config, a real TLS receiver in this process, and
 * `logward run` as a child process (so SIGTERM and SIGKILL are real).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import assert from 'node:assert/strict';

import { parseRfc5424 } from '../../src/encode/rfc5424.js';
import { loadHmacKey } from '../../src/seal/key.js';
import { parseReceivedLine } from '../../src/seal/received.js';
import { verifyStream, type SealedEntry } from '../../src/seal/verify.js';
import { SyslogReceiver } from '../../src/sink/receiver.js';
import { makeTestPki, type TestPki } from './certs.js';
import { CLI } from './cli.js';

export const SD_ID = 'logward@32473';

export interface AgentEnv {
  dir: string;
  logs: string;
  state: string;
  keyFile: string;
  pki: TestPki;
}

export async function makeAgentEnv(dir: string): Promise<AgentEnv> {
  const logs = join(dir, 'logs');
  const state = join(dir, 'state');
  mkdirSync(logs, { recursive: true });
  const pki = await makeTestPki(dir);
  const keyFile = join(dir, 'hmac.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return { dir, logs, state, keyFile, pki };
}

export function writeAgentConfig(env: AgentEnv, port: number, extra: { inputs?: string; output?: string; agent?: string; resendWindow?: string; monitoring?: string; alerts?: string; shutdownGrace?: string } = {}): string {
  const file = join(env.dir, 'logward.yaml');
  writeFileSync(
    file,
    `agent: { id: test-agent, state_dir: ${env.state}, shutdown_grace: ${extra.shutdownGrace ?? '5s'} ${extra.agent ?? ''} }
inputs:
${
  extra.inputs ??
  `  - id: app
    type: file
    paths: ["${env.logs}/*.log"]
    parser: auto
    start_at: beginning`
}
sources: { rescan_interval: 1s }
output:
  format: ecs
  destination:
    protocol: tls
    hosts: ["127.0.0.1:${port}"]
    server_name: localhost
    ca: ${env.pki.ca}
    dead_after: 5s
  retry: { min_delay: 100ms, max_delay: 1s }
  resend_window: ${extra.resendWindow ?? '{ bytes: 64KiB, age: 2s }'}
${extra.output ?? ''}
integrity: { key_file: ${env.keyFile} }
monitoring: ${extra.monitoring ?? '{ metrics: { listen: "127.0.0.1:0" } }'}
${extra.alerts ?? ''}
`,
  );
  return file;
}

/** A receiver that keeps every record it stored, as the SIEM would. */
export class TestReceiver {
  readonly records: string[] = [];
  private receiver: SyslogReceiver | undefined;
  port = 0;

  constructor(private readonly env: AgentEnv) {}

  async start(port = 0): Promise<number> {
    this.receiver = new SyslogReceiver({
      host: '127.0.0.1',
      port,
      cert: this.env.pki.serverCert,
      key: this.env.pki.serverKey,
      out: join(this.env.dir, 'received.log'),
      onRecord: (m) => this.records.push(m.toString('utf8')),
    });
    this.port = (await this.receiver.start()).port;
    return this.port;
  }

  async stop(): Promise<void> {
    await this.receiver?.stop();
    this.receiver = undefined;
  }

  /** event.original of every received ordinary event, in arrival order. */
  originals(): string[] {
    const out: string[] = [];
    for (const r of this.records) {
      const m = parseRfc5424(r);
      const ev = JSON.parse(m.msg ?? '{}') as { event?: { original?: string; module?: string } };
      if (ev.event?.module !== 'logward' && ev.event?.original !== undefined) out.push(ev.event.original);
    }
    return out;
  }

  actions(): string[] {
    const out: string[] = [];
    for (const r of this.records) {
      const ev = JSON.parse(parseRfc5424(r).msg ?? '{}') as { event?: { action?: string; module?: string } };
      if (ev.event?.module === 'logward' && ev.event.action) out.push(ev.event.action);
    }
    return out;
  }
}

export class AgentProcess {
  readonly child: ChildProcess;
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** nodeArgs: more of node's own options, before the CLI (a module preloaded with --import). */
  constructor(configFile: string, nodeArgs: readonly string[] = []) {
    this.child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, CLI, 'run', '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  async waitForLog(pattern: RegExp, deadlineMs = 30_000): Promise<void> {
    const t0 = Date.now();
    while (!pattern.test(this.stderr)) {
      if (this.child.exitCode !== null) throw new Error(`agent exited ${this.child.exitCode}:\n${this.stderr}`);
      if (Date.now() - t0 > deadlineMs) throw new Error(`agent log never matched ${pattern}:\n${this.stderr.slice(-4000)}`);
      await sleep(50);
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until(cond: () => boolean, what: string, deadlineMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** What the receiver stored, verified with the agent's key (every record must parse as ours). */
export async function verifiedReceived(receiver: TestReceiver, keyFile: string): Promise<ReturnType<typeof verifyStream>> {
  const key = await loadHmacKey(keyFile);
  const entries: SealedEntry[] = [];
  for (const r of receiver.records) {
    const p = parseReceivedLine(r, SD_ID);
    assert.ok(p.ok, p.ok ? '' : p.reason);
    entries.push(p.entry);
  }
  return verifyStream(entries, new Map([[key.keyId, key.key]]));
}
