/**
 * Counters for everything that is dropped, cut, neutralized, redacted or
 * retried. Plain numbers on the hot path (a Map lookup per increment would
 * cost more than the work it counts); the metrics endpoint and the heartbeat
 * read them.
 */

export type CounterName =
  | 'lines_read'
  | 'events_built'
  | 'events_neutralized'
  | 'events_redacted'
  | 'events_invalid'
  | 'events_truncated'
  | 'events_unparsed';

/** Per-rule firing counters are named with this prefix (metrics export them as logward_rule_firings_total{rule}). */
export const RULE_FIRING_PREFIX = 'rule_fired:';

export class Counters {
  private readonly values = new Map<string, number>();

  add(name: CounterName | string, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  get(name: CounterName | string): number {
    return this.values.get(name) ?? 0;
  }

  /** Snapshot, for heartbeats, metrics and tests. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }
}
