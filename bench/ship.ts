/**
 * bench/ship: the real `logward run` (built dist/ when present, as in
 * production) reading 1,000,000 mixed lines (~150 bytes) from a file, disk
 * queue on, shipping over TLS to
 *   1. `logward receive` (a separate process), and
 *   2. rsyslog (imtcp + gtls, when installed),
 * measuring wall time, lines/s, the agent's CPU seconds and peak RSS (from
 * /proc, just before SIGTERM), the receiver's CPU; then p50/p99 latency
 * (append -> received) at 1,000 lines/s into an in-process receiver.
 *
 * To look inside the agent: BENCH_SHIP_LINES=200000 BENCH_LATENCY_SECONDS=5
 * AGENT_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" node --import tsx bench/ship.ts
 * LOGWARD_CLI=/path/to/other/dist/cli.js runs that build of the agent instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, createWriteStream, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { parseRfc5424 } from '../src/encode/rfc5424.js';
import { SyslogReceiver } from '../src/sink/receiver.js';
import { makeAgentEnv, writeAgentConfig, type AgentEnv } from '../test/helpers/agent.js';
import { RsyslogReceiver, rsyslogMissing } from '../test/interop/rsyslog-fixture.js';
import { freePort } from '../test/sink/util.js';
import { corpusLine } from './corpus.js';
import type { BenchResult } from './types.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST_CLI = join(ROOT, 'dist', 'cli.js');
const SRC_CLI = join(ROOT, 'src', 'cli.ts');

/** AGENT_NODE_ARGS (split on spaces) goes before the agent's script: --cpu-prof, --heap-prof, a heap limit… */
const AGENT_NODE_ARGS = (process.env.AGENT_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);

function agentCommand(): { args: string[]; label: string } {
  // Another build of the agent (e.g. `tsc --outDir /tmp/x`, with schemas/ copied beside it), to compare two builds.
  const cli = process.env.LOGWARD_CLI;
  if (cli !== undefined && cli !== '') return { args: [cli], label: cli };
  if (existsSync(DIST_CLI) && process.env.BENCH_TSX !== '1') return { args: [DIST_CLI], label: 'dist' };
  return { args: ['--import', 'tsx', SRC_CLI], label: 'tsx' };
}

interface ProcStats {
  cpuSeconds: number;
  /** The kernel's share of cpuSeconds: syscalls (queue writes, fsync, socket writes) rather than JavaScript. */
  systemSeconds: number;
  peakRssMiB: number;
}

const CLK_TCK = 100;

