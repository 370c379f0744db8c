/**
 * Read+split throughput of the file source: one large file (1 GiB by
 * default) and 200 files, through the real FileSource (held fd, byte-offset
 * reads, LF split, one RawRecord per line) with an emit that only counts.
 * Data is generated in os.tmpdir() and deleted afterwards.
 * Run alone: node --import tsx bench/source.ts
 * Sizes: LOGWARD_BENCH_SOURCE_MIB (default 1024) and LOGWARD_BENCH_SOURCE_FILES (default 200).
 */
import { mkdtempSync, openSync, writeSync, closeSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Counters } from '../src/monitor/counters.js';
import { FileSource } from '../src/source/file-source.js';
import type { BenchResult } from './types.js';

export type { BenchResult } from './types.js';

const MiB = 1024 * 1024;

/** Writes `bytes` of ~100-byte log lines; returns the number of lines. */
function writeData(path: string, bytes: number, tag = 0): number {
  // Distinct heads per file: identical first 256 bytes would make files look like copies of each other.
  const line = (i: number): string =>
    `2024-05-01T12:00:00.000Z host${tag} app[${i % 65536}]: request id=${i} path=/api/v1/items status=200 ms=12\n`;
  const fd = openSync(path, 'w');
  let written = 0;
  let lines = 0;
  let buf = '';
  while (written < bytes) {
    const l = line(lines++);
    buf += l;
    written += l.length;
    if (buf.length >= 4 * MiB) {
      writeSync(fd, buf);
      buf = '';
    }
  }
  if (buf) writeSync(fd, buf);
  closeSync(fd);
  return lines;
}

async function readAll(dir: string, glob: string, totalLines: number, totalBytes: number, name: string): Promise<BenchResult[]> {
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const src = new FileSource(
    {
      inputId: 'bench',
      paths: [glob],
      exclude: [],
      startAt: 'beginning',
      followSymlinks: false,
      partialLineTimeoutMs: 5000,
      maxLineBytes: 64 * 1024,
      stateDir: join(dir, 'state'),
      maxOpenFiles: 1024,
      rescanIntervalMs: 10_000,
      deletedFileMaxHoldMs: 300_000,
      checkpointExpiryMs: 86_400_000,
      readChunkBytes: 1 * MiB,
    },
    {
      emit: async (batch) => {
        seen += batch.length;
        if (seen >= totalLines) done();
      },
      alert: () => undefined,
      counters: new Counters(),
    },
  );
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await src.start();
  const startSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  await finished;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await src.stop();
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const mib = totalBytes / MiB;
  const note = `${mib.toFixed(0)} MiB, ${totalLines} lines, ${secs.toFixed(2)} s wall (${startSecs.toFixed(2)} s of it starting the watcher), ${cpuSecs.toFixed(2)} s CPU`;
  return [
    { name: `source.${name}.throughput`, value: round(mib / secs), unit: 'MiB/s', note },
    { name: `source.${name}.lines`, value: Math.round(totalLines / secs), unit: 'lines/s', note },
    { name: `source.${name}.per_line`, value: round((cpuSecs * 1e6) / totalLines, 3), unit: 'µs CPU/line', note },
  ];
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export async function benchSource(): Promise<BenchResult[]> {
  const totalMiB = Number(process.env.LOGWARD_BENCH_SOURCE_MIB ?? 1024);
  const files = Number(process.env.LOGWARD_BENCH_SOURCE_FILES ?? 200);
  const dir = mkdtempSync(join(tmpdir(), 'logward-bench-source-'));
  const results: BenchResult[] = [];
  try {
    const one = join(dir, 'one');
    mkdirSync(one);
    const oneLines = writeData(join(one, 'big.log'), totalMiB * MiB);
    results.push(...(await readAll(join(dir, 's1'), join(one, '*.log'), oneLines, totalMiB * MiB, 'one_file')));
    rmSync(one, { recursive: true, force: true });

    const many = join(dir, 'many');
    mkdirSync(many);
    const per = Math.max(1, Math.floor((totalMiB * MiB) / 2 / files));
    let manyLines = 0;
    for (let i = 0; i < files; i++) manyLines += writeData(join(many, `f${i}.log`), per, i);
    results.push(...(await readAll(join(dir, 's2'), join(many, '*.log'), manyLines, per * files, `${files}_files`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await benchSource()) console.log(`${r.name}\t${r.value} ${r.unit}${r.note ? `\t(${r.note})` : ''}`);
}
