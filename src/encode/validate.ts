/**
 * The encoded-event schemas (schemas/ecs-event.schema.json and
 * schemas/cef-event.schema.json) compiled with ajv, once.
 *
 * Two instances per schema: the hot path runs allErrors:false (stops at the
 * first problem, fastest), and only when it fails does a second allErrors
 * instance run to explain every problem. The ECS enums of event.kind/category/
 * type/outcome are injected from @elastic/ecs (ecs-allowed.ts) before compiling,
 * so the validator always matches the installed ECS version; a test keeps the
 * file's copy in sync. What JSON Schema cannot say cheaply (category -> type
 * pairing) is checked in code right after ajv.
 *
 * encodeEvent() is the policy on top: encode, validate, and when the event is
 * invalid REPLACE it (never drop it) by a minimal valid event that carries the
 * neutralized original (message, event.original), @timestamp, the same
 * event.id, event.kind "event", tags + "schema_invalid" and the reasons in
 * error.message (CEF: reason); counted as events_invalid. The replacement's
 * CEF class is "logward:schema_invalid", so a SIEM can route it apart.
 *
 * Speed (every event is validated: about a fifth of an event's cost):
 * - The hot-path instance is ajv's core engine plus its "next" vocabulary
 *   (the 2019 keywords: dependentRequired), not Ajv2020. Ajv2020 always tracks
 *   evaluated properties for unevaluated* and $dynamicRef, which costs on every
 *   call and makes anyOf run every branch (each IPv4 address was also tried as
 *   IPv6). The schemas use no keyword whose meaning differs between the two
 *   (strict mode refuses any keyword the core engine does not know), their
 *   "$schema" is set aside for it, and a test checks both schema files
 *   against the 2020-12 meta-schema. A property test checks that both
 *   engines accept and reject the same events.
 * - date-time, ipv4 and ipv6 are ajv-formats' own full validators behind a
 *   memo of the last few accepted values: event.created is the same string for
 *   every event read within a millisecond, @timestamp for every syslog line
 *   within a second, host.ip for every event. date-time first tries a
 *   charCode check of toISOString's own form (the full check splits and runs
 *   two regexes: over a microsecond here).
 * - Shapes seen before are validated by leaf (LeafValidation below): the
 *   same verdict as the whole document, for about a third of the cost; each
 *   leaf remembers the last value it accepted, and the plain subschemas
 *   (types, bounds, enums, formats) accept without an ajv call (quickAccept).
 */
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv';
import Ajv2020Module, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import nextVocabularyModule from 'ajv/dist/vocabularies/next.js';

import { ECS_VERSION as EcsVersion } from '../ecs/generated.js';

import { LogwardError } from '../errors.js';
import type { EcsFields, FieldValue, LogEvent } from '../event/types.js';
import type { Counters } from '../monitor/counters.js';
import { eventTimeFits } from '../parse/field-ranges.js';
import { buildCef, cefDraft, cefEventOf, MAPPED_KEY_NAMES, serializeCef, serializeCefDraft, type CefDraft, type CefKey, type CefOptions } from './cef.js';
import { ecsPlan, nestEcs, segmentsOf, stringifyEcs, withEcsVersion, type EcsPlan } from './ecs.js';
import { checkCategorization, ECS_ALLOWED } from './ecs-allowed.js';
import { EncodeError } from './encode-error.js';
import { isCanonicalIsoMs } from './iso-time.js';

// ajv and ajv-formats are CommonJS with `exports.default`; under NodeNext the default import is the module object.
const Ajv = AjvModule.default;
const Ajv2020 = Ajv2020Module.default;
const nextVocabulary = nextVocabularyModule.default;
const addFormats = addFormatsModule.default;

/** <package>/schemas, two levels up from src/encode/ and from dist/encode/. */
export const ECS_SCHEMA_URL = new URL('../../schemas/ecs-event.schema.json', import.meta.url);
export const CEF_SCHEMA_URL = new URL('../../schemas/cef-event.schema.json', import.meta.url);

export type ValidationResult = { ok: true } | { ok: false; errors: string[] };

export interface Validators {
  /** A nested ECS document (what encodeEcs serializes). */
  validateEcs(obj: unknown): ValidationResult;
  /**
   * The same verdict as validateEcs(plan.nest(fields)), by leaf: see
   * LeafValidation. `fields` must have the plan's shape (ecsPlan(fields)).
   */
  validateEcsFields(fields: Readonly<EcsFields>, plan: EcsPlan): ValidationResult;
  /** A CEF event in object form (what buildCef returns). */
  validateCef(obj: unknown): ValidationResult;
  /**
   * True when validateCef(cefEventOf(d)) would accept the draft; by value for
   * the key sets of the mapping seen before (CefDraftValidation).
   */
  acceptsCefDraft(d: CefDraft): boolean;
}

