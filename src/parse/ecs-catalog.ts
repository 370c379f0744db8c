/**
 * What the parsers need to know about ECS fields, read once from the table
 * generated from @elastic/ecs (src/ecs/generated.ts): a field's type, whether
 * it is array-normalized, its allowed values, and which event.type values each
 * event.category expects.
 *
 * Parsers that map fields named by someone else (json keys, regex group
 * names) use this to keep only fields ECS defines, with values of the right
 * type; hand-written parsers use it only in tests. The range a field's value
 * must lie in (ports, pids, status codes, dates) is field-ranges.ts; the
 * fields a line may not set at all are reserved-fields.ts.
 */
import { ECS_ALLOWED_VALUES, ECS_FIELDS, type EcsFieldSpec } from '../ecs/generated.js';
import type { EcsFields, FieldValue } from '../event/types.js';

type EcsFieldDef = EcsFieldSpec;

const FLAT = ECS_FIELDS;

/** The ECS definition of a flat dotted field name, or undefined when ECS has no such field. */
export function ecsField(name: string): EcsFieldDef | undefined {
  return Object.hasOwn(FLAT, name) ? FLAT[name] : undefined;
}

/** True when ECS stores the field as an array (event.category, tags, related.ip, …). */
export function isArrayField(def: EcsFieldDef): boolean {
  return def.array === true;
}

const allowedCache = new Map<string, ReadonlySet<string> | null>();

/** The allowed values of a field (event.kind/category/type/outcome), or null when any value goes. */
export function allowedValues(name: string): ReadonlySet<string> | null {
  let set = allowedCache.get(name);
  if (set === undefined) {
    const values = Object.hasOwn(ECS_ALLOWED_VALUES, name) ? ECS_ALLOWED_VALUES[name] : undefined;
    set = values ? new Set(values.map((v) => v.name)) : null;
    allowedCache.set(name, set);
  }
  return set;
}

let expected: ReadonlyMap<string, ReadonlySet<string>> | undefined;

/** event.category -> the event.type values ECS expects with it. */
export function expectedTypes(): ReadonlyMap<string, ReadonlySet<string>> {
  if (!expected) {
    const m = new Map<string, ReadonlySet<string>>();
    for (const v of ECS_ALLOWED_VALUES['event.category'] ?? []) {
      m.set(v.name, new Set(v.expected_event_types ?? []));
    }
    expected = m;
  }
  return expected;
}

/** True when every type is expected by at least one of the categories (the ECS pairing rule). */
export function categoryTypesCompatible(categories: readonly string[], types: readonly string[]): boolean {
  const table = expectedTypes();
  for (const t of types) {
    let ok = false;
    for (const c of categories) {
      if (table.get(c)?.has(t)) {
        ok = true;
        break;
      }
    }
    if (!ok) return false;
  }
  return true;
}

/**
 * Moves event.category and event.type to json.* as a whole when ECS does not
 * pair them (half a categorization lies, and the encoders refuse the pair);
 * true when it did. For the parsers that take both from the line (json,
 * regex), which keep what they cannot place under json.*.
 */
export function moveUnpairedCategorization(fields: EcsFields): boolean {
  const cats = fields['event.category'];
  const types = fields['event.type'];
  if (!Array.isArray(cats) || !Array.isArray(types)) return false;
  if (categoryTypesCompatible(cats as string[], types as string[])) return false;
  delete fields['event.category'];
  delete fields['event.type'];
  fields['json.event.category'] = cats;
  fields['json.event.type'] = types;
  return true;
}

let prefixes: ReadonlySet<string> | undefined;

/** True when `path` is a proper prefix of some ECS field ("user", "user.effective"). */
export function isEcsPrefix(path: string): boolean {
  if (!prefixes) {
    const s = new Set<string>();
    for (const name of Object.keys(FLAT)) {
      let i = name.indexOf('.');
      while (i !== -1) {
        s.add(name.slice(0, i));
        i = name.indexOf('.', i + 1);
      }
    }
    prefixes = s;
  }
  return prefixes.has(path);
}

/** ECS types a flat field value can take as a plain string. */
const STRING_TYPES = new Set(['keyword', 'wildcard', 'match_only_text', 'constant_keyword', 'text']);
const INTEGER_TYPES = new Set(['long', 'integer']);
const FLOAT_TYPES = new Set(['float', 'double', 'scaled_float']);

export type EcsValueKind = 'string' | 'integer' | 'float' | 'boolean' | 'ip' | 'date' | 'other';

/** Coarse kind of an ECS type, for converting values that arrive as text or JSON. */
export function valueKind(def: EcsFieldDef): EcsValueKind {
  const t = def.type;
  if (STRING_TYPES.has(t)) return 'string';
  if (INTEGER_TYPES.has(t)) return 'integer';
  if (FLOAT_TYPES.has(t)) return 'float';
  if (t === 'boolean') return 'boolean';
  if (t === 'ip') return 'ip';
  if (t === 'date') return 'date';
  return 'other';
}

/** True when a FieldValue has the JS shape the ECS definition asks for (used by tests and by the mappers). */
export function valueFitsField(def: EcsFieldDef, value: FieldValue): boolean {
  const kind = valueKind(def);
  const check = (v: unknown): boolean => {
    switch (kind) {
      case 'string':
      case 'ip':
      case 'date':
        return typeof v === 'string' && v !== '';
      case 'integer':
        return typeof v === 'number' && Number.isSafeInteger(v);
      case 'float':
        return typeof v === 'number' && Number.isFinite(v);
      case 'boolean':
        return typeof v === 'boolean';
      default:
        return false;
    }
  };
  if (Array.isArray(value)) return isArrayField(def) && value.length > 0 && (value as unknown[]).every(check);
  return check(value);
}
