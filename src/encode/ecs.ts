/**
 * ECS JSON: the flat dotted fields of a LogEvent, nested ("source.ip" ->
 * {"source":{"ip":…}}), as one line of JSON.
 *
 * Invariants
 * - Key order is a function of the field names only: "@timestamp", "ecs",
 *   "message" first (what people look at in a raw stream), then every other
 *   field in code-unit order of its flat name. Integer-like keys (only possible
 *   under labels/json) come first inside their object, as JS objects order them.
 * - undefined and "" values are omitted (ECS: never emit null or "").
 * - "labels.<rest>" puts <rest> as ONE key under labels, dots included: ECS
 *   labels are flat keyword pairs, never nested.
 * - ecs.version defaults to the installed @elastic/ecs version when absent.
 * - A name that is both a value and a parent ("a" and "a.b"), has an empty
 *   segment, or a non-finite number throws EncodeError: the policy in
 *   encode.ts replaces such an event, it is never silently reshaped.
 * - "__proto__" is an ordinary own key (defined, never assigned).
 * - Output never holds a raw control, U+2028/U+2029, NEL, bidi or zero-width
 *   character: JSON.stringify escapes C0, '"', '\' and lone surrogates; the
 *   post-pass escapes DEL, C1, every Unicode format character (Cf) and
 *   U+2028/U+2029 as \uXXXX, which JSON.parse reads back to the same string.
 *
 * Speed (bench/encode.ts): nesting is needed anyway for ajv, and nesting by
 * keyed stores costs more than the serialization itself (~7 µs on the CI box
 * for 29 fields). So each field-name SHAPE gets a nester compiled once: a
 * function returning one object literal (`{"@timestamp":f["@timestamp"],
 * "ecs":{"version":f["ecs.version"]},…}`), fast-mode objects that V8's native
 * JSON.stringify walks quickly. Every key and field name is embedded through
 * JSON.stringify (a valid JS string literal), "__proto__" as a computed key.
 * A shape is compiled on its second sighting only; first sightings take the
 * generic path, so a flood of random keys costs the generic path, not a
 * compile per line. fast-json-stringify was measured and rejected: it silently
 * drops every field its schema does not list. Both paths are checked against
 * each other and against JSON.parse by property tests.
 */
import { EcsVersion } from '@elastic/ecs';

import type { EcsFields, FieldValue, LogEvent } from '../event/types.js';
import { EncodeError } from './encode-error.js';
import { replaceUnsafe } from './unsafe-chars.js';

/** A nested ECS document: plain objects, leaves are field values. */
export interface EcsDocument {
  [key: string]: FieldValue | EcsDocument;
}

type Nester = (f: Readonly<EcsFields>) => EcsDocument;

interface Plan {
  /** The non-empty field names, in the fields object's own order (what a shape is). */
  readonly names: readonly string[];
  /** Compiled nester, or the EncodeError every event of this shape gets. */
  readonly nest: Nester | EncodeError;
}

/** Placed first, in this order; everything else follows in code-unit order of its name. */
const FIRST = ['@timestamp', 'ecs.version', 'message'] as const;
const MAX_PLANS = 2048;

const plans = new Map<number, Plan[]>();
let planCount = 0;
/** Shape hashes seen once: compiled on the second sighting. */
const seenOnce = new Set<number>();

function isEmpty(v: FieldValue | undefined): v is undefined | '' {
  return v === undefined || v === '';
}

function checkValue(name: string, v: FieldValue): void {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new EncodeError(name, `not a finite number (${v})`);
      return;
    default:
      if (!Array.isArray(v)) throw new EncodeError(name, `unsupported value type ${typeof v}`);
      for (const x of v as unknown[]) {
        if (typeof x === 'number' ? !Number.isFinite(x) : typeof x !== 'string') {
          throw new EncodeError(name, 'array elements must be strings or finite numbers');
        }
      }
  }
}

/** Path segments of a flat name: labels.<rest> is one key under labels; otherwise split at every dot. */
export function segmentsOf(name: string): string[] {
  const segs = name.startsWith('labels.') ? ['labels', name.slice(7)] : name.split('.');
  for (const s of segs) if (s === '') throw new EncodeError(name, 'empty segment in field name');
  return segs;
}

/** The canonical field order: FIRST, then code-unit order. */
function canonicalOrder(names: readonly string[]): string[] {
  const rest = names.filter((n) => n !== '@timestamp' && n !== 'ecs.version' && n !== 'message').sort();
  const head = FIRST.filter((n) => names.includes(n));
  return [...head, ...rest];
}

function setOwn(obj: EcsDocument, key: string, v: FieldValue | EcsDocument): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
  else obj[key] = v;
}

/** Generic nesting (no cache): the reference the compiled nesters must equal. */
function nestGeneric(fields: Readonly<EcsFields>, names: readonly string[]): EcsDocument {
  const root: EcsDocument = {};
  for (const name of canonicalOrder(names)) {
    const segs = segmentsOf(name);
    let obj = root;
    for (let i = 0; i < segs.length - 1; i++) {
      const seg = segs[i] as string;
      const next = Object.hasOwn(obj, seg) ? obj[seg] : undefined;
      if (next === undefined) {
        const child: EcsDocument = {};
        setOwn(obj, seg, child);
        obj = child;
      } else if (typeof next === 'object' && !Array.isArray(next)) {
        obj = next;
      } else {
        throw new EncodeError(name, `"${segs.slice(0, i + 1).join('.')}" is a value, not an object`);
      }
    }
    const leaf = segs[segs.length - 1] as string;
    if (Object.hasOwn(obj, leaf)) throw new EncodeError(name, 'field is also the parent of other fields');
    setOwn(obj, leaf, fields[name] as FieldValue);
  }
  return root;
}