type JsonObject = { [key: string]: unknown };

const OK: ValidationResult = Object.freeze({ ok: true });

function loadSchema(url: URL): JsonObject {
  return JSON.parse(readFileSync(url, 'utf8')) as JsonObject;
}

function child(obj: JsonObject, ...path: string[]): JsonObject {
  let cur: unknown = obj;
  for (const p of path) {
    cur = (cur as JsonObject | undefined)?.[p];
    if (typeof cur !== 'object' || cur === null) {
      throw new Error(`ecs-event.schema.json: no object at ${path.join('.')} (schema layout changed?)`);
    }
  }
  return cur as JsonObject;
}

/** The ECS schema with the enums taken from the installed @elastic/ecs. */
export function ecsSchema(): JsonObject {
  const schema = loadSchema(ECS_SCHEMA_URL);
  const event = child(schema, 'properties', 'event', 'properties');
  child(event, 'kind')['enum'] = [...ECS_ALLOWED.kind];
  child(event, 'category', 'items')['enum'] = [...ECS_ALLOWED.category];
  child(event, 'type', 'items')['enum'] = [...ECS_ALLOWED.type];
  child(event, 'outcome')['enum'] = [...ECS_ALLOWED.outcome];
  return schema;
}

export function cefSchema(): JsonObject {
  return loadSchema(CEF_SCHEMA_URL);
}

const FORMATS = ['date-time', 'ipv4', 'ipv6'] as const;

/** The explaining instance: every error, with messages, under the schemas' own draft. */
function newExplainingAjv(): InstanceType<typeof Ajv2020> {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, messages: true });
  addFormats(ajv, [...FORMATS]);
  return ajv;
}

/**
 * The hot-path instance: first error only, no messages, no evaluated-property tracking (see the top).
 * Its format checks go into `formats` too: validation by leaf runs the same ones.
 */
function newFastAjv(formats: Map<string, (s: string) => boolean>): InstanceType<typeof Ajv> {
  const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true, messages: false });
  ajv.addVocabulary(nextVocabulary);
  for (const name of FORMATS) {
    const full = formatCheck(name);
    const check = remembering(name === 'date-time' ? (s: string): boolean => isCanonicalIsoMs(s) || full(s) : full);
    ajv.addFormat(name, check);
    formats.set(name, check);
  }
  return ajv;
}

function formatCheck(name: (typeof FORMATS)[number]): (s: string) => boolean {
  const f: unknown = fullFormats[name];
  if (f instanceof RegExp) return (s) => f.test(s);
  if (typeof f === 'function') return f as (s: string) => boolean;
  if (typeof f === 'object' && f !== null && typeof (f as { validate?: unknown }).validate === 'function') {
    return (f as { validate: (s: string) => boolean }).validate;
  }
  throw new Error(`ajv-formats: no "${name}" format (package layout changed?)`);
}

const REMEMBERED = 4;

/**
 * A format check that remembers the last few values it accepted. A format is a
 * pure function of the string, so a remembered value is accepted without
 * re-running the check; only accepted values are kept, so a bad value always
 * runs the real check.
 */
function remembering(check: (s: string) => boolean): (s: string) => boolean {
  const seen: (string | undefined)[] = new Array<string | undefined>(REMEMBERED).fill(undefined);
  let next = 0;
  return (s) => {
    for (let i = 0; i < REMEMBERED; i++) if (seen[i] === s) return true;
    if (!check(s)) return false;
    seen[next] = s;
    next = (next + 1) % REMEMBERED;
    return true;
  };
}

/** A copy without "$schema": the core engine does not know the 2020-12 meta-schema (see the top). */
function forCoreEngine(schema: JsonObject): JsonObject {
  const copy = { ...schema };
  delete copy['$schema'];
  return copy;
}

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(root)' : e.instancePath.slice(1).replace(/\//g, '.');
  if (e.keyword === 'additionalProperties') {
    return `${where}: unknown field "${String((e.params as { additionalProperty?: unknown }).additionalProperty)}"`;
  }
  if (e.keyword === 'propertyNames') {
    return `${where}: invalid key "${String((e.params as { propertyName?: unknown }).propertyName)}"`;
  }
  return `${where}: ${e.message ?? e.keyword}`;
}

