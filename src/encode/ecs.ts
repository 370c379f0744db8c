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
 *   The emoji forms the neutralizer keeps raw ("❤️", "1️⃣", "👨‍👩‍👧") are judged
 *   on the string as written, not on its escapes (emojiFormInJsonAt).
 *
 * Speed (bench/encode.ts, bench/stages.ts): each field-name SHAPE gets a plan,
 * compiled on its second sighting (first sightings take the generic path, so
 * a flood of random keys costs the generic path, not a compile per line):
 * - a serializer: one generated function concatenating constant JSON text
 *   (keys, braces) with the encoded values, in the key order JSON.stringify
 *   would walk the nested document. It never builds that document, and a
 *   string without '"', '\\', controls or non-ASCII is its own JSON body.
 *   This replaced nest + JSON.stringify (~3.5 µs for a 29-field event on this
 *   VM) and is byte-identical to it: property tests compare the two on
 *   arbitrary unicode names and values.
 * - a nester (`{"@timestamp":f["@timestamp"],"ecs":{"version":…},…}`) for
 *   the whole-document validation a new shape or an invalid value needs.
 * Every key and field name is embedded through JSON.stringify (a valid JS
 * string literal), "__proto__" as a computed key. fast-json-stringify was
 * measured and rejected: it silently drops every field its schema does not
 * list.
 */
import { ECS_VERSION as EcsVersion } from '../ecs/generated.js';

import type { EcsFields, FieldValue, LogEvent } from '../event/types.js';
import { emojiFormAt } from '../sanitize/neutralize.js';
import { EncodeError } from './encode-error.js';
import { replaceUnsafe } from './unsafe-chars.js';

/** A nested ECS document: plain objects, leaves are field values. */
export interface EcsDocument {
  [key: string]: FieldValue | EcsDocument;
}

type Nester = (f: Readonly<EcsFields>) => EcsDocument;
type Serializer = (f: Readonly<EcsFields>) => string;

/**
 * What is known about one field-name shape, compiled on its second sighting.
 * Validators key their own per-shape facts on the plan object (validate.ts).
 */
export interface EcsPlan {
  /** The non-empty field names, in the fields object's own order (what a shape is). */
  readonly names: readonly string[];
  /** Returns the nested document (what ajv validates). */
  readonly nest: Nester;
  /** Returns the ECS JSON line, equal to stringifyEcs(nest(f)), without building the document. */
  readonly serialize: Serializer;
  /** False for a first sighting: generic code, not worth remembering facts about. */
  readonly compiled: boolean;
}

interface Plan {
  readonly names: readonly string[];
  /** The compiled plan, or the EncodeError every event of this shape gets. */
  readonly plan: EcsPlan | EncodeError;
}

/** Placed first, in this order; everything else follows in code-unit order of its name. */
const FIRST = ['@timestamp', 'ecs.version', 'message'] as const;
const MAX_PLANS = 2048;

const plans = new Map<number, Plan[]>();
let planCount = 0;
/**
 * Shapes seen once, by hash, with their names: a shape is compiled on the
 * second sighting of the same names, never because another shape shared its
 * (cheap, collidable) hash. Attacker-chosen JSON keys become field names, so
 * per hash at most MAX_PER_HASH shapes are remembered or compiled; the rest
 * take the generic path, which costs them, not everyone.
 */
const seenOnce = new Map<number, string[][]>();
let seenOnceCount = 0;
const MAX_PER_HASH = 8;

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

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
 * The non-empty names of the fields shapeOf saw last, in order: one array
 * reused for every event (matching a plan then compares arrays instead of
 * walking the fields a second time). Never handed out; copied for a new plan.
 */
const seen: string[] = [];
let seenLength = 0;

/**
 * Validates the values, records the shape (the non-empty names in order) in
 * `seen`, and returns a hash of it. The hash only picks candidates; plans are
 * confirmed name by name.
 */
function shapeOf(fields: Readonly<EcsFields>): number {
  let h = 0x811c9dc5;
  let n = 0;
  for (const name in fields) {
    const v = fields[name];
    if (isEmpty(v)) continue;
    checkValue(name, v);
    seen[n++] = name;
    h = Math.imul(h ^ name.length, 0x01000193);
    h = Math.imul(h ^ name.charCodeAt(0), 0x01000193);
    h = Math.imul(h ^ name.charCodeAt(name.length - 1), 0x01000193);
    h = Math.imul(h ^ name.charCodeAt(name.length >> 1), 0x01000193);
  }
  seenLength = n;
  // A freak event with thousands of fields must not keep them alive here.
  if (seen.length > 1024 && n <= 1024) seen.length = 1024;
  return h;
}

