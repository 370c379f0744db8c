/**
 * bench/seal: CPU per record of what `logward run` does AFTER conversion,
 * stage by stage, on the events of the bench corpus: the rule engine, the
 * RFC 5424 parts, sealing (HMAC chain + assembly), queue framing (write side),
 * frame decoding (read side) and the sink's octet-counted batch. Conversion
 * runs once up front and is not measured. Each stage is timed alone over the
 * same records (CPU time, process.cpuUsage), so one stage's numbers do not
 * depend on the others'.
 * Runnable alone: `node --import tsx bench/seal.ts` (BENCH_SEAL_RECORDS, default 20,000).
 */
import { pathToFileURL } from 'node:url';

import { syslogParts, type SyslogParts } from '../src/encode/rfc5424.js';
import type { LogEvent } from '../src/event/types.js';
import { Counters } from '../src/monitor/counters.js';
import { RecordProcessor } from '../src/processor.js';
import { decodePayloadAt, frameHeadLength, writeFrame, type QueueRecordMeta } from '../src/queue/frame.js';
import { DEFAULT_RULES } from '../src/rules/defaults.js';
import { RuleEngine } from '../src/rules/engine.js';
import { REDACT_KINDS } from '../src/sanitize/redact.js';
import { Sealer } from '../src/seal/session.js';
import { encodeFrames } from '../src/sink/framing.js';
import { corpusLine } from './corpus.js';
import type { BenchResult } from './types.js';

const OPTS = { sdId: 'logward@32473', msgId: 'ECS' as const, agentId: 'bench', hostname: 'bench-host' };

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Microseconds of CPU per record for `rounds` passes of fn over n records (after one warm-up pass). */
function perRecord(n: number, rounds: number, fn: (i: number) => void): number {
  for (let i = 0; i < n; i++) fn(i);
  const t0 = cpuMicros();
  for (let r = 0; r < rounds; r++) for (let i = 0; i < n; i++) fn(i);
  return (cpuMicros() - t0) / (n * rounds);
}

export async function benchSeal(records = Number(process.env.BENCH_SEAL_RECORDS ?? 20_000), rounds = 5): Promise<BenchResult[]> {
  const counters = new Counters();
  const processor = new RecordProcessor({
    agentId: 'bench',
    parser: 'auto',
    format: 'ecs',
    cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: [...REDACT_KINDS], custom: [] },
    maxLineBytes: 64 * 1024,
    counters,
    host: { name: 'bench-host', ips: ['192.0.2.1'] },
    timeZone: 'UTC',
  });
  const events: LogEvent[] = [];
  const payloads: string[] = [];
  const metas: QueueRecordMeta[] = [];
  let end = 0;
  for (let i = 0; i < records; i++) {
    const bytes = Buffer.from(corpusLine(i));
    end += bytes.length + 1;
    const rec = processor.process({ bytes, source: { input: 'app', identity: 'dev:ino', path: '/var/log/bench.log', offset: end - bytes.length - 1, end } });
    events.push(rec.event);
    payloads.push(rec.payload);
    metas.push({ input: 'app', identity: 'dev:ino', end });
  }

  // The built-in rules over a scan: every failure from a new source.ip, so the groups outgrow
  // maxGroups and each new group evicts the least recently active one (as in bench/ship).
  let t = 1_700_000_000_000;
  const engine = new RuleEngine(DEFAULT_RULES, { counters, onAlert: () => undefined, now: () => (t += 1) });
  const scan: LogEvent[] = [];
  for (let k = 0; k < (rounds + 1) * records; k++) {
    const e = events[k % records] as LogEvent;
    scan.push({ ...e, fields: { ...e.fields, 'source.ip': `10.${k >> 16}.${(k >> 8) & 255}.${k & 255}` } });
  }
  let k = 0;
  const rules = perRecord(records, rounds, () => engine.observe(scan[k++] as LogEvent));

  const parts: SyslogParts[] = new Array<SyslogParts>(records);
  const partsUs = perRecord(records, rounds, (i) => {
    parts[i] = syslogParts(events[i] as LogEvent, payloads[i] as string, OPTS);
  });

  const state = { lastSeq: -1n, lastChain: '0'.repeat(64), nextSeq: 0n };
  const sealer = new Sealer({ key: Buffer.alloc(32, 7), state, persistent: false });
  // sealBytes, as the queue's writer calls it (the result is a view, valid until the next seal).
  const sealUs = perRecord(records, rounds, (i) => sealer.sealBytes(parts[i] as SyslogParts));
  // Owned copies for the framing stages, sealed outside the measurement.
  const owner = new Sealer({ key: Buffer.alloc(32, 7), state, persistent: false });
  const sealed = parts.map((p) => owner.seal(p));

  // Frames back to back in one block, as the queue's writer lays out a group.
  const block = Buffer.allocUnsafeSlow(records * 4096);
  const offsets: number[] = new Array<number>(records + 1);
  const frameUs = perRecord(records, rounds, (i) => {
    const s = sealed[i]!;
    const payloadLen = s.message.length;
    const at = i === 0 ? 0 : (offsets[i] as number);
    offsets[i + 1] = writeFrame(block, at, s.seq, s.message, payloadLen, metas[i]!, s.chainBytes);
    if (frameHeadLength(metas[i]!, true) + payloadLen !== (offsets[i + 1] as number) - at) throw new Error('frame size');
  });

  const payloadsOut: Buffer[] = new Array<Buffer>(records);
  const decodeUs = perRecord(records, rounds, (i) => {
    const f = decodePayloadAt(block, i === 0 ? 0 : (offsets[i] as number));
    if (f === null) throw new Error(`frame ${i} does not decode`);
    payloadsOut[i] = f.payload;
  });

  // The sink writes batches of ~256 KiB.
  const perBatch = 192;
  const sinkUs = perRecord(Math.floor(records / perBatch), rounds, (b) => {
    encodeFrames(payloadsOut.slice(b * perBatch, (b + 1) * perBatch));
  }) / perBatch;

  const bytes = payloadsOut.reduce((a, p) => a + p.length, 0) / records;
  const note = `${records} corpus events × ${rounds}, ${bytes.toFixed(0)} B sealed message`;
  const r = (x: number): number => Math.round(x * 100) / 100;
  return [
    { name: 'rules observe', value: r(rules), unit: 'µs/record', note },
    { name: 'syslogParts', value: r(partsUs), unit: 'µs/record' },
    { name: 'seal (chain + assemble)', value: r(sealUs), unit: 'µs/record' },
    { name: 'queue frame write', value: r(frameUs), unit: 'µs/record' },
    { name: 'queue frame decode (sink read)', value: r(decodeUs), unit: 'µs/record' },
    { name: 'sink octet framing', value: r(sinkUs), unit: 'µs/record' },
    { name: 'total after conversion', value: r(rules + partsUs + sealUs + frameUs + decodeUs + sinkUs), unit: 'µs/record' },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await benchSeal()) console.log(`${r.name.padEnd(32)} ${String(r.value).padStart(8)} ${r.unit}${r.note ? `  (${r.note})` : ''}`);
}
