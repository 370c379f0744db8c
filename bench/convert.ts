/**
 * bench/convert: 1,000,000 mixed lines through the full conversion
 * (neutralize, redact, parse, build, encode, validate), per format, on one
 * core (the processor is synchronous). Target: 250,000 lines/s for ECS.
 *
 * BENCH_DIST=1 measures the built JavaScript in dist/ (`npm run build` first):
 * that is what production runs. Under tsx every module is transformed by
 * esbuild, which wraps functions in a `__name` helper; the dist number is the
 * one to publish.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

import type { Counters as CountersType } from '../src/monitor/counters.js';
import type { OutputFormat, RecordProcessor as RecordProcessorType } from '../src/processor.js';
import { corpusLine } from './corpus.js';
import type { BenchResult } from './types.js';

const DEFAULT_LINES = 1_000_000;

interface Modules {
  Counters: typeof CountersType;
  RecordProcessor: typeof RecordProcessorType;
  /** "dist" or "src": which code was measured. */
  code: string;
}

/** dist/ when BENCH_DIST=1 (an error if it was not built), else the TypeScript sources. */
async function loadModules(): Promise<Modules> {
  const dist = process.env.BENCH_DIST === '1';
  const base = new URL(dist ? '../dist/' : '../src/', import.meta.url);
  if (dist && !existsSync(new URL('processor.js', base))) throw new Error('BENCH_DIST=1: dist/processor.js missing, run `npm run build`');
  // Resolved at run time, so the same file measures either tree.
  const counters = (await import(new URL('monitor/counters.js', base).href)) as { Counters: typeof CountersType };
  const processor = (await import(new URL('processor.js', base).href)) as { RecordProcessor: typeof RecordProcessorType };
  return { Counters: counters.Counters, RecordProcessor: processor.RecordProcessor, code: dist ? 'dist' : 'src (tsx)' };
}

export async function benchConvert(lines = Number(process.env.BENCH_LINES ?? DEFAULT_LINES)): Promise<BenchResult[]> {
  const buffers: Buffer[] = [];
  let bytes = 0;
  for (let i = 0; i < lines; i++) {
    const b = Buffer.from(corpusLine(i));
    buffers.push(b);
    bytes += b.length + 1;
  }
  const { Counters, RecordProcessor, code } = await loadModules();
  const results: BenchResult[] = [];
  // BENCH_FORMATS=ecs (comma-separated) measures a subset, e.g. for a CPU profile of one format.
  const formats = (process.env.BENCH_FORMATS ?? 'ecs,cef').split(',') as OutputFormat[];
  for (const format of formats) {
    const counters = new Counters();
    const p = new RecordProcessor({
      agentId: 'bench-01',
      parser: 'auto',
      format,
      cef: { vendor: 'logward', product: 'logward' },
      redact: { builtin: ['pan', 'national_id', 'password', 'credentials', 'api_keys', 'private_keys'], custom: [] },
      maxLineBytes: 64 * 1024,
      counters,
      timeZone: 'UTC',
      host: { name: 'bench-01', ips: ['192.0.2.10'] },
    });
    // Warm up the JIT and the caches, then measure.
    for (let i = 0; i < Math.min(20_000, lines); i++) p.process(raw(buffers[i]!, i));
    let outBytes = 0;
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < lines; i++) outBytes += p.process(raw(buffers[i]!, i)).payload.length;
    const cpu = process.cpuUsage(cpu0);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    results.push(
      { name: `convert ${format}: lines/s`, value: Math.round(lines / s), unit: 'lines/s', note: `${lines} mixed lines, redaction + validation on, ${code}` },
      { name: `convert ${format}: input MiB/s`, value: round(bytes / 1048576 / s), unit: 'MiB/s' },
      { name: `convert ${format}: µs/line`, value: round((s * 1e6) / lines), unit: 'µs', note: `output ${round(outBytes / lines)} B/event, invalid ${counters.get('events_invalid')}` },
      // CPU time of this process: on a shared machine, wall time also counts the time other jobs held the core.
      { name: `convert ${format}: CPU µs/line`, value: round((cpu.user + cpu.system) / lines), unit: 'µs', note: 'user + system CPU time; wall time above' },
    );
  }
  return results;
}

function raw(bytes: Buffer, i: number) {
  return { bytes, source: { input: 'bench', identity: 'bench-file', path: '/var/log/bench.log', offset: i * 150, end: i * 150 + 150 } };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await benchConvert()) console.log(`${r.name}\t${r.value} ${r.unit}${r.note ? `\t(${r.note})` : ''}`);
}