/** Whether the plan is of the shape shapeOf saw last. */
function matchesSeen(plan: Plan): boolean {
  const names = plan.names;
  if (names.length !== seenLength) return false;
  for (let i = 0; i < seenLength; i++) if (names[i] !== seen[i]) return false;
  return true;
}

function seenNames(): string[] {
  return seen.slice(0, seenLength);
}

/**
 * The plan for the shape of `fields` (which must carry ecs.version: see
 * withEcsVersion). Validates the values' types; throws EncodeError on a shape
 * conflict or a bad value. A first sighting gets an uncompiled plan over the
 * generic code.
 */
export function ecsPlan(fields: Readonly<EcsFields>): EcsPlan {
  const h = shapeOf(fields);
  const candidates = plans.get(h);
  if (candidates !== undefined) {
    for (const p of candidates) {
      if (!matchesSeen(p)) continue;
      if (p.plan instanceof EncodeError) throw p.plan;
      return p.plan;
    }
  }
  const names = seenNames();
  const firsts = seenOnce.get(h);
  const secondSighting = firsts !== undefined && firsts.some((n) => sameNames(n, names));
  if (!secondSighting || (candidates !== undefined && candidates.length >= MAX_PER_HASH)) {
    if (!secondSighting) {
      if (seenOnceCount >= MAX_PLANS) {
        seenOnce.clear();
        seenOnceCount = 0;
      }
      const bucket = seenOnce.get(h);
      if (bucket === undefined) seenOnce.set(h, [names]);
      else if (bucket.length < MAX_PER_HASH) bucket.push(names);
      seenOnceCount++;
    }
    // Shape errors surface here, as on the compiled path.
    nestGeneric(fields, names);
    return genericPlan(names);
  }
  let plan: EcsPlan | EncodeError;
  try {
    plan = { names, nest: compile(names), serialize: compileSerializer(names), compiled: true };
  } catch (e) {
    if (!(e instanceof EncodeError)) throw e;
    plan = e;
  }
  if (planCount >= MAX_PLANS) {
    plans.clear();
    planCount = 0;
  }
  const entry: Plan = { names, plan };
  if (candidates === undefined) plans.set(h, [entry]);
  else candidates.push(entry);
  planCount++;
  if (plan instanceof EncodeError) throw plan;
  return plan;
}

function genericPlan(names: readonly string[]): EcsPlan {
  const nest: Nester = (f) => nestGeneric(f, names);
  return { names, nest, serialize: (f) => stringifyEcs(nest(f)), compiled: false };
}

/** fields with ecs.version set to the installed @elastic/ecs version when it is absent (a copy then). */
export function withEcsVersion(fields: Readonly<EcsFields>): Readonly<EcsFields> {
  return isEmpty(fields['ecs.version']) ? { ...fields, 'ecs.version': EcsVersion } : fields;
}

/**
 * Nests flat dotted fields into an ECS document in canonical key order, adding
 * ecs.version when absent. Throws EncodeError on a shape conflict or a bad value.
 */
export function nestEcs(fields: Readonly<EcsFields>): EcsDocument {
  const f = withEcsVersion(fields);
  return ecsPlan(f).nest(f);
}

/** The uncached reference nesting, for tests that compare it with the compiled path. */
export function nestEcsGeneric(fields: Readonly<EcsFields>): EcsDocument {
  if (isEmpty(fields['ecs.version'])) fields = { ...fields, 'ecs.version': EcsVersion };
  shapeOf(fields);
  return nestGeneric(fields, seenNames());
}

/**
 * emojiFormAt, at index i of text JSON.stringify wrote, judged as on the
 * string it was written from. The post-pass runs on escaped text, and
 * JSON.stringify's escapes of a C0 control or a lone surrogate ("\u0001",
 * "\ud800") may end in a digit: a U+FE0F U+20E3 after one would read as a
 * keycap ("1️⃣") and stay raw although the source put it after a control.
 * Only that keycap case can differ: every other kept form needs a raw
 * non-ASCII neighbour, and a raw character in the JSON text is the same
 * character, with the same neighbours up to escapes, in the source; '#', '*'
 * and the escapes \" \\ \b \f \n \r \t end in no digit. A digit ends an
 * escape when it is the last of "\uXXXX" whose backslash is not itself escaped
 * (an odd run of backslashes): JSON.stringify never escapes a digit, so the
 * source had a control or a surrogate there. Runs only on a kept keycap.
 */
