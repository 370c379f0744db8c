/**
 * Threshold and distinct-count rules over sliding windows (issue 5, item 5).
 *
 * Semantics, for one rule and one group (the values of its group_by fields):
 * - An event counts when it matches `when` (see match.ts) and has every
 *   group_by field (and the `distinct` field, if any) with a non-empty value.
 *   An event missing one of them does not count: a failure without source.ip
 *   cannot be attributed to a client (counted as rule_events_without_group_field).
 * - At the time t an event is observed, the count is the number of counted
 *   events observed in (t - window, t], or, with `distinct`, the number of
 *   distinct values of that field among them.
 * - The rule fires when the count is at least the threshold, unless it already
 *   fired for the same group less than one window ago: one alert per burst,
 *   and a burst that keeps going raises a new alert once a window has passed.
 *
 * Time is the agent's processing time (deps.now), never @timestamp: the log's
 * own time is written by whoever writes the log, so an attacker could stamp
 * failures far apart to stay under a threshold, and a replayed old file would
 * fire (or suppress) alerts for bursts long past. The clock is made monotonic
 * here (a wall clock stepping back never shrinks a window).
 *
 * Memory is bounded: per rule at most maxGroups groups (least recently active
 * evicted first, counted as rules_groups_evicted; groups whose last event left
 * the window are dropped for free, as nothing about them matters any more);
 * per group at most `threshold` timestamps (the threshold-th newest event in
 * the window decides, older ones cannot change the outcome) or, with
 * `distinct`, at most 4 × threshold values (least recently seen dropped first,
 * which cannot change the outcome either). Values longer than 256 characters
 * are kept as a prefix plus a hash. Rules with huge thresholds get fewer
 * groups, so a rule never holds more than about 2 million entries.
 *
 * Hot path: observe() is called for every event and most events match no
 * rule, so a non-matching event costs one compiled predicate per rule and no
 * clock read, no allocation.
 */
import { hash } from 'node:crypto';
import { isIP } from 'node:net';

import type { AlertRuleConfig } from '../config/types.js';
import { ConfigError, LogwardError } from '../errors.js';
import { ECS_ALLOWED } from '../encode/ecs-allowed.js';
import { INTERNAL_INPUT, type InternalEventSpec } from '../event/internal.js';
import type { EcsFields, LogEvent } from '../event/types.js';
import { RULE_FIRING_PREFIX, type Counters } from '../monitor/counters.js';
import { compileWhen, fieldText, type FieldPredicate } from './match.js';
import { checkWebhookUrl, type WebhookSender } from './webhook.js';

export interface RuleAlert {
  rule: string;
  /** group_by field -> the value of the group ({} for a rule without group_by). */
  groupKey: Record<string, string>;
  /** Events (or distinct values) counted in the window when the rule fired. */
  count: number;
  /** The field whose distinct values were counted. */
  distinct?: string;
  /** Some of those values (at most MAX_DISTINCT_VALUES, each at most ~256 characters). */
  distinctValues?: string[];
  threshold: number;
  windowMs: number;
  /** event.id of the oldest and of the newest counted event. */
  firstEventId: string;
  lastEventId: string;
  /** When the agent observed them (processing time, the clock the window runs on), ISO 8601 UTC. */
  firstAt: string;
  lastAt: string;
  /** Where the webhook goes; never copied into the alert event (URLs of hooks carry secrets). */
  webhook?: string;
  /** ECS categories for the alert event, derived from the rule's `when` (always ends with intrusion_detection). */
  category?: string[];
}

export interface RuleEngineDeps {
  counters: Counters;
  onAlert: (a: RuleAlert) => void;
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
  webhook?: WebhookSender;
  /** Groups kept per rule; default 10,000. */
  maxGroups?: number;
}

export const DEFAULT_MAX_GROUPS = 10_000;
export const MAX_DISTINCT_VALUES = 20;
/** Distinct values kept per group, as a multiple of the threshold. */
const DISTINCT_KEEP_FACTOR = 4;
/** Timestamps or values one rule may hold across its groups (bounds maxGroups for huge thresholds). */
const ENTRY_BUDGET = 2_000_000;
const MAX_VALUE_CHARS = 256;
/** Joins the values of several group_by fields; U+0000 never survives neutralization, so no value contains it. */
const KEY_SEP = '\u0000';

interface Group {
  readonly key: string;
  /** The rule's list of groups, least recently active first (see CompiledRule.oldest). */
  older: Group | undefined;
  newer: Group | undefined;
  /** Count mode: ring of the newest `threshold` observation times and event ids. */
  times: number[];
  ids: string[];
  head: number;
  /** Distinct mode: value -> newest sighting, least recently seen first. */
  values: Map<string, { t: number; id: string }> | undefined;
  lastAt: number;
  lastFiredAt: number;
}

