/**
 * A rule's `when`, compiled once into a predicate over flat event fields.
 *
 * Semantics (config schema, DESIGN.md "alerts"): every listed field must
 * match; a field matches when its value equals one of the listed values, or,
 * for an array field such as event.category, when one of its elements does.
 * Values compare by their text: 401 and "401" match each other, as do true
 * and "true". Numbers are written the way JavaScript writes them (1e3 is
 * "1000"), so "401.0" in a log is not 401.
 *
 * Hot path: called for every event, and most events match no rule. So no
 * allocation per call: each accepted value is kept in a Set<string> and, when
 * it reads as a number, in a Set<number>; an event's string is looked up in
 * the first, its number in the second. Scalar conditions are tried before
 * array ones, so the cheap, usually failing lookup comes first.
 */
import type { FieldScalar } from '../config/types.js';
import type { EcsFields, FieldValue } from '../event/types.js';

export type FieldPredicate = (fields: EcsFields) => boolean;

interface Condition {
  readonly field: string;
  readonly strings: ReadonlySet<string>;
  readonly numbers: ReadonlySet<number>;
  /** Array-valued fields go last: their test costs a loop. */
  readonly arrayLikely: boolean;
}

/** Fields ECS defines as arrays (of those a `when` plausibly names). */
const ARRAY_FIELDS = new Set(['event.category', 'event.type', 'tags', 'related.ip', 'related.user', 'related.hosts', 'process.args', 'host.ip']);

function condition(field: string, accepted: readonly FieldScalar[]): Condition {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  for (const v of accepted) {
    const text = String(v);
    strings.add(text);
    if (typeof v === 'number') numbers.add(v);
    else if (typeof v === 'string' && v.trim() !== '' && String(Number(v)) === v) numbers.add(Number(v));
  }
  return { field, strings, numbers, arrayLikely: ARRAY_FIELDS.has(field) };
}

function valueMatches(c: Condition, v: FieldValue | undefined): boolean {
  if (typeof v === 'string') return c.strings.has(v);
  if (typeof v === 'number') return c.numbers.has(v);
  if (typeof v === 'boolean') return c.strings.has(v ? 'true' : 'false');
  if (v === undefined) return false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x === 'string' ? c.strings.has(x) : typeof x === 'number' && c.numbers.has(x)) return true;
  }
  return false;
}

/** The predicate of a `when` map. An empty map matches every event (the schema requires at least one field). */
export function compileWhen(when: Readonly<Record<string, readonly FieldScalar[]>>): FieldPredicate {
  const conds = Object.entries(when)
    .map(([field, values]) => condition(field, values))
    .sort((a, b) => Number(a.arrayLikely) - Number(b.arrayLikely));
  const [c0, c1, c2] = conds;
  // Unrolled for the common sizes: a closure per size keeps the hot call monomorphic and loop-free.
  if (c0 === undefined) return () => true;
  if (c1 === undefined) return (f) => valueMatches(c0, f[c0.field]);
  if (c2 === undefined) return (f) => valueMatches(c0, f[c0.field]) && valueMatches(c1, f[c1.field]);
  return (f) => {
    for (let i = 0; i < conds.length; i++) {
      const c = conds[i] as Condition;
      if (!valueMatches(c, f[c.field])) return false;
    }
    return true;
  };
}

/**
 * The text of a field used as a group key or a distinct value; undefined when
 * the field is absent or empty (such an event does not count). Arrays count as
 * their elements joined by ",": a group per combination, not per element.
 */
export function fieldText(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === undefined || v.length === 0) return undefined;
  return v.join(',');
}
