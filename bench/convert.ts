/**
 * bench/convert: 1,000,000 mixed lines through the full conversion
 * (neutralize, redact, parse, build, encode, validate), per format, on one
 * core (the processor is synchronous). Target: 250,000 lines/s for ECS.
 */
import { pathToFileURL } from 'node:url';

import { Counters } from '../src/monitor/counters.js';
import { RecordProcessor, type OutputFormat } from '../src/processor.js';
import { corpusLine } from './corpus.js';
import type { BenchResult } from './types.js';

const DEFAULT_LINES = 1_000_000;

export async function benchConvert(lines = Number(process.env.BENCH_LINES ?? DEFAULT_LINES)): Promise<BenchResult[]> {
  const buffers: Buffer[] = [];
  let bytes = 0;
  for (let i = 0; i < lines; i++) {
    const b = Buffer.from(corpusLine(i));
    buffers.push(b);
    bytes += b.length + 1;
  }
  const results: BenchResult[] = [];
  for (const format of ['ecs', 'cef'] as OutputFormat[]) {
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
    for (let i = 0; i < lines; i++) outBytes += p.process(raw(buffers[i]!, i)).payload.length;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    results.push(
      { name: `convert ${format}: lines/s`, value: Math.round(lines / s), unit: 'lines/s', note: `${lines} mixed lines, redaction + validation on` },
      { name: `convert ${format}: input MiB/s`, value: round(bytes / 1048576 / s), unit: 'MiB/s' },
      { name: `convert ${format}: µs/line`, value: round((s * 1e6) / lines), unit: 'µs', note: `output ${round(outBytes / lines)} B/event, invalid ${counters.get('events_invalid')}` },
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