interface CompiledRule {
  readonly name: string;
  readonly match: FieldPredicate;
  readonly groupBy: readonly string[];
  readonly distinct: string | undefined;
  readonly threshold: number;
  readonly windowMs: number;
  readonly webhook: string | undefined;
  readonly category: string[];
  readonly counter: string;
  readonly maxGroups: number;
  readonly distinctKeep: number;
  readonly groups: Map<string, Group>;
  /**
   * The groups in order of activity, as a list threaded through them. Not the
   * Map's insertion order (delete + set on activity): V8 leaves a hole per
   * delete until the table is rehashed, and finding the oldest group means
   * iterating over all of them, ~10 µs per new group once thousands of
   * groups have come and gone (a scan from many addresses).
   */
  oldest: Group | undefined;
  newest: Group | undefined;
  lastKey: string | undefined;
}

export class RuleEngine {
  private readonly rules: CompiledRule[];
  private readonly counters: Counters;
  private readonly onAlert: (a: RuleAlert) => void;
  private readonly now: () => number;
  private readonly webhook: WebhookSender | undefined;
  private lastT = -Infinity;

  constructor(rules: readonly AlertRuleConfig[], deps: RuleEngineDeps) {
    this.counters = deps.counters;
    this.onAlert = deps.onAlert;
    this.now = deps.now ?? Date.now;
    this.webhook = deps.webhook;
    const maxGroups = Math.max(1, deps.maxGroups ?? DEFAULT_MAX_GROUPS);
    this.rules = rules.map((r) => {
      const where = `alerts[name=${r.name}]`;
      if (!Number.isInteger(r.threshold) || r.threshold < 1) throw new ConfigError(`${where}.threshold`, 'must be an integer of at least 1');
      if (!(r.windowMs > 0)) throw new ConfigError(`${where}.window`, 'must be longer than 0');
      if (r.webhook !== undefined) {
        checkWebhookUrl(r.webhook, `${where}.webhook`);
        if (deps.webhook === undefined) throw new LogwardError(`${where}.webhook: rule has a webhook but the engine was given no WebhookSender`);
      }
      const distinctKeep = r.threshold * DISTINCT_KEEP_FACTOR;
      const perGroup = r.distinct === undefined ? r.threshold : distinctKeep;
      return {
        name: r.name,
        match: compileWhen(r.when),
        groupBy: [...r.groupBy],
        distinct: r.distinct,
        threshold: r.threshold,
        windowMs: r.windowMs,
        webhook: r.webhook,
        category: alertCategory(r),
        counter: `${RULE_FIRING_PREFIX}${r.name}`,
        maxGroups: Math.min(maxGroups, Math.max(100, Math.floor(ENTRY_BUDGET / perGroup))),
        distinctKeep,
        groups: new Map(),
        oldest: undefined,
        newest: undefined,
        lastKey: undefined,
      };
    });
  }

  /** Called for every event. Cheap when nothing matches: one predicate per rule, no clock read. */
  observe(ev: LogEvent): void {
    const f = ev.fields;
    // The engine's own alerts, fed back through the flow, must not feed a rule (no alert loops).
    if (ev.source.input === INTERNAL_INPUT && isRuleAction(f['event.action'])) return;
    let t = NaN;
    for (let i = 0; i < this.rules.length; i++) {
      const r = this.rules[i] as CompiledRule;
      if (!r.match(f)) continue;
      if (t !== t) t = this.tick();
      this.count(r, ev, t);
    }
  }

