/**
 * Small helpers for the rule tests: hand-made events for the semantics tests
 * (the defaults are tested on real parser output in defaults.test.ts), a
 * settable clock, and an engine that records its alerts.
 */
import type { AlertRuleConfig } from '../../src/config/types.js';
import type { EcsFields, LogEvent } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';
import { RuleEngine, type RuleAlert, type RuleEngineDeps } from '../../src/rules/engine.js';

let n = 0;

/** An event with these flat fields and a fresh event.id ("e1", "e2", … unless given). */
export function ev(fields: EcsFields, id?: string): LogEvent {
  const eventId = id ?? `e${++n}`;
  return {
    fields: { 'event.id': eventId, ...fields },
    source: { input: 'test', identity: 'test:1', offset: n },
    severity: 6,
    classId: 'test:event',
    name: 'Test event',
  };
}

export function rule(over: Partial<AlertRuleConfig> & Pick<AlertRuleConfig, 'name'>): AlertRuleConfig {
  return { when: { 'event.outcome': ['failure'] }, groupBy: ['source.ip'], threshold: 3, windowMs: 1000, ...over };
}

export interface Harness {
  engine: RuleEngine;
  alerts: RuleAlert[];
  counters: Counters;
  clock: { t: number; reads: number };
  /** Observe `e` at clock time `t`. */
  at(t: number, e: LogEvent): void;
}

export function harness(rules: readonly AlertRuleConfig[], over: Partial<RuleEngineDeps> = {}): Harness {
  const alerts: RuleAlert[] = [];
  const counters = new Counters();
  const clock = { t: 1_700_000_000_000, reads: 0 };
  const base = clock.t;
  const engine = new RuleEngine(rules, {
    counters,
    onAlert: (a) => alerts.push(a),
    now: () => {
      clock.reads++;
      return clock.t;
    },
    ...over,
  });
  return {
    engine,
    alerts,
    counters,
    clock,
    at(t, e) {
      clock.t = base + t;
      engine.observe(e);
    },
  };
}

/** Polls `cond` every 10 ms until it holds; fails after `limitMs` (a bound, not a timing assertion). */
export async function until(cond: () => boolean, what: string, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
