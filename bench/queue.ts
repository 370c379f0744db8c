/**
 * bench/queue: append throughput of the disk queue with fsync: batch, for
 * ~150-byte records, in batches the way the pipeline appends them (several
 * batches in flight share one fsync), then the read-back rate the sink sees.
 * Runnable alone: `node --import tsx bench/queue.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { Counters } from '../src/monitor/counters.js';
import { DiskQueue, type AppendRecord } from '../src/queue/disk-queue.js';
import type { BenchResult } from './types.js';

export async function benchQueue(
  records = Number(process.env.BENCH_QUEUE_RECORDS ?? 500_000),
  batch = 512,
  inFlight = 4,
): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'lw-bench-queue-'));
  const counters = new Counters();
  const q = new DiskQueue(
    {
      dir,
      maxBytes: 4 * 1024 * 1024 * 1024,
      whenFull: 'block',
      fsync: 'batch',
      fsyncIntervalMs: 1000,
      resendWindow: { bytes: 4 * 1024 * 1024, ageMs: 30_000 },
    },
    { counters, onAlert: () => undefined },
  );
  try {
    await q.open();
    const line = (i: number) =>
      Buffer.from(`<134>1 2026-11-22T10:00:00.000Z web-01 logward - - [logward@32473 seq="${i}"] GET /api/v1/items/${i} 200 1234 "Mozilla/5.0"`.padEnd(150, '.'));
    let payloadBytes = 0;
    const t0 = process.hrtime.bigint();
    let next = 0;
    const worker = async () => {
      while (next < records) {
        const n = Math.min(batch, records - next);
        const recs: AppendRecord[] = new Array(n);
        for (let k = 0; k < n; k++) {
          const payload = line(next + k);
          payloadBytes += payload.length;
          recs[k] = { payload, meta: { input: 'bench', identity: 'dev:ino', end: (next + k) * 151 } };
        }
        next += n;
        await q.append(recs);
      }
    };
    await Promise.all([...Array(inFlight).keys()].map(() => worker()));
    const t1 = process.hrtime.bigint();
    let read = 0;
    let p = 0n;
    for (;;) {
      const r = await q.readFrom(p, 256 * 1024);
      if (r.length === 0) break;
      read += r.length;
      p = (r[r.length - 1]?.id ?? p) + 1n;
    }
    const t2 = process.hrtime.bigint();
    const appendS = Number(t1 - t0) / 1e9;
    const readS = Number(t2 - t1) / 1e9;
    const fsyncs = counters.get('queue_fsyncs');
    return [
      { name: 'append, fsync batch, ~150 B records', value: Math.round(records / appendS), unit: 'records/s', note: `${records} records, batches of ${batch}, ${inFlight} in flight, ${fsyncs} fsyncs` },
      { name: 'append throughput', value: Math.round((payloadBytes / 2 ** 20 / appendS) * 10) / 10, unit: 'MiB/s', note: 'payload bytes' },
      { name: 'read back (sink side)', value: Math.round(read / readS), unit: 'records/s', note: `${read} records` },
    ];
  } finally {
    await q.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await benchQueue()) console.log(`${r.name}: ${r.value} ${r.unit}${r.note ? ` (${r.note})` : ''}`);
}
