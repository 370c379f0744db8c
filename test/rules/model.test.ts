/**
 * Model-based test: random streams of (time step, event) against a
 * brute-force reference that recounts the whole history at every event. The
 * engine, with its rings, LRU maps, caps and lazy sweeping, must fire exactly
 * when the model says, for the same group, with the same count.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import type { AlertRuleConfig } from '../../src/config/types.js';
import type { EcsFields } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';
import { RuleEngine, type RuleAlert } from '../../src/rules/engine.js';
import { ev } from './helpers.js';

interface Step {
  dt: number;
  ip: string | undefined;
  user: string | undefined;
  outcome: string;
  status: number;
}

interface Firing {
  rule: string;
  group: string;
  at: number;
  count: number;
}

const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', undefined];
const USERS = ['root', 'admin', 'pi', 'git', 'bob', 'eve', undefined];

const stepArb = fc.record({
  dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 2000 })),
  ip: fc.constantFrom(...IPS),
  user: fc.constantFrom(...USERS),
  outcome: fc.constantFrom('failure', 'success'),
  status: fc.constantFrom(200, 401, 403),
});

const ruleArb = (name: string): fc.Arbitrary<AlertRuleConfig> =>
  fc
    .record({
      when: fc.constantFrom<AlertRuleConfig['when']>(
        { 'event.outcome': ['failure'] },
        { 'http.response.status_code': [401, '403'] },
        { 'event.outcome': ['failure'], 'event.category': ['authentication'] },
      ),
      groupBy: fc.constantFrom<string[]>([], ['source.ip'], ['source.ip', 'user.name'], ['user.name']),
      distinct: fc.constantFrom<string | undefined>(undefined, 'user.name', 'source.ip'),
      threshold: fc.integer({ min: 1, max: 5 }),
      windowMs: fc.integer({ min: 1, max: 1500 }),
    })
    .map((r) => ({ name, when: r.when, groupBy: r.groupBy, threshold: r.threshold, windowMs: r.windowMs, ...(r.distinct === undefined ? {} : { distinct: r.distinct }) }));

function fieldsOf(s: Step): EcsFields {
  const f: EcsFields = { 'event.category': ['authentication'], 'event.outcome': s.outcome, 'http.response.status_code': s.status };
  if (s.ip !== undefined) f['source.ip'] = s.ip;
  if (s.user !== undefined) f['user.name'] = s.user;
  return f;
}

function matches(r: AlertRuleConfig, f: EcsFields): boolean {
  return Object.entries(r.when).every(([k, vals]) => {
    const v = f[k];
    const have = Array.isArray(v) ? v.map(String) : [String(v)];
    return v !== undefined && vals.some((x) => have.includes(String(x)));
  });
}

/** Brute force: at each event, recount the whole history. */
function model(rules: readonly AlertRuleConfig[], steps: readonly Step[]): Firing[] {
  const out: Firing[] = [];
  const history: { t: number; f: EcsFields }[] = [];
  const lastFire = new Map<string, number>();
  let t = 0;
  for (const s of steps) {
    t += s.dt;
    const f = fieldsOf(s);
    history.push({ t, f });
    for (const r of rules) {
      if (!matches(r, f)) continue;
      const key = (g: EcsFields): string | undefined => (r.groupBy.some((k) => g[k] === undefined) ? undefined : r.groupBy.map((k) => String(g[k])).join('|'));
      const group = key(f);
      if (group === undefined || (r.distinct !== undefined && f[r.distinct] === undefined)) continue;
      const inWindow = history.filter((h) => t - h.t < r.windowMs && matches(r, h.f) && key(h.f) === group && (r.distinct === undefined || h.f[r.distinct] !== undefined));
      const count = r.distinct === undefined ? inWindow.length : new Set(inWindow.map((h) => String(h.f[r.distinct as string]))).size;
      if (count < r.threshold) continue;
      const id = `${r.name}/${group}`;
      const last = lastFire.get(id);
      if (last !== undefined && t - last < r.windowMs) continue;
      lastFire.set(id, t);
      // The engine keeps threshold timestamps (count mode) or 4 × threshold values (distinct mode).
      out.push({ rule: r.name, group, at: t, count: r.distinct === undefined ? r.threshold : Math.min(count, 4 * r.threshold) });
    }
  }
  return out;
}

function engineRun(rules: readonly AlertRuleConfig[], steps: readonly Step[]): Firing[] {
  const start = 1_700_000_000_000;
  let now = start;
  const alerts: RuleAlert[] = [];
  const engine = new RuleEngine(rules, { counters: new Counters(), onAlert: (a) => alerts.push(a), now: () => now });
  for (const s of steps) {
    now += s.dt;
    engine.observe(ev(fieldsOf(s)));
  }
  const order = new Map(rules.map((r, i) => [r.name, i]));
  return alerts.map((a) => {
    const r = rules[order.get(a.rule) as number] as AlertRuleConfig;
    return { rule: a.rule, group: r.groupBy.map((k) => a.groupKey[k]).join('|'), at: new Date(a.lastAt).getTime() - start, count: a.count };
  });
}

test('the engine fires exactly when a brute-force recount says it should', () => {
  fc.assert(
    fc.property(fc.tuple(ruleArb('a'), ruleArb('b')), fc.array(stepArb, { maxLength: 300 }), (rules, steps) => {
      assert.deepEqual(engineRun(rules, steps), model(rules, steps));
    }),
    { numRuns: Number(process.env['LOGWARD_STRESS']) > 0 ? 3000 : 300 },
  );
});

test('dense streams with small windows and thresholds agree with the model too', () => {
  const dense = fc.record({
    dt: fc.integer({ min: 0, max: 5 }),
    ip: fc.constantFrom('10.0.0.1', '10.0.0.2'),
    user: fc.constantFrom(...USERS),
    outcome: fc.constant('failure'),
    status: fc.constant(401),
  });
  fc.assert(
    fc.property(fc.tuple(ruleArb('a'), ruleArb('b')), fc.array(dense, { minLength: 50, maxLength: 400 }), (rules, steps) => {
      assert.deepEqual(engineRun(rules, steps), model(rules, steps));
    }),
    { numRuns: 200 },
  );
});