function explain(fn: ValidateFunction, obj: unknown): string[] {
  fn(obj);
  const out: string[] = [];
  for (const e of fn.errors ?? []) {
    // anyOf/propertyNames failures come with their sub-errors; the parent line says enough.
    if (e.keyword === 'if' || (e.keyword === 'format' && e.schemaPath.includes('anyOf'))) continue;
    const line = describe(e);
    if (!out.includes(line)) out.push(line);
  }
  return out.length > 0 ? out : ['invalid (no detail from the schema)'];
}

/** Flat view of the categorization fields of a nested ECS document, for the pairing check. */
function categorizationOf(doc: unknown): EcsFields | undefined {
  const event = (doc as JsonObject | null)?.['event'];
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as JsonObject;
  return { 'event.category': e['category'] as string[] | undefined, 'event.type': e['type'] as string[] | undefined };
}

/**
 * The categorization fields as the whole document has them: "" is omitted from
 * the document (ECS: never ""), so a "" category must not take part in the
 * pairing check by leaf either (it would reject every event.type).
 */
function documentCategorization(fields: Readonly<EcsFields>): Readonly<EcsFields> {
  const category = fields['event.category'];
  const type = fields['event.type'];
  if (category !== '' && type !== '') return fields;
  return { 'event.category': category === '' ? undefined : category, 'event.type': type === '' ? undefined : type };
}

/** Compiles both schemas (once per call: keep the result). */
export function createValidators(): Validators {
  const ecs = ecsSchema();
  const cef = cefSchema();
  // The explaining engine (every error, messages, 2020-12 meta-schema) is made on
  // the first invalid event: most runs never need it, and it costs ~10 MiB resident.
  // That both schema files are valid 2020-12 schemas is a test (they are committed files).
  let explaining: InstanceType<typeof Ajv2020> | undefined;
  const full = (): InstanceType<typeof Ajv2020> => (explaining ??= newExplainingAjv());
  const formats = new Map<string, (s: string) => boolean>();
  const fast = newFastAjv(formats);
  const ecsCore = forCoreEngine(ecs);
  const ecsFast = fast.compile(ecsCore);
  const cefCore = forCoreEngine(cef);
  const cefFast = fast.compile(cefCore);
  const leaves = new LeafValidation(fast, formats, ecsCore);
  const cefDrafts = new CefDraftValidation(new LeafValidation(fast, formats, cefCore), cefCore, (obj) => cefFast(obj, NO_CONTEXT));
  // The explaining instances are compiled on first failure: most runs never need them.
  let ecsFull: ValidateFunction | undefined;
  let cefFull: ValidateFunction | undefined;
  const validateEcs = (obj: unknown): ValidationResult => {
    if (!ecsFast(obj)) return { ok: false, errors: explain((ecsFull ??= full().compile(ecs)), obj) };
    const cat = categorizationOf(obj);
    const pairing = cat === undefined ? null : checkCategorization(cat, false);
    return pairing === null ? OK : { ok: false, errors: pairing };
  };
  return {
    validateEcs,
    validateEcsFields(fields: Readonly<EcsFields>, plan: EcsPlan): ValidationResult {
      const byLeaf = leaves.of(plan);
      if (byLeaf === undefined) {
        const r = validateEcs(plan.nest(fields));
        if (r.ok) leaves.shapeAccepted(plan);
        return r;
      }
      // A rejected leaf: the whole-document path explains every problem, as before.
      if (!byLeaf(fields)) return validateEcs(plan.nest(fields));
      const pairing = checkCategorization(documentCategorization(fields), false);
      return pairing === null ? OK : { ok: false, errors: pairing };
    },
    validateCef(obj: unknown): ValidationResult {
      if (cefFast(obj, NO_CONTEXT)) return OK;
      return { ok: false, errors: explain((cefFull ??= full().compile(cef)), obj) };
    },
    acceptsCefDraft(d: CefDraft): boolean {
      return cefDrafts.accepts(d);
    },
  };
}

/**
 * The second argument of every ajv call from here. ajv's validators destructure
 * it with defaults (`{instancePath = "", rootData = data, …} = {}`): called
 * with one argument, each call allocates that `{}`. An empty object read the
 * same way gives the same defaults, without the allocation.
 */
const NO_CONTEXT = Object.freeze({}) as NonNullable<Parameters<ValidateFunction>[1]>;

/** What a leaf has accepted before its first value: equal to no field value. */
const NOTHING = Symbol('nothing');

/** Keywords quickAccept understands, and annotations that judge nothing: a subschema with any other keyword goes to ajv. */
const QUICK_KEYWORDS = new Set([
  'type', 'enum', 'items', 'minLength', 'maxLength', 'minimum', 'maximum', 'format', 'anyOf', 'title', 'description', '$comment', 'examples',
]);

