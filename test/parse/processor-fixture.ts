/** A RecordProcessor as the parser tests run it (fixed clock and host, UTC), and a reader of its ECS output. */
import { Counters } from '../../src/monitor/counters.js';
import { RecordProcessor, type ProcessorOptions } from '../../src/processor.js';

export const FIXED_NOW = new Date('2026-11-22T12:00:00Z');

export function testProcessor(over: Partial<ProcessorOptions> = {}): { p: RecordProcessor; counters: Counters } {
  const counters = new Counters();
  const p = new RecordProcessor({
    agentId: 'web-01',
    parser: 'auto',
    format: 'ecs',
    cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: ['password'], custom: [] },
    maxLineBytes: 64 * 1024,
    counters,
    timeZone: 'UTC',
    host: { name: 'web-01', ips: [] },
    now: () => FIXED_NOW,
    ...over,
  });
  return { p, counters };
}

/** The value at a dotted path of a nested ECS document. */
export function at(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const seg of path.split('.')) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
  return cur;
}