function emojiFormInJsonAt(s: string, i: number): boolean {
  if (!emojiFormAt(s, i)) return false;
  const before = s.charCodeAt(i - 1);
  if (before < 0x30 || before > 0x39 || i < 6 || s.charCodeAt(i - 5) !== 0x75 || s.charCodeAt(i - 6) !== 0x5c) return true;
  let backslashes = 1;
  while (i - 6 - backslashes >= 0 && s.charCodeAt(i - 6 - backslashes) === 0x5c) backslashes++;
  return backslashes % 2 === 0;
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
  return replaceUnsafe(out, jsonEscapeCodePoint, emojiFormInJsonAt);
}

/** ECS JSON for one event, no trailing newline. Throws EncodeError on a field shape conflict. */
export function encodeEcs(ev: LogEvent): string {
  const f = withEcsVersion(ev.fields);
  return ecsPlan(f).serialize(f);
}

// ---------------------------------------------------------------- serializer

/**
 * Any character JSON.stringify would escape ('"', '\\', C0) or that the
 * post-pass might (DEL and everything above ASCII, surrogates included). A
 * string without one is its own JSON body: no escaping pass, no copy.
 */
const NEEDS_ESCAPE = /["\\\x00-\x1f\x7f-\uffff]/;

/** One string as stringifyEcs would write it inside the document. */
function jsonString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  const out = JSON.stringify(s);
  return Buffer.byteLength(out, 'utf8') === out.length && !out.includes('\x7f') ? out : replaceUnsafe(out, jsonEscapeCodePoint, emojiFormInJsonAt);
}

function sameElements(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One leaf value (types already checked by shapeOf) as stringifyEcs would write it. */
function jsonValue(v: FieldValue): string {
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number') return String(v); // finite (checked): JSON's number form, -0 as "0" included
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  let out = '[';
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as string | number;
    if (i > 0) out += ',';
    out += typeof x === 'string' ? jsonString(x) : String(x);
  }
  return out + ']';
}

/**
 * Compiles the serializer of one shape: a function concatenating constant
 * JSON text (keys, braces) with the encoded values, in exactly the key order
 * JSON.stringify would walk the nested document (taken from a nested
 * document of the shape itself, so integer-like keys come first as in any
 * JS object). Keys go through the same escaping as values; generated code
 * embeds them as JSON string literals, never as code.
 *
 * Each value slot remembers the last value it encoded and its encoding: most
 * slots carry the same value event after event (agent.*, host.*, ecs.version,
 * event.module, timestamps within a second, event.category), and an equal
 * value has an equal encoding. Primitives and frozen arrays are compared with
 * ===; other arrays element by element against a private copy.
 */
function compileSerializer(names: readonly string[]): Serializer {
  const placeholders: EcsFields = {};
  // defineProperty: a field named "__proto__" must be a key, not the prototype.
  for (const name of names) Object.defineProperty(placeholders, name, { value: name, enumerable: true, writable: true, configurable: true });
  const skeleton = nestGeneric(placeholders, names);
  let code = '';
  let text = '';
  let slots = 0;
  const flush = (): void => {
    if (text !== '') code += (code === '' ? '' : ' + ') + JSON.stringify(text);
    text = '';
  };
  const walk = (node: EcsDocument): void => {
    text += '{';
    let first = true;
    for (const key of Object.keys(node)) {
      text += (first ? '' : ',') + jsonString(key) + ':';
      first = false;
      const child = node[key];
      if (typeof child === 'string') {
        flush();
        const k = 2 * slots++;
        code += `${code === '' ? '' : ' + '}(m[${k}] === (x = f[${JSON.stringify(child)}]) ? m[${k + 1}] : e(${k}, x))`;
      } else {
        walk(child as EcsDocument);
      }
    }
    text += '}';
  };
  walk(skeleton);
  flush();
  const memo: unknown[] = new Array<unknown>(2 * slots).fill(undefined);
  const encodeSlot = (k: number, x: FieldValue): string => {
    if (Array.isArray(x) && !Object.isFrozen(x)) {
      // A fresh array each event (event.category, related.user) usually holds what the
      // last one held: compared by element against a private copy, which nobody can change.
      const last = memo[k];
      if (Array.isArray(last) && sameElements(last as unknown[], x)) return memo[k + 1] as string;
      const out = jsonValue(x);
      memo[k] = (x as unknown[]).slice();
      memo[k + 1] = out;
      return out;
    }
    const out = jsonValue(x);
    if (typeof x === 'string' || Object.isFrozen(x)) {
      memo[k] = x;
      memo[k + 1] = out;
    }
    return out;
  };
  const make = new Function('m', 'e', `"use strict"; return function serializeShape(f) { let x; return ${code}; };`) as (
    m: unknown[],
    e: (k: number, x: FieldValue) => string,
  ) => Serializer;
  return make(memo, encodeSlot);
}