  /** Groups currently held per rule (for metrics and tests). */
  groupCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.rules) out[r.name] = r.groups.size;
    return out;
  }

  /** Stops the webhook sender: pending retries are cancelled, requests in flight get a bounded grace. */
  async stop(): Promise<void> {
    await this.webhook?.stop();
  }

  private tick(): number {
    const t = this.now();
    if (t > this.lastT) this.lastT = t;
    return this.lastT;
  }

  private count(r: CompiledRule, ev: LogEvent, t: number): void {
    const f = ev.fields;
    const key = groupKeyOf(r.groupBy, f);
    let value: string | undefined;
    if (r.distinct !== undefined) value = fieldText(f[r.distinct]);
    if (key === undefined || (r.distinct !== undefined && value === undefined)) {
      this.counters.add('rule_events_without_group_field');
      return;
    }
    const id = typeof f['event.id'] === 'string' ? f['event.id'] : '';

    let g = r.groups.get(key);
    if (g === undefined) {
      g = {
        key,
        older: undefined,
        newer: undefined,
        times: [],
        ids: [],
        head: 0,
        values: r.distinct === undefined ? undefined : new Map(),
        lastAt: t,
        lastFiredAt: -Infinity,
      };
      r.groups.set(key, g);
      linkNewest(r, g);
      this.sweep(r, t);
    } else if (r.lastKey !== key) {
      // Least recently active first: move to the newest end on activity (skipped for a burst from one group).
      unlink(r, g);
      linkNewest(r, g);
    }
    r.lastKey = key;
    g.lastAt = t;

    let count: number;
    let firstT: number;
    let firstId: string;
    const values = g.values;
    if (values === undefined) {
      const cap = r.threshold;
      if (g.times.length === 0) {
        // A one-element literal, not a push onto []: V8 grows an empty array to 17 slots on its
        // first push, and during a scan (every failure from a new address) most groups never see
        // a second event. Groups live long enough to reach the old space (up to maxGroups are
        // kept), so those spare slots were ~250 bytes per group for the major GC to carry: 17.5
        // against 12.6 MiB held at 3 x 10,000 groups of the built-in rules.
        g.times = [t];
        g.ids = [id];
      } else if (g.times.length < cap) {
        g.times.push(t);
        g.ids.push(id);
      } else {
        g.times[g.head] = t;
        g.ids[g.head] = id;
        g.head = g.head + 1 === cap ? 0 : g.head + 1;
      }
      if (g.times.length < cap) return;
      firstT = g.times[g.head] as number;
      if (t - firstT >= r.windowMs) return;
      firstId = g.ids[g.head] as string;
      count = cap;
    } else {
      const v = compact(value as string);
      values.delete(v);
      values.set(v, { t, id });
      for (const [k, seen] of values) {
        if (t - seen.t < r.windowMs && values.size <= r.distinctKeep) break;
        values.delete(k);
      }
      if (values.size < r.threshold) return;
      const oldest = values.values().next().value as { t: number; id: string };
      firstT = oldest.t;
      firstId = oldest.id;
      count = values.size;
    }
    if (t - g.lastFiredAt < r.windowMs) return;
    g.lastFiredAt = t;
    this.fire(r, f, count, firstT, firstId, t, id, values);
  }

  /** Drops groups that left the window (lossless) and evicts the least recently active beyond maxGroups (counted). */
  private sweep(r: CompiledRule, t: number): void {
    let freed = 0;
    for (let g = r.oldest; g !== undefined; g = r.oldest) {
      if (r.groups.size > r.maxGroups) {
        this.drop(r, g);
        if (t - g.lastAt < r.windowMs) this.counters.add('rules_groups_evicted');
        continue;
      }
      if (freed >= 2 || t - g.lastAt < r.windowMs) break;
      this.drop(r, g);
      freed++;
    }
  }

  private drop(r: CompiledRule, g: Group): void {
    r.groups.delete(g.key);
    unlink(r, g);
    if (r.lastKey === g.key) r.lastKey = undefined;
  }

  private fire(
    r: CompiledRule,
    f: EcsFields,
    count: number,
    firstT: number,
    firstId: string,
    t: number,
    lastId: string,
    values: Map<string, { t: number; id: string }> | undefined,
  ): void {
    const groupKey: Record<string, string> = {};
    for (const field of r.groupBy) groupKey[field] = fieldText(f[field]) as string;
    const a: RuleAlert = {
      rule: r.name,
      groupKey,
      count,
      threshold: r.threshold,
      windowMs: r.windowMs,
      firstEventId: firstId,
      lastEventId: lastId,
      firstAt: new Date(firstT).toISOString(),
      lastAt: new Date(t).toISOString(),
      category: [...r.category],
    };
    if (r.distinct !== undefined && values !== undefined) {
      a.distinct = r.distinct;
      const list: string[] = [];
      for (const v of values.keys()) {
        if (list.length >= MAX_DISTINCT_VALUES) break;
        list.push(v);
      }
      a.distinctValues = list;
    }
    if (r.webhook !== undefined) a.webhook = r.webhook;
    this.counters.add('rule_firings');
    this.counters.add(r.counter);
    this.onAlert(a);
    if (r.webhook !== undefined) this.webhook?.send(r.webhook, a);
  }
}

function linkNewest(r: CompiledRule, g: Group): void {
  g.older = r.newest;
  g.newer = undefined;
  if (r.newest !== undefined) r.newest.newer = g;
  else r.oldest = g;
  r.newest = g;
}

function unlink(r: CompiledRule, g: Group): void {
  if (g.older !== undefined) g.older.newer = g.newer;
  else r.oldest = g.newer;
  if (g.newer !== undefined) g.newer.older = g.older;
  else r.newest = g.older;
  g.older = undefined;
  g.newer = undefined;
}

function isRuleAction(v: unknown): boolean {
  return typeof v === 'string' && v.startsWith(RULE_ACTION_PREFIX);
}

