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
 *   arbitrary unicode names and values. It learns which slots keep their
 *   value and remembers runs of them as one flat piece of text, so the
 *   payload is ~30 pieces instead of ~100 (ShapeSerializer).
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
      // Indexed, not for-of: an array iterator left unoptimized here allocates a result object per element.
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
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
    if (typeof v === 'string') {
      if (v === '') continue;
    } else {
      if (v === undefined) continue;
      checkValue(name, v);
    }
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
    for (let i = 0; i < candidates.length; i++) {
      const p = candidates[i] as Plan;
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

/** DEL and everything above ASCII: what the post-pass may have to escape. */
const ABOVE_ASCII = /[\x7f-\uffff]/;

/** One string as stringifyEcs would write it inside the document. */
function jsonString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  const out = JSON.stringify(s);
  // JSON.stringify writes nothing above ASCII but what s has: without any, the post-pass has nothing to do
  // (with some, it runs: a lone surrogate JSON.stringify escaped leaves it nothing to change).
  return ABOVE_ASCII.test(s) ? replaceUnsafe(out, jsonEscapeCodePoint, emojiFormInJsonAt) : out;
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

/** What a slot remembers before its first value: equal to no field value. */
const UNSET = Symbol('unset');

/** Calls of a new shape's serializer before it learns which slots are stable. */
const PROFILE_CALLS = 16;
/** Calls between two reviews of the stable slots. */
const REVIEW_CALLS = 1024;
/** A stable slot that changed in more than this share of a review's calls becomes volatile. */
const VOLATILE_SHARE = 1 / 16;

/** Constant JSON text around the slots of one shape: texts[i] precedes slot i, texts[n] follows the last. */
interface Layout {
  readonly names: readonly string[];
  readonly texts: readonly string[];
}

/** Consecutive stable slots and the text around them, remembered as one flat string. */
interface Run {
  /** Slot numbers, ascending and consecutive. */
  readonly slots: readonly number[];
  /** texts[i] precedes slots[i]; the last follows the last slot. */
  readonly texts: readonly string[];
}

/**
 * The layout of one shape: its slots in exactly the key order JSON.stringify
 * would walk the nested document (taken from a nested document of the shape
 * itself, so integer-like keys come first as in any JS object), and the
 * constant text between them. Keys go through the same escaping as values.
 */
function layoutOf(names: readonly string[]): Layout {
  const placeholders: EcsFields = {};
  // defineProperty: a field named "__proto__" must be a key, not the prototype.
  for (const name of names) Object.defineProperty(placeholders, name, { value: name, enumerable: true, writable: true, configurable: true });
  const skeleton = nestGeneric(placeholders, names);
  const slotNames: string[] = [];
  const texts: string[] = [];
  let text = '';
  const walk = (node: EcsDocument): void => {
    text += '{';
    let first = true;
    for (const key of Object.keys(node)) {
      text += (first ? '' : ',') + jsonString(key) + ':';
      first = false;
      const child = node[key];
      if (typeof child === 'string') {
        texts.push(text);
        slotNames.push(child);
        text = '';
      } else {
        walk(child as EcsDocument);
      }
    }
    text += '}';
  };
  walk(skeleton);
  texts.push(text);
  return { names: slotNames, texts };
}

/**
 * The serializer of one shape: the JSON text of an event written straight
 * from the flat fields, equal to stringifyEcs(nest(f)).
 *
 * Each value slot remembers the last value it encoded and its encoding: most
 * slots carry the same value event after event (agent.*, host.*, ecs.version,
 * event.module, event.category), and an equal value has an equal encoding.
 * Primitives and frozen arrays are compared with ===, other arrays element by
 * element against a private copy.
 *
 * Then the text itself: concatenating ~40 encodings with ~40 constant pieces
 * makes a string of ~80 pieces (a V8 cons string), which costs an allocation
 * per piece here and a walk of every piece wherever the payload is flattened
 * (its UTF-8 length, the queue frame write). So the serializer learns, over
 * its first PROFILE_CALLS events, which slots change ("volatile") and which
 * do not ("stable"), and is then generated again: every run of stable slots,
 * with the constant text around them, is one remembered flat string, taken
 * as one piece while all its slots still hold their remembered values, and
 * rebuilt (once) when one of them changes. A stable slot that keeps changing
 * is found at the next review and becomes volatile (slots only ever go that
 * way, so a shape is regenerated at most once per slot). The text is the same
 * in every state; property tests compare it with stringifyEcs(nest(f)) over
 * long sequences of events that change, repeat and mutate values.
 *
 * Generated code embeds field names as JSON string literals, never as code,
 * and no text from a value.
 */
class ShapeSerializer {
  private readonly layout: Layout;
  /** Per slot k: memo[2k] the value last encoded (a private copy for a mutable array), memo[2k+1] its encoding. */
  private readonly memo: unknown[];
  /** Per slot: re-encodings since the last review. */
  private readonly changes: number[];
  private readonly volatile: boolean[];
  /** Per slot: every value seen was a string (a volatile one is then written between constant quotes). */
  private readonly strings: boolean[];
  private profiled = false;
  /** A string slot met another type: regenerate at the next event. */
  private dirty = false;
  private runs: Run[] = [];
  private runText: (string | undefined)[] = [];
  /** The volatile slots written between constant quotes (their memo holds the JSON body, without quotes). */
  private quoted: number[] = [];
  private current: Serializer;
  private calls = 0;
  private review = PROFILE_CALLS;
  private readonly encodeSlot = (k: number, x: FieldValue): string => this.encode(k, x);
  private readonly encodeBody = (k: number, x: string): string => this.body(k, x);
  private readonly sameAsMemo = (k: number, x: FieldValue): boolean => this.same(k, x);
  private readonly runMiss = (j: number, f: Readonly<EcsFields>): string => this.rebuildRun(j, f);
  private readonly notString = (f: Readonly<EcsFields>): string => this.bail(f);

  constructor(private readonly shape: readonly string[]) {
    this.layout = layoutOf(shape);
    const n = this.layout.names.length;
    this.memo = new Array<unknown>(2 * n).fill(UNSET);
    this.changes = new Array<number>(n).fill(0);
    this.volatile = new Array<boolean>(n).fill(true);
    this.strings = new Array<boolean>(n).fill(true);
    this.current = this.generate();
  }

  readonly serialize: Serializer = (f) => {
    if (++this.calls === this.review) this.learn();
    return this.current(f);
  };

  /** Whether x encodes as the remembered value of slot k: an array with the remembered elements (=== was tried first). */
  private same(k: number, x: FieldValue): boolean {
    const last = this.memo[2 * k];
    return Array.isArray(x) && Array.isArray(last) && sameElements(last as unknown[], x);
  }

  private encode(k: number, x: FieldValue): string {
    if (this.same(k, x)) return this.memo[2 * k + 1] as string;
    const out = jsonValue(x);
    // A mutable array is remembered as a copy, which nobody can change.
    this.memo[2 * k] = Array.isArray(x) && !Object.isFrozen(x) ? (x as unknown[]).slice() : x;
    this.memo[2 * k + 1] = out;
    this.changes[k] = (this.changes[k] as number) + 1;
    if (typeof x !== 'string') this.strings[k] = false;
    return out;
  }

  /** A quoted slot's string as it goes between the quotes: itself, or jsonString's escaped body. */
  private body(k: number, x: string): string {
    const out = NEEDS_ESCAPE.test(x) ? jsonString(x).slice(1, -1) : x;
    this.memo[2 * k] = x;
    this.memo[2 * k + 1] = out;
    this.changes[k] = (this.changes[k] as number) + 1;
    return out;
  }

  /** A quoted slot held another type: this event by the generic path, and the serializer is regenerated. */
  private bail(f: Readonly<EcsFields>): string {
    for (const k of this.quoted) if (typeof f[this.layout.names[k] as string] !== 'string') this.strings[k] = false;
    this.dirty = true;
    this.review = this.calls + 1;
    return stringifyEcs(nestGeneric(f, this.shape));
  }

  private rebuildRun(j: number, f: Readonly<EcsFields>): string {
    const run = this.runs[j] as Run;
    const names = this.layout.names;
    let text = this.runText[j];
    let changed = text === undefined;
    for (let i = 0; i < run.slots.length; i++) {
      const k = run.slots[i] as number;
      const x = f[names[k] as string] as FieldValue;
      if (this.memo[2 * k] === x || this.same(k, x)) continue;
      this.encode(k, x);
      changed = true;
    }
    if (!changed && text !== undefined) return text;
    text = run.texts[0] as string;
    for (let i = 0; i < run.slots.length; i++) text += (this.memo[2 * (run.slots[i] as number) + 1] as string) + (run.texts[i + 1] as string);
    // Reading a character flattens a V8 cons string in place: the run is then one piece wherever it goes.
    text.charCodeAt(0);
    this.runText[j] = text;
    return text;
  }

  /** After the profile and at every review: slots that changed become volatile; regenerated when any did. */
  private learn(): void {
    const first = !this.profiled;
    this.profiled = true;
    const limit = first ? 1 : REVIEW_CALLS * VOLATILE_SHARE;
    let regenerate = first || this.dirty;
    let stable = 0;
    for (let k = 0; k < this.volatile.length; k++) {
      // Every slot "changes" on the first event (nothing remembered yet): stable means no change after it.
      const isVolatile = (!first && this.volatile[k] === true) || (this.changes[k] as number) > limit;
      if (isVolatile !== this.volatile[k]) regenerate = true;
      this.volatile[k] = isVolatile;
      if (!isVolatile) stable++;
    }
    this.changes.fill(0);
    this.dirty = false;
    this.review = stable === 0 ? 0 : this.calls + REVIEW_CALLS;
    if (regenerate) this.current = this.generate();
  }

  /**
   * The serializer for the current state. Before the profile every slot is
   * `(m[2k] === (x = f["name"]) ? m[2k+1] : e(k, x))`. After it, a run of
   * stable slots is `((m[2a] === (x = f["a"]) || c(a, x)) && … ? r[j] : u(j, f))`,
   * a run without a slot is its constant text, and a volatile slot that only
   * ever held strings stands between constant quotes (two pieces fewer):
   * `(typeof (x = f["name"]) === "string" ? (m[2k] === x ? m[2k+1] : s(k, x)) : (ok = false, ""))`,
   * where a value of another type sends the event to the generic path.
   */
  private generate(): Serializer {
    const { names } = this.layout;
    const texts = this.layout.texts.slice();
    const quoted: number[] = [];
    if (this.profiled) {
      for (let k = 0; k < names.length; k++) {
        if (!this.volatile[k] || !this.strings[k]) continue;
        quoted.push(k);
        texts[k] += '"';
        texts[k + 1] = '"' + (texts[k + 1] as string);
      }
    }
    const parts: string[] = [];
    const runs: Run[] = [];
    let slots: number[] = [];
    let runTexts: string[] = [texts[0] as string];
    const close = (): void => {
      if (slots.length === 0) {
        if (runTexts[0] !== '') parts.push(JSON.stringify(runTexts[0]));
      } else {
        const checks = slots.map((k) => `(m[${2 * k}] === (x = f[${JSON.stringify(names[k])}]) || c(${k}, x))`);
        parts.push(`(${checks.join(' && ')} ? r[${runs.length}] : u(${runs.length}, f))`);
        runs.push({ slots, texts: runTexts });
      }
    };
    for (let k = 0; k < names.length; k++) {
      if (this.volatile[k]) {
        close();
        const field = `f[${JSON.stringify(names[k])}]`;
        parts.push(
          quoted.includes(k)
            ? `(typeof (x = ${field}) === "string" ? (m[${2 * k}] === x ? m[${2 * k + 1}] : s(${k}, x)) : (ok = false, ""))`
            : `(m[${2 * k}] === (x = ${field}) ? m[${2 * k + 1}] : e(${k}, x))`,
        );
        slots = [];
        runTexts = [texts[k + 1] as string];
      } else {
        slots.push(k);
        runTexts.push(texts[k + 1] as string);
      }
    }
    close();
    // Every slot forgets its value (a quoted slot remembers a body, a run slot lives in its run's text):
    // the first event of the new serializer encodes each once.
    this.memo.fill(UNSET);
    this.runs = runs;
    this.runText = new Array<string | undefined>(runs.length).fill(undefined);
    this.quoted = quoted;
    const body = quoted.length === 0 ? `return ${parts.join(' + ')};` : `let ok = true; const out = ${parts.join(' + ')}; return ok ? out : g(f);`;
    const make = new Function('m', 'r', 'c', 'e', 's', 'u', 'g', `"use strict"; return function serializeShape(f) { let x; ${body} };`) as (
      m: unknown[],
      r: (string | undefined)[],
      c: (k: number, x: FieldValue) => boolean,
      e: (k: number, x: FieldValue) => string,
      s: (k: number, x: string) => string,
      u: (j: number, f: Readonly<EcsFields>) => string,
      g: (f: Readonly<EcsFields>) => string,
    ) => Serializer;
    return make(this.memo, this.runText, this.sameAsMemo, this.encodeSlot, this.encodeBody, this.runMiss, this.notString);
  }
}

function compileSerializer(names: readonly string[]): Serializer {
  return new ShapeSerializer(names).serialize;
}