const ANYTHING: Check = () => true;

/** All leaf checks of one shape, as one generated function: true when every leaf passes. */
type LeafChecks = (fields: Readonly<EcsFields>) => boolean;
type Check = (v: unknown) => boolean;

/**
 * Keywords an object on the way to a leaf may carry: assertions that judge
 * only which keys are there (type is checked to be "object"), and
 * annotations and definitions that judge nothing.
 */
const KEY_ONLY_KEYWORDS = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'propertyNames',
  '$id', '$defs', 'title', 'description', '$comment', 'examples', 'default',
]);

/**
 * Validation by leaf, for shapes seen before (every event of a steady stream).
 *
 * Walking the ~50-field document with the whole-schema validator costs about
 * a microsecond and a half here, and most of that re-proves, event after event,
 * facts that depend only on the shape: which keys exist (required,
 * additionalProperties, propertyNames) and that every node on the way to a
 * leaf is an object (nesting makes it one). So, per shape:
 * - the objects on every leaf's path are checked to carry only KEY_ONLY_KEYWORDS
 *   (after $ref); any other keyword there (anyOf, if, a non-object type…)
 *   makes the shape "whole document, always";
 * - the first event of the shape is validated as a whole document; only when
 *   it passes is the shape's key set known to be accepted, and the shape
 *   switches to leaf mode;
 * - in leaf mode, each leaf value is checked by ajv against its own subschema
 *   (compiled once per schema location from the same schema, by the same
 *   engine), unless a check derived from that subschema accepts it first
 *   (quickAccept: only ever stricter than the subschema) or it is the value
 *   the leaf accepted last; leaves under schema-free objects (agent.*) need
 *   nothing.
 * Valid document = accepted key set AND every leaf valid under its subschema,
 * which is what the whole-schema validator computes, by construction. Any
 * leaf failure falls back to the whole document, so error messages are the
 * same as before. A property test compares both paths on random events.
 */
class LeafValidation {
  /** Per compiled plan: its leaves once the shape is accepted; null when the shape always needs the whole document. */
  private readonly byPlan = new WeakMap<EcsPlan, LeafChecks | null>();
  private readonly byPointer = new Map<string, Check>();
  private readonly root: JsonObject;
  private readonly id: string;

  constructor(
    private readonly ajv: InstanceType<typeof Ajv>,
    /** The format checks the ajv instance runs, by name. */
    private readonly formats: ReadonlyMap<string, (s: string) => boolean>,
    schema: JsonObject,
  ) {
    this.root = schema;
    const id = schema['$id'];
    if (typeof id !== 'string') throw new Error('ecs-event.schema.json: no $id (needed to compile its parts)');
    this.id = id;
  }

  /** The leaves of an accepted shape, or undefined when the whole document must be validated. */
  of(plan: EcsPlan): LeafChecks | undefined {
    return this.byPlan.get(plan) ?? undefined;
  }

  /** A whole-document validation of this shape passed: its key set is accepted. */
  shapeAccepted(plan: EcsPlan): void {
    if (!plan.compiled || this.byPlan.has(plan)) return;
    this.byPlan.set(plan, this.leavesOf(plan.names));
  }

  private leavesOf(names: readonly string[]): LeafChecks | null {
    const checks: Check[] = [];
    const terms: string[] = [];
    for (const name of names) {
      const pointer = this.leafPointer(segmentsOf(name));
      if (pointer === null) return null;
      if (pointer === undefined) continue;
      const check = this.check(pointer);
      // The field name goes in as a JSON string literal, never as code. One function per
      // shape keeps every property load monomorphic (a loop over names would be megamorphic).
      terms.push(`(a[${checks.length}] === (x = f[${JSON.stringify(name)}]) || k(${checks.length}, x))`);
      checks.push(check);
    }
    // A leaf's verdict is a function of its value: the last value each leaf accepted (a string, a
    // number, or a frozen array: host.ip) is accepted again by one comparison, without a call.
    const accepted = new Array<unknown>(checks.length).fill(NOTHING);
    const judge = (i: number, x: unknown): boolean => {
      if (!(checks[i] as Check)(x)) return false;
      if (typeof x === 'string' || Object.isFrozen(x)) accepted[i] = x;
      return true;
    };
    const body = terms.length === 0 ? 'true' : terms.join(' && ');
    const make = new Function('a', 'k', `"use strict"; return function leafChecks(f) { let x; return ${body}; };`) as (
      a: unknown[],
      k: (i: number, x: unknown) => boolean,
    ) => LeafChecks;
    return make(accepted, judge);
  }