type Tree = Map<string, Tree | string>;

/** Compiles the nester of one shape; throws EncodeError for a shape that cannot nest. */
function compile(names: readonly string[]): Nester {
  const root: Tree = new Map();
  for (const name of canonicalOrder(names)) {
    const segs = segmentsOf(name);
    let node = root;
    for (let i = 0; i < segs.length - 1; i++) {
      const seg = segs[i] as string;
      const next = node.get(seg);
      if (next === undefined) {
        const child: Tree = new Map();
        node.set(seg, child);
        node = child;
      } else if (typeof next !== 'string') {
        node = next;
      } else {
        throw new EncodeError(name, `"${segs.slice(0, i + 1).join('.')}" is a value, not an object`);
      }
    }
    const leaf = segs[segs.length - 1] as string;
    if (node.has(leaf)) throw new EncodeError(name, 'field is also the parent of other fields');
    node.set(leaf, name);
  }
  const gen = (node: Tree): string => {
    const parts: string[] = [];
    for (const [seg, child] of node) {
      // A quoted "__proto__" in a literal would set the prototype; a computed key defines a property.
      const key = seg === '__proto__' ? '["__proto__"]' : JSON.stringify(seg);
      parts.push(`${key}:${typeof child === 'string' ? `f[${JSON.stringify(child)}]` : gen(child)}`);
    }
    return `{${parts.join(',')}}`;
  };
  return new Function('f', `"use strict"; return ${gen(root)};`) as Nester;
}

/**
 * Validates the values and returns a hash of the shape (the non-empty names in
 * order). The hash only picks candidates; plans are confirmed name by name.
 */
function shapeOf(fields: Readonly<EcsFields>): number {
  let h = 0x811c9dc5;
  for (const name in fields) {
    const v = fields[name];
    if (isEmpty(v)) continue;
    checkValue(name, v);
    h = Math.imul(h ^ name.length, 0x01000193);
    h = Math.imul(h ^ name.charCodeAt(0), 0x01000193);
    h = Math.imul(h ^ name.charCodeAt(name.length - 1), 0x01000193);
    h = Math.imul(h ^ name.charCodeAt(name.length >> 1), 0x01000193);
  }
  return h;
}

function matches(plan: Plan, fields: Readonly<EcsFields>): boolean {
  const names = plan.names;
  let i = 0;
  for (const name in fields) {
    if (isEmpty(fields[name])) continue;
    if (names[i] !== name) return false;
    i++;
  }
  return i === names.length;
}

function namesOf(fields: Readonly<EcsFields>): string[] {
  const out: string[] = [];
  for (const name in fields) if (!isEmpty(fields[name])) out.push(name);
  return out;
}

/**
 * Nests flat dotted fields into an ECS document in canonical key order, adding
 * ecs.version when absent. Throws EncodeError on a shape conflict or a bad value.
 */
export function nestEcs(fields: Readonly<EcsFields>): EcsDocument {
  if (isEmpty(fields['ecs.version'])) fields = { ...fields, 'ecs.version': EcsVersion };
  const h = shapeOf(fields);
  const candidates = plans.get(h);
  if (candidates !== undefined) {
    for (const plan of candidates) {
      if (!matches(plan, fields)) continue;
      if (plan.nest instanceof EncodeError) throw plan.nest;
      return plan.nest(fields);
    }
  }
  const names = namesOf(fields);
  if (!seenOnce.has(h)) {
    if (seenOnce.size >= MAX_PLANS) seenOnce.clear();
    seenOnce.add(h);
    return nestGeneric(fields, names);
  }
  let nest: Nester | EncodeError;
  try {
    nest = compile(names);
  } catch (e) {
    if (!(e instanceof EncodeError)) throw e;
    nest = e;
  }
  if (planCount >= MAX_PLANS) {
    plans.clear();
    planCount = 0;
  }
  const plan: Plan = { names, nest };
  if (candidates === undefined) plans.set(h, [plan]);
  else candidates.push(plan);
  planCount++;
  if (nest instanceof EncodeError) throw nest;
  return nest(fields);
}

/** The uncached reference nesting, for tests that compare it with the compiled path. */
export function nestEcsGeneric(fields: Readonly<EcsFields>): EcsDocument {
  if (isEmpty(fields['ecs.version'])) fields = { ...fields, 'ecs.version': EcsVersion };
  shapeOf(fields);
  return nestGeneric(fields, namesOf(fields));
}

function jsonEscapeCodePoint(cp: number): string {
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  const v = cp - 0x10000;
  return '\\u' + (0xd800 + (v >> 10)).toString(16) + '\\u' + (0xdc00 + (v & 0x3ff)).toString(16);
}

/** One line of JSON; every character that could hide or forge text is a \uXXXX escape. */
export function stringifyEcs(doc: EcsDocument): string {
  const out = JSON.stringify(doc);
  // JSON.stringify has already escaped every C0 control and lone surrogate, so
  // only DEL and non-ASCII can need the post-pass; a UTF-8 length equal to the
  // string length proves there is no non-ASCII at all (native, ~5x cheaper
  // than a regex scan of a 1 KB line).
  if (Buffer.byteLength(out, 'utf8') === out.length && !out.includes('\x7f')) return out;
  // Raw non-ASCII only ever sits inside JSON strings, so escaping it in the
  // whole text is the same as escaping it in each string value and key.
  return replaceUnsafe(out, jsonEscapeCodePoint);
}

/** ECS JSON for one event, no trailing newline. Throws EncodeError on a field shape conflict. */
export function encodeEcs(ev: LogEvent): string {
  return stringifyEcs(nestEcs(ev.fields));
}
