/**
 * Micro-benchmark of the parse stage: ns per line for the auto parser on the
 * line types of the convert corpus, and for each format's own parser.
 * Run: node --import tsx bench/parse.ts
 * Numbers vary with the machine (and tsx adds overhead); compare runs on the
 * same host only, or measure the built dist/ through bench/convert.ts.
 */
import type { ParseContext, Parser } from '../src/event/types.js';
import { getParser } from '../src/parse/index.js';
import { neutralizeText } from '../src/sanitize/neutralize.js';
import { createRedactor } from '../src/sanitize/redact.js';
import { corpusLine } from './corpus.js';

const redactor = createRedactor({ builtin: ['pan', 'national_id', 'password', 'credentials', 'api_keys', 'private_keys'], custom: [] });
const sanitizeValue = (s: string): string => redactor.redact(neutralizeText(s).text).text;
const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: process.env.BENCH_TZ ?? 'UTC' };

function bench(name: string, parser: Parser, lines: readonly string[], rounds = 200_000): void {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink ^= parser(lines[i % lines.length] ?? '', ctx) === null ? 1 : 0; // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) sink ^= parser(lines[i % lines.length] ?? '', ctx) === null ? 1 : 0;
  const ns = Number(process.hrtime.bigint() - t0) / rounds;
  process.stdout.write(`${name.padEnd(36)} ${ns.toFixed(0).padStart(7)} ns/line${sink === 2 ? ' ' : ''}\n`);
}

// 600 lines of each corpus kind (i % 6), so timestamps and ids vary as in the convert bench.
const kinds = ['sshd failed', 'sshd accepted', 'nginx combined', 'nginx 401', 'json app', 'sudo'];
const byKind: string[][] = kinds.map(() => []);
for (let i = 0; i < 3600; i++) byKind[i % 6]?.push(corpusLine(i));

const auto = getParser('auto', { sanitizeValue });
kinds.forEach((k, i) => bench(`auto: ${k}`, auto, byKind[i] ?? []));
bench('auto: mixed corpus', auto, Array.from({ length: 3600 }, (_, i) => corpusLine(i)));
bench('syslog: sshd failed', getParser('syslog', { sanitizeValue }), byKind[0] ?? []);
bench('nginx: combined', getParser('nginx', { sanitizeValue }), byKind[2] ?? []);
bench('json: app', getParser('json', { sanitizeValue }), byKind[4] ?? []);