  /** The check of the subschema at a JSON pointer of this schema, compiled once. */
  check(pointer: string): Check {
    let check = this.byPointer.get(pointer);
    if (check === undefined) {
      const fn = this.ajv.compile({ $ref: `${this.id}#${pointer}` });
      const quick = this.quickAccept(this.at(pointer));
      check = quick === undefined ? (v) => fn(v, NO_CONTEXT) : (v) => quick(v) || fn(v, NO_CONTEXT);
      this.byPointer.set(pointer, check);
    }
    return check;
  }

  /**
   * JSON pointer of the subschema that judges the leaf at `segs`; undefined
   * when nothing constrains it; null when an object on the way has a keyword
   * that is not key-only (the shape then always takes the whole document).
   */
  private leafPointer(segs: readonly string[]): string | undefined | null {
    let pointer = '';
    let node: unknown = this.root;
    for (let i = 0; i < segs.length; i++) {
      const resolved = this.resolve(pointer, node);
      if (resolved === null) return null;
      [pointer, node] = resolved;
      if (node === true) return undefined;
      if (typeof node !== 'object' || node === null) return null;
      const obj = node as JsonObject;
      for (const k of Object.keys(obj)) if (!KEY_ONLY_KEYWORDS.has(k)) return null;
      if (obj['type'] !== undefined && obj['type'] !== 'object') return null;
      const seg = segs[i] as string;
      const props = obj['properties'] as JsonObject | undefined;
      if (props !== undefined && Object.hasOwn(props, seg)) {
        pointer += `/properties/${escapePointer(seg)}`;
        node = props[seg];
      } else if (typeof obj['additionalProperties'] === 'object' && obj['additionalProperties'] !== null) {
        pointer += '/additionalProperties';
        node = obj['additionalProperties'];
      } else if (obj['additionalProperties'] === false) {
        // The accepted key set says this cannot happen; be safe if the schema changes under us.
        return null;
      } else {
        return undefined; // anything goes below a schema-free object
      }
    }
    // The leaf itself: empty and true schemas accept everything.
    if (node === true || (typeof node === 'object' && node !== null && Object.keys(node).length === 0)) return undefined;
    return pointer;
  }

  /** The subschema at a JSON pointer of this schema, its lone $refs followed; undefined when there is none. */
  private at(pointer: string): unknown {
    let node: unknown = this.root;
    for (const seg of pointer.slice(1).split('/')) {
      node = typeof node === 'object' && node !== null ? (node as JsonObject)[unescapePointer(seg)] : undefined;
    }
    const resolved = this.resolve(pointer, node);
    return resolved === null ? undefined : resolved[1];
  }

  /**
   * A check that accepts only values the subschema accepts, for the plain forms
   * the leaves have: a type with length or range bounds, a string enum, an
   * array of such items, a format (the same remembered checks ajv runs), an
   * anyOf of such branches. It saves the ajv call and, for minLength/maxLength,
   * ajv's walk of the whole string to count code points (a string of n code
   * units has between ceil(n/2) and n code points, so the bounds are checked
   * on n conservatively). What it does not accept goes to ajv, which decides:
   * it may only ever be stricter than the subschema. Undefined for a subschema
   * with any other keyword.
   */
  private quickAccept(node: unknown): Check | undefined {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    const s = node as JsonObject;
    for (const k of Object.keys(s)) if (!QUICK_KEYWORDS.has(k)) return undefined;
    const typed = this.quickType(s);
    if (typed === undefined) return undefined;
    let format: ((x: string) => boolean) | undefined;
    if (s['format'] !== undefined) {
      // ajv applies a format to strings only; requiring a string is the stricter side.
      format = typeof s['format'] === 'string' ? this.formats.get(s['format']) : undefined;
      if (format === undefined) return undefined;
    }
    let branches: Check[] | undefined;
    if (s['anyOf'] !== undefined) {
      if (!Array.isArray(s['anyOf'])) return undefined;
      branches = [];
      for (const b of s['anyOf'] as unknown[]) {
        const resolved = this.resolve('', b);
        const quick = resolved === null ? undefined : this.quickAccept(resolved[1]);
        if (quick === undefined) return undefined;
        branches.push(quick);
      }
    }
    if (format === undefined && branches === undefined) return typed;
    return (v) => {
      if (!typed(v)) return false;
      if (format !== undefined && (typeof v !== 'string' || !format(v))) return false;
      if (branches === undefined) return true;
      for (let i = 0; i < branches.length; i++) if ((branches[i] as Check)(v)) return true;
      return false;
    };
  }

