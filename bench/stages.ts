/**
 * Where a converted line's time goes, stage by stage, on the bench corpus:
 * `npm run build && node --import tsx bench/stages.ts` (dist/, as production
 * runs). Each stage is timed over the same 200,000 lines with its inputs
 * prepared by the stages before it, so the numbers add up to about the whole.
 */
import type { Counters as CountersType } from '../src/monitor/counters.js';
import type { RecordProcessor as RecordProcessorType } from '../src/processor.js';
import type { encodeEvent as EncodeEventType } from '../src/encode/validate.js';
import type { LogEvent } from '../src/event/types.js';
import { corpusLine } from './corpus.js';

const base = new URL('../dist/', import.meta.url);
const { Counters } = (await import(new URL('monitor/counters.js', base).href)) as { Counters: typeof CountersType };
const { RecordProcessor } = (await import(new URL('processor.js', base).href)) as { RecordProcessor: typeof RecordProcessorType };
const { encodeEvent } = (await import(new URL('encode/validate.js', base).href)) as { encodeEvent: typeof EncodeEventType };

const N = Number(process.env.BENCH_LINES ?? 200_000);
const FORMAT = (process.env.BENCH_FORMAT ?? 'ecs') as 'ecs' | 'cef';
const buffers = Array.from({ length: N }, (_, i) => Buffer.from(corpusLine(i)));
const raw = (i: number) => ({ bytes: buffers[i]!, source: { input: 'bench', identity: 'bench-file', path: '/var/log/bench.log', offset: i * 150, end: i * 150 + 150 } });
const counters = new Counters();
const p = new RecordProcessor({
  agentId: 'bench-01', parser: 'auto', format: FORMAT, cef: { vendor: 'logward', product: 'logward' },
  redact: { builtin: ['pan', 'national_id', 'password', 'credentials', 'api_keys', 'private_keys'], custom: [] },
  maxLineBytes: 64 * 1024, counters, timeZone: 'UTC', host: { name: 'bench-01', ips: ['192.0.2.10'] },
});

function time(name: string, fn: (i: number) => unknown): void {
  for (let i = 0; i < Math.min(N, 20_000); i++) fn(i);
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) fn(i);
  const c = process.cpuUsage(c0);
  console.log(`${name.padEnd(28)} ${((c.user + c.system) / N).toFixed(2)} µs CPU/line`);
}

time('whole (process)', (i) => p.process(raw(i)));
time('toEvent', (i) => p.toEvent(raw(i)));
const events: LogEvent[] = Array.from({ length: N }, (_, i) => p.toEvent(raw(i)));
const ctx = { counters, cef: { vendor: 'logward', product: 'logward', version: '0.1.0' } };
// The builder alone: the processor's last step, on what the stages before it made.
const builder = (p as unknown as { builder: { build: (input: unknown) => LogEvent } }).builder;
const inputs = events.map((ev) => ({ raw: raw(0), original: ev.fields['event.original'] as string, parsed: { parser: 'auth', message: ev.fields['message'] as string, fields: { 'source.ip': ev.fields['source.ip'], 'user.name': ev.fields['user.name'], 'event.category': ['authentication'], 'event.outcome': 'failure', 'process.name': 'sshd', 'process.pid': 812, 'source.port': 5000, 'event.action': 'authn_login_fail', 'log.syslog.hostname': 'web' } }, tags: [], now: new Date() }));
time('build (auth-like fields)', (i) => builder.build(inputs[i]!));
time(`encodeEvent ${FORMAT}`, (i) => encodeEvent(events[i]!, FORMAT, ctx));
