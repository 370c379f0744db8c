/**
 * bench/ship-profile: one `logward run` throughput pass (file -> disk queue ->
 * TLS -> `logward receive`) with extra node flags for the agent, to look at
 * where its CPU and memory go. Not part of `npm run bench`.
 *
 *   BENCH_SHIP_LINES=200000 AGENT_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" \
 *     node --import tsx bench/ship-profile.ts
 *
 * AGENT_NODE_ARGS is split on spaces and put before the CLI script (e.g.
 * --cpu-prof, --heap-prof, --max-semi-space-size=…, --import a sampler).
 * Prints lines/s, agent CPU seconds and peak RSS (from /proc).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { makeAgentEnv, writeAgentConfig } from '../test/helpers/agent.js';
import { freePort } from '../test/sink/util.js';
import { corpusLine } from './corpus.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const lines = Number(process.env.BENCH_SHIP_LINES ?? 200_000);
const nodeArgs = (process.env.AGENT_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);

function procStats(pid: number): { cpu: number; hwmMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpu: (Number(f[11]) + Number(f[12])) / 100, hwmMiB: hwm ? Number(hwm[1]) / 1024 : NaN };
}

function countLines(file: string): number {
  if (!existsSync(file)) return 0;
  const b = readFileSync(file);
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

if (!existsSync(CLI)) throw new Error('run `npm run build` first: this profiles dist/');
const dir = mkdtempSync(join(tmpdir(), 'logward-ship-profile-'));
try {
  mkdirSync(dir, { recursive: true });
  const env = await makeAgentEnv(dir);
  const corpus = join(env.logs, 'bench.log');
  const out = createWriteStream(corpus);
  for (let i = 0; i < lines; i++) if (!out.write(corpusLine(i) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  out.end();
  await new Promise<void>((r) => out.once('finish', () => r()));
  const port = await freePort();
  const received = join(dir, 'received.log');
  const receiver = spawn(process.execPath, [CLI, 'receive', '--listen', `127.0.0.1:${port}`, '--cert', env.pki.serverCert, '--key', env.pki.serverKey, '--out', received], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve) => receiver.stderr!.on('data', (d: Buffer) => /listening/.test(d.toString()) && resolve()));
  const config = writeAgentConfig(env, port, { resendWindow: '{ bytes: 4MiB, age: 30s }', output: '  buffer: { max_bytes: 2GiB, fsync: batch }' });
  const t0 = process.hrtime.bigint();
  const agent = spawn(process.execPath, [...nodeArgs, CLI, 'run', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  agent.stderr!.resume();
  while (countLines(received) < lines + 1) await new Promise((r) => setTimeout(r, 200));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const a = procStats(agent.pid!);
  await stop(agent);
  await stop(receiver);
  console.log(`${lines} lines: wall ${wall.toFixed(2)} s, ${Math.round(lines / wall)} lines/s, agent CPU ${a.cpu.toFixed(2)} s (${((a.cpu / lines) * 1e6).toFixed(1)} µs/line), peak RSS ${a.hwmMiB.toFixed(1)} MiB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