  /** quickAccept's part for type, bounds, enum and items; accepting anything when there are none of those. */
  private quickType(s: JsonObject): Check | undefined {
    const num = (k: string, dflt: number): number | undefined => {
      const v = s[k];
      return v === undefined ? dflt : typeof v === 'number' && Number.isFinite(v) ? v : undefined;
    };
    const minLength = num('minLength', 0);
    const maxLength = num('maxLength', Infinity);
    const minimum = num('minimum', -Infinity);
    const maximum = num('maximum', Infinity);
    if (minLength === undefined || maxLength === undefined || minimum === undefined || maximum === undefined) return undefined;
    const lengthBound = s['minLength'] !== undefined || s['maxLength'] !== undefined;
    const range = s['minimum'] !== undefined || s['maximum'] !== undefined;
    const type = s['type'];
    const values = s['enum'];
    if (values !== undefined && (type !== 'string' || !Array.isArray(values) || !values.every((x) => typeof x === 'string'))) return undefined;
    if (s['items'] !== undefined && type !== 'array') return undefined;
    switch (type) {
      case undefined:
        return lengthBound || range ? undefined : ANYTHING;
      case 'string': {
        if (range) return undefined;
        const allowed = values === undefined ? undefined : new Set(values as string[]);
        const min = 2 * minLength - 1;
        if (allowed !== undefined) return lengthBound ? undefined : (v) => typeof v === 'string' && allowed.has(v);
        return (v) => typeof v === 'string' && v.length >= min && v.length <= maxLength;
      }
      case 'integer':
        return lengthBound ? undefined : (v) => Number.isInteger(v) && (v as number) >= minimum && (v as number) <= maximum;
      case 'number':
        return lengthBound ? undefined : (v) => typeof v === 'number' && Number.isFinite(v) && v >= minimum && v <= maximum;
      case 'array': {
        if (lengthBound || range || s['items'] === undefined) return undefined;
        const items = this.resolve('', s['items']);
        const item = items === null ? undefined : this.quickAccept(items[1]);
        if (item === undefined) return undefined;
        return (v) => {
          if (!Array.isArray(v)) return false;
          for (let i = 0; i < v.length; i++) if (!item(v[i])) return false;
          return true;
        };
      }
      default:
        return undefined;
    }
  }

  /** Follows a lone $ref inside this schema; null for anything else ($ref beside other keywords, remote refs). */
  private resolve(pointer: string, node: unknown): [string, unknown] | null {
    let p = pointer;
    let n = node;
    for (let hops = 0; typeof n === 'object' && n !== null && '$ref' in n; hops++) {
      const ref = (n as JsonObject)['$ref'];
      if (hops > 8 || typeof ref !== 'string' || !ref.startsWith('#/') || Object.keys(n).length !== 1) return null;
      p = ref.slice(1);
      n = p
        .slice(1)
        .split('/')
        .reduce<unknown>((o, seg) => (typeof o === 'object' && o !== null ? (o as JsonObject)[unescapePointer(seg)] : undefined), this.root);
      if (n === undefined) return null;
    }
    return [p, n];
  }
}

/** What a CEF header field holds, by name: the draft's header has exactly these and `extension`. */
const CEF_HEADER_FIELDS = ['version', 'vendor', 'product', 'deviceVersion', 'classId', 'name', 'severity'] as const;
/** Keywords of the CEF root and extension objects that judge only which keys are there. */
const CEF_KEY_ONLY_KEYWORDS = new Set([...KEY_ONLY_KEYWORDS, 'dependentRequired']);
const MAX_CEF_KEY_SETS = 4096;

/**
 * Validation by value of the CEF drafts the mapping makes, as LeafValidation
 * does for ECS shapes. A CEF event is two objects (the root and its
 * extension) whose keywords, apart from each value's own subschema, judge only
 * which keys are there (checked once, at construction; any other keyword and
 * every draft takes the whole schema). The mapping's drafts name their key set
 * by a number (CefDraft.keySet); the first draft of a key set is validated
 * whole, and when it passes, the key set is known to be accepted and later
 * drafts of it are judged by their values, each by the subschema of its key
 * (properties, else additionalProperties), compiled once by the same engine.
 * Accepted key set AND every value valid under its subschema is what the
 * whole-schema validator computes. A property test compares both.
 */
class CefDraftValidation {
  private readonly acceptedSets = new Set<number>();
  /** Per mapped key (by CefKey.index), the check of its value; undefined when by value is not possible. */
  private readonly valueChecks: Check[] | undefined;
  private readonly headerChecks: Check[] | undefined;