function procStats(pid: number): ProcStats {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
  return { cpuSeconds: (utime + stime) / CLK_TCK, systemSeconds: stime / CLK_TCK, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : NaN };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function startAgent(config: string): ChildProcess {
  const { args } = agentCommand();
  // The malloc settings the installed wrapper (install.sh) gives the agent, unless the caller sets its own.
  const env = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', ...process.env };
  const child = spawn(process.execPath, [...AGENT_NODE_ARGS, ...args, 'run', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'], env });
  child.stderr!.resume();
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

async function writeCorpus(file: string, lines: number): Promise<number> {
  const out = createWriteStream(file);
  let bytes = 0;
  let buf = '';
  for (let i = 0; i < lines; i++) {
    const l = corpusLine(i) + '\n';
    buf += l;
    bytes += Buffer.byteLength(l);
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.end(buf);
  await new Promise<void>((r) => out.once('finish', () => r()));
  return bytes;
}

function countLines(file: string): number {
  if (!existsSync(file)) return 0;
  const b = readFileSync(file);
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}

async function throughput(env: AgentEnv, lines: number, target: 'receive' | 'rsyslog'): Promise<BenchResult[]> {
  const port = await freePort();
  const corpus = join(env.logs, 'bench.log');
  const bytes = await writeCorpus(corpus, lines);
  let receiverPid: number;
  let receiverChild: ChildProcess | undefined;
  let rsyslog: RsyslogReceiver | undefined;
  let outFile: string;
  if (target === 'receive') {
    outFile = join(env.dir, 'received.log');
    const { args } = agentCommand();
    receiverChild = spawn(process.execPath, [...args, 'receive', '--listen', `127.0.0.1:${port}`, '--cert', env.pki.serverCert, '--key', env.pki.serverKey, '--out', outFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve) => receiverChild!.stderr!.on('data', (d: Buffer) => /listening/.test(d.toString()) && resolve()));
    receiverPid = receiverChild.pid!;
  } else {
    rsyslog = new RsyslogReceiver({ dir: env.dir, port, ca: env.pki.ca, cert: env.pki.serverCert, key: env.pki.serverKey });
    await rsyslog.start();
    outFile = rsyslog.outFile;
    receiverPid = Number(readFileSync(join(env.dir, 'rsyslog.pid'), 'utf8').trim());
  }
  const config = writeAgentConfig(env, port, { resendWindow: '{ bytes: 4MiB, age: 30s }', output: '  buffer: { max_bytes: 2GiB, fsync: batch }' });
  const t0 = process.hrtime.bigint();
  const agent = startAgent(config);
  // +2: the agent's start event, and the stop event is not counted here.
  while (countLines(outFile) < lines + 1) await sleep(200);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const a = procStats(agent.pid!);
  const r = procStats(receiverPid);
  await stopChild(agent);
  if (receiverChild) await stopChild(receiverChild);
  if (rsyslog) await rsyslog.stop('SIGTERM');
  const note = `${lines} lines, ${(bytes / lines).toFixed(0)} B/line, agent ${agentCommand().label}, TLS, disk queue fsync batch`;
  return [
    { name: `ship → ${target}: wall`, value: round(wall), unit: 's', note },
    { name: `ship → ${target}: lines/s`, value: Math.round(lines / wall), unit: 'lines/s' },
    { name: `ship → ${target}: agent CPU`, value: round(a.cpuSeconds), unit: 's', note: `of which system ${round(a.systemSeconds)} s` },
    { name: `ship → ${target}: agent peak RSS`, value: round(a.peakRssMiB), unit: 'MiB' },
    { name: `ship → ${target}: receiver CPU`, value: round(r.cpuSeconds), unit: 's' },
  ];
}

async function latency(env: AgentEnv, seconds: number, rate: number): Promise<BenchResult[]> {
  const lat: number[] = [];
  const receiver = new SyslogReceiver({
    host: '127.0.0.1',
    port: 0,
    cert: env.pki.serverCert,
    key: env.pki.serverKey,
    out: join(env.dir, 'latency.log'),
    onRecord: (m) => {
      const msg = parseRfc5424(m.toString('utf8')).msg ?? '';
      const at = /lat=(\d+\.\d+)/.exec(msg);
      if (at) lat.push(performance.timeOrigin + performance.now() - Number(at[1]));
    },
  });
  const { port } = await receiver.start();
  const file = join(env.logs, 'latency.log');
  appendFileSync(file, '');
  const config = writeAgentConfig(env, port, { resendWindow: '{ bytes: 4MiB, age: 30s }' });
  const agent = startAgent(config);
  await sleep(3000);
  const total = seconds * rate;
  const perTick = rate / 100;
  for (let i = 0; i < total; i += perTick) {
    let chunk = '';
    for (let j = 0; j < perTick; j++) chunk += `${corpusLine(i + j).slice(0, 100)} lat=${(performance.timeOrigin + performance.now()).toFixed(3)}\n`;
    appendFileSync(file, chunk);
    await sleep(10);
  }
  const deadline = Date.now() + 30_000;
  while (lat.length < total && Date.now() < deadline) await sleep(100);
  await stopChild(agent);
  await receiver.stop();
  lat.sort((x, y) => x - y);
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  const note = `${rate} lines/s for ${seconds} s, append -> received, ${lat.length}/${total} measured`;
  return [
    { name: 'ship latency p50', value: round(q(0.5)), unit: 'ms', note },
    { name: 'ship latency p99', value: round(q(0.99)), unit: 'ms' },
  ];
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export async function benchShip(lines = Number(process.env.BENCH_SHIP_LINES ?? 1_000_000)): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'logward-bench-ship-'));
  const results: BenchResult[] = [];
  try {
    const all: ('receive' | 'rsyslog')[] = rsyslogMissing() ? ['receive'] : ['receive', 'rsyslog'];
    // BENCH_SHIP_TARGETS=receive (comma-separated) runs a subset; BENCH_LATENCY_SECONDS=0 skips the latency run.
    const only = process.env.BENCH_SHIP_TARGETS?.split(',');
    const targets = only === undefined ? all : all.filter((t) => only.includes(t));
    for (const t of targets) {
      const sub = join(dir, t);
      mkdirSync(sub, { recursive: true });
      results.push(...(await throughput(await makeAgentEnv(sub), lines, t)));
    }
    const latencySeconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
    if (latencySeconds > 0) {
      const sub = join(dir, 'latency');
      mkdirSync(sub, { recursive: true });
      results.push(...(await latency(await makeAgentEnv(sub), latencySeconds, 1000)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await benchShip()) console.log(`${r.name}\t${r.value} ${r.unit}${r.note ? `\t(${r.note})` : ''}`);
}
