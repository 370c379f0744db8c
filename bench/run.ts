/**
 * `npm run bench`: runs every benchmark in bench/ in turn and prints a
 * Markdown table with the machine and the date; `npm run bench -- --write`
 * also replaces the results block in BENCHMARKS.md, so the published numbers
 * are always regenerated, never edited by hand.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

import type { BenchResult } from './types.js';

type Bench = { name: string; run: () => Promise<BenchResult[]> };

const BENCHES: Bench[] = [
  { name: 'convert', run: async () => (await import('./convert.js')).benchConvert() },
  { name: 'source', run: async () => (await import('./source.js')).benchSource() },
  { name: 'queue', run: async () => (await import('./queue.js')).benchQueue() },
  { name: 'seal', run: async () => (await import('./seal.js')).benchSeal() },
  { name: 'ship', run: async () => (await import('./ship.js')).benchShip() },
];

const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const write = process.argv.includes('--write');

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform} ${process.arch}`;
const date = new Date().toISOString().slice(0, 10);
const rows: string[] = [];
for (const b of BENCHES) {
  if (only.length > 0 && !only.includes(b.name)) continue;
  process.stderr.write(`bench ${b.name}…\n`);
  for (const r of await b.run()) {
    rows.push(`| ${b.name} | ${r.name} | ${r.value} ${r.unit} | ${r.note ?? ''} |`);
    process.stderr.write(`  ${r.name}: ${r.value} ${r.unit}\n`);
  }
}
const block = [
  `Machine: ${machine}. Date: ${date}.`,
  '',
  '| bench | measure | result | note |',
  '| --- | --- | --- | --- |',
  ...rows,
].join('\n');
console.log(block);

if (write) {
  const file = new URL('../BENCHMARKS.md', import.meta.url);
  const text = readFileSync(file, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error('BENCHMARKS.md has no <!-- bench:start --> … <!-- bench:end --> block');
  writeFileSync(file, text.slice(0, i + start.length) + '\n' + block + '\n' + text.slice(j));
}