  constructor(
    leaves: LeafValidation,
    schema: JsonObject,
    private readonly whole: (obj: unknown) => boolean,
  ) {
    const extension = (schema['properties'] as JsonObject | undefined)?.['extension'];
    const rootProps = schema['properties'] as JsonObject | undefined;
    const keyOnly = (o: unknown): o is JsonObject =>
      typeof o === 'object' && o !== null && o['type' as keyof typeof o] === 'object' && Object.keys(o).every((k) => CEF_KEY_ONLY_KEYWORDS.has(k));
    const names = [...CEF_HEADER_FIELDS, 'extension'];
    if (!keyOnly(schema) || !keyOnly(extension) || rootProps === undefined || schema['additionalProperties'] !== false) return;
    if (Object.keys(rootProps).length !== names.length || !names.every((n) => Object.hasOwn(rootProps, n))) return;
    this.headerChecks = CEF_HEADER_FIELDS.map((n) => leaves.check(`/properties/${n}`));
    const props = (extension['properties'] ?? {}) as JsonObject;
    const additional = extension['additionalProperties'];
    this.valueChecks = MAPPED_KEY_NAMES.map((k) =>
      Object.hasOwn(props, k)
        ? leaves.check(`/properties/extension/properties/${escapePointer(k)}`)
        : typeof additional === 'object' && additional !== null
          ? leaves.check('/properties/extension/additionalProperties')
          : ANYTHING, // false: the key set would not have been accepted; absent or true: anything goes
    );
  }

  accepts(d: CefDraft): boolean {
    const values = this.valueChecks;
    const header = this.headerChecks;
    if (values === undefined || header === undefined || d.keySet < 0) return this.whole(cefEventOf(d));
    if (!this.acceptedSets.has(d.keySet)) {
      if (!this.whole(cefEventOf(d))) return false;
      // Bounded: the mapping has a few dozen key sets; a flood of odd events must not grow this without end.
      if (this.acceptedSets.size >= MAX_CEF_KEY_SETS) this.acceptedSets.clear();
      this.acceptedSets.add(d.keySet);
      return true;
    }
    const h = d.header;
    if (
      !(header[0] as Check)(h.version) || !(header[1] as Check)(h.vendor) || !(header[2] as Check)(h.product) ||
      !(header[3] as Check)(h.deviceVersion) || !(header[4] as Check)(h.classId) || !(header[5] as Check)(h.name) ||
      !(header[6] as Check)(h.severity)
    ) {
      return false;
    }
    const keys = d.keys;
    for (let i = 0; i < keys.length; i++) {
      if (!(values[(keys[i] as CefKey).index] as Check)(d.values[i])) return false;
    }
    return true;
  }
}