function groupKeyOf(groupBy: readonly string[], f: EcsFields): string | undefined {
  if (groupBy.length === 0) return '';
  if (groupBy.length === 1) {
    const v = fieldText(f[groupBy[0] as string]);
    return v === undefined ? undefined : compact(v);
  }
  let key = '';
  for (let i = 0; i < groupBy.length; i++) {
    const v = fieldText(f[groupBy[i] as string]);
    if (v === undefined) return undefined;
    key += i === 0 ? v : KEY_SEP + v;
  }
  return compact(key);
}

/** A value kept in memory: long ones as a prefix plus a hash, so that one attacker-written line cannot hold 64 KiB per group. */
function compact(v: string): string {
  if (v.length <= MAX_VALUE_CHARS) return v;
  return `${v.slice(0, 200)}…#${hash('sha256', v, 'hex').slice(0, 32)}`;
}

/** Alerts read as detections: the counted events' own category (when ECS allows it with type info) plus intrusion_detection. */
function alertCategory(r: AlertRuleConfig): string[] {
  const out: string[] = [];
  for (const c of r.when['event.category'] ?? []) {
    const name = String(c);
    if (ECS_ALLOWED.expectedTypes.get(name)?.has('info') === true && name !== 'intrusion_detection' && !out.includes(name)) out.push(name);
  }
  if (out.length === 0 && Object.keys(r.when).some((k) => k.startsWith('http.') || k.startsWith('url.'))) out.push('web');
  out.push('intrusion_detection');
  return out;
}

// ------------------------------------------------------------ alert event

export const RULE_ACTION_PREFIX = 'rule_';
const IP_FIELDS = new Set(['source.ip', 'client.ip', 'destination.ip', 'server.ip']);
const USER_FIELDS = new Set(['user.name', 'user.effective.name', 'user.target.name', 'source.user.name']);
const MAX_MESSAGE_VALUE_CHARS = 128;

/** "60 s", "5 min", "1 h", "1500 ms". */
export function formatWindow(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0 && ms !== 60_000) return `${ms / 60_000} min`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

function short(v: string): string {
  return v.length <= MAX_MESSAGE_VALUE_CHARS ? v : `${v.slice(0, MAX_MESSAGE_VALUE_CHARS)}…`;
}

/**
 * The alert event for the flow. The webhook URL is deliberately left out
 * (hook URLs carry their secret in the path or query). Group values go into
 * their ECS fields only when they are those fields and valid for them (an IP
 * field must hold an IP, or the whole alert would fail schema validation);
 * all of them are always in logward.alert.group_fields / group_values.
 */
export function ruleAlertSpec(a: RuleAlert): InternalEventSpec {
  const fields: EcsFields = {
    'rule.name': a.rule,
    'rule.ruleset': 'logward',
    'logward.alert.count': a.count,
    'logward.alert.threshold': a.threshold,
    'logward.alert.window_ms': a.windowMs,
    'logward.alert.first_event_id': a.firstEventId,
    'logward.alert.last_event_id': a.lastEventId,
    'logward.alert.first_at': a.firstAt,
    'logward.alert.last_at': a.lastAt,
  };
  const groupFields = Object.keys(a.groupKey);
  const ips: string[] = [];
  const users: string[] = [];
  for (const k of groupFields) {
    const v = a.groupKey[k] as string;
    if (IP_FIELDS.has(k) && isIP(v) !== 0) {
      fields[k] = v;
      if (!ips.includes(v)) ips.push(v);
    } else if (USER_FIELDS.has(k)) {
      fields[k] = v;
      if (!users.includes(v)) users.push(v);
    }
  }
  if (groupFields.length > 0) {
    fields['logward.alert.group_fields'] = groupFields;
    fields['logward.alert.group_values'] = groupFields.map((k) => a.groupKey[k] as string);
  }
  if (ips.length > 0) fields['related.ip'] = ips;
  if (users.length > 0) fields['related.user'] = users;
  if (a.distinct !== undefined) {
    fields['logward.alert.distinct_field'] = a.distinct;
    fields['logward.alert.distinct_values'] = a.distinctValues ?? [];
  }

  const what = a.distinct === undefined ? 'matching events' : `distinct ${a.distinct} values`;
  const group = groupFields.length === 0 ? '' : ` for ${groupFields.map((k) => `${k} ${short(a.groupKey[k] as string)}`).join(', ')}`;
  const category = a.category ?? ['intrusion_detection'];
  return {
    action: (RULE_ACTION_PREFIX + a.rule).slice(0, 64),
    kind: 'alert',
    category: category.includes('intrusion_detection') ? [...category] : [...category, 'intrusion_detection'],
    type: ['info'],
    message: `${a.rule}: ${a.count} ${what}${group} within ${formatWindow(a.windowMs)}`,
    fields,
  };
}