function escapePointer(seg: string): string {
  return seg.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointer(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

// ---------------------------------------------------------------- policy

export type EncodeFormat = 'ecs' | 'cef';

export interface EncodeContext {
  counters: Counters;
  /** Header of CEF lines; required for format "cef". */
  cef?: CefOptions;
  /** Defaults to validators compiled once per process (sharedValidators()). */
  validators?: Validators;
  /** Clock for a replacement whose @timestamp is unusable. */
  now?: () => Date;
}

export interface EncodedEvent {
  payload: string;
  /** False when the event was replaced by a schema_invalid event. */
  valid: boolean;
  /** Why it was replaced. */
  errors?: string[];
}

export const TAG_SCHEMA_INVALID = 'schema_invalid';
export const INVALID_CLASS_ID = 'logward:schema_invalid';
export const INVALID_NAME = 'Event failed schema validation';
/** Cap on error.message: the reasons, not an essay. */
const MAX_ERROR_CHARS = 1000;

let shared: Validators | undefined;

/** Validators compiled once per process, on first use. */
export function sharedValidators(): Validators {
  shared ??= createValidators();
  return shared;
}

function cefOptions(ctx: EncodeContext): CefOptions {
  if (ctx.cef === undefined) throw new LogwardError('encodeEvent: format "cef" needs ctx.cef (vendor, product, version)');
  return ctx.cef;
}

/** Encodes, validates, and replaces an invalid event by a minimal valid one. Never drops. */
export function encodeEvent(ev: LogEvent, format: EncodeFormat, ctx: EncodeContext): EncodedEvent {
  const validators = ctx.validators ?? sharedValidators();
  let errors: string[];
  try {
    if (format === 'ecs') {
      const fields = withEcsVersion(ev.fields);
      const plan = ecsPlan(fields);
      const r = validators.validateEcsFields(fields, plan);
      if (r.ok) return { payload: plan.serialize(fields), valid: true };
      errors = r.errors;
    } else {
      const draft = cefDraft(ev, cefOptions(ctx));
      const categorization = checkCategorization(ev.fields);
      // rt is the draft's first key when there is one.
      if (categorization === null && draft.keys[0]?.name === 'rt' && validators.acceptsCefDraft(draft)) {
        return { payload: serializeCefDraft(draft), valid: true };
      }
      const obj = cefEventOf(draft);
      const r = validators.validateCef(obj);
      const rt = obj.extension['rt'] === undefined ? ['@timestamp: missing or not a date (CEF rt)'] : null;
      if (r.ok && categorization === null && rt === null) return { payload: serializeCef(obj), valid: true };
      errors = [...(r.ok ? [] : r.errors), ...(categorization ?? []), ...(rt ?? [])];
    }
  } catch (e) {
    if (!(e instanceof EncodeError)) throw e;
    errors = [e.message];
  }
  ctx.counters.add('events_invalid');
  const now = ctx.now?.() ?? new Date();
  // With the agent's own facts (which agent, which file and offset) when they pass too; a line
  // that makes one of them invalid gets the bare stand-in. Either is validated before it ships.
  for (const agentFacts of [true, false]) {
    const replacement = invalidReplacement(ev, errors, now, agentFacts);
    const payload = encodeReplacement(replacement, format, ctx, validators);
    if (payload !== undefined) return { payload, valid: false, errors };
  }
  ctx.counters.add('events_invalid_replacement_failed');
  // Cannot happen with the bare stand-in's fields; the processor ships a processing_error event then.
  throw new EncodeError('event', `the stand-in for an invalid event is itself invalid (${errors.join('; ').slice(0, MAX_ERROR_CHARS)})`);
}

/** The replacement's payload, or undefined when it does not validate either. */
function encodeReplacement(replacement: LogEvent, format: EncodeFormat, ctx: EncodeContext, validators: Validators): string | undefined {
  if (format === 'ecs') {
    const doc = nestEcs(replacement.fields);
    return validators.validateEcs(doc).ok ? stringifyEcs(doc) : undefined;
  }
  const obj = buildCef(replacement, cefOptions(ctx));
  return validators.validateCef(obj).ok && obj.extension['rt'] !== undefined ? serializeCef(obj) : undefined;
}

function asText(v: FieldValue | undefined): string | undefined {
  if (v === undefined || v === '') return undefined;
  return typeof v === 'string' ? v : Array.isArray(v) ? v.join(' ') : String(v);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** Fields the agent itself sets (never from the line): kept in the stand-in so it still says which agent and which file. */
const AGENT_FACTS = ['agent.type', 'agent.name', 'agent.id', 'agent.version', 'host.name', 'log.file.path', 'log.offset', 'logward.input', 'event.created'] as const;

/** The minimal valid event that stands in for an invalid one (exported for tests). */
export function invalidReplacement(ev: LogEvent, errors: readonly string[], now: Date, agentFacts = false): LogEvent {
  const f = ev.fields;
  const ts = f['@timestamp'];
  const parsed = typeof ts === 'string' && RFC3339.test(ts) ? Date.parse(ts) : NaN;
  // Before 1970 CEF's rt (epoch milliseconds, unsigned) cannot carry it; the line keeps the original.
  const ms = eventTimeFits(parsed) ? parsed : NaN;
  const tags: string[] = [];
  const old = f['tags'];
  for (const t of Array.isArray(old) ? (old as unknown[]) : [old]) {
    if (typeof t === 'string' && t !== '' && !tags.includes(t)) tags.push(t);
  }
  if (!tags.includes(TAG_SCHEMA_INVALID)) tags.push(TAG_SCHEMA_INVALID);
  let reason = errors.join('; ');
  if (reason.length > MAX_ERROR_CHARS) reason = reason.slice(0, MAX_ERROR_CHARS) + '…';
  const fields: EcsFields = {
    '@timestamp': new Date(Number.isFinite(ms) ? ms : now.getTime()).toISOString(),
    'ecs.version': EcsVersion,
    'event.kind': 'event',
    'event.id': asText(f['event.id']),
    'event.original': asText(f['event.original']),
    message: asText(f['message']),
    'error.message': reason,
    tags,
  };
  if (agentFacts) for (const name of AGENT_FACTS) if (f[name] !== undefined) fields[name] = f[name];
  const severity = Number.isInteger(ev.severity) && ev.severity >= 0 && ev.severity <= 7 ? ev.severity : 4;
  return { fields, source: ev.source, severity, classId: INVALID_CLASS_ID, name: INVALID_NAME };
}
