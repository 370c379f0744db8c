/**
 * schemas/config.schema.json compiled with ajv, and ajv's errors turned into
 * findings an operator can act on: the exact path in YAML terms, the unknown
 * key by name with the closest known one, the accepted values of an enum, what
 * a duration or size looks like.
 *
 * Traps: validation MUTATES its input (useDefaults fills defaults in place),
 * so callers that need what the user actually wrote must clone first. The
 * schema's `x-hint` keyword is ours (registered as an annotation): the
 * human sentence for a failed pattern/format/required in that schema object,
 * read back through `verbose` errors' parentSchema. The schema file is read at
 * run time because it lives outside src/ (it ships in the package as is).
 */

import { readFileSync } from 'node:fs';
import Ajv2020Module, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { closest, describeValue, error, pointerToPath, type Finding, type PathSegment } from './finding.js';

// ajv and ajv-formats are CommonJS with `exports.default`; under NodeNext the default import is the module object.
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

/** Where the schema lives: <package>/schemas, two levels up from src/config/ and from dist/config/. */
export const CONFIG_SCHEMA_URL = new URL('../../schemas/config.schema.json', import.meta.url);

export type JsonSchema = { readonly [keyword: string]: unknown };

let cachedSchema: JsonSchema | undefined;
let cachedValidator: ValidateFunction | undefined;

/** The configuration schema as a plain object (parsed once). */
export function configSchema(): JsonSchema {
  cachedSchema ??= JSON.parse(readFileSync(CONFIG_SCHEMA_URL, 'utf8')) as JsonSchema;
  return cachedSchema;
}

function validator(): ValidateFunction {
  if (cachedValidator === undefined) {
    const ajv = new Ajv2020({
      allErrors: true,
      useDefaults: true,
      verbose: true,
      strict: true,
      // "required" inside if/then names keys defined beside it, which strict mode cannot see.
      strictRequired: false,
      allowUnionTypes: true,
    });
    addFormats(ajv, ['uri']);
    ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' });
    cachedValidator = ajv.compile(configSchema());
  }
  return cachedValidator;
}

/**
 * Validates `data` against the schema, filling defaults in place.
 * Returns one finding per distinct problem (empty when valid).
 */
export function validateSchema(data: unknown): Finding[] {
  const validate = validator();
  if (validate(data)) return [];
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    const f = convert(e);
    if (f === undefined) continue;
    const key = JSON.stringify(f.path) + '\0' + f.problem;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(f);
  }
  return out;
}

function hintOf(e: ErrorObject): string | undefined {
  const parent = e.parentSchema as JsonSchema | undefined;
  const hint = parent?.['x-hint'];
  return typeof hint === 'string' ? hint : undefined;
}

function list(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
}

function typeWords(t: unknown): string {
  const words: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    integer: 'a whole number',
    number: 'a number',
    boolean: 'true or false',
    null: 'null',
  };
  const types = Array.isArray(t) ? t : [t];
  const named = types.map((x) => words[String(x)] ?? String(x));
  return named.length <= 1 ? (named[0] ?? 'valid') : `${named.slice(0, -1).join(', ')} or ${named[named.length - 1]}`;
}

/** One ajv error -> one finding, or undefined for errors that only repeat another (if, propertyNames). */
function convert(e: ErrorObject): Finding | undefined {
  const path: PathSegment[] = pointerToPath(e.instancePath);
  const params = e.params as Record<string, unknown>;
  // An error inside propertyNames is about a key of the mapping at instancePath.
  const propertyName = e.propertyName ?? params['propertyName'];
  if (typeof propertyName === 'string') {
    if (e.keyword === 'propertyNames') return undefined;
    return error([...path, propertyName], `${hintOf(e) ?? 'invalid key'} (this key is not one)`);
  }
  const got = `(got ${describeValue(e.data)})`;
  switch (e.keyword) {
    case 'if':
    case 'propertyNames':
      return undefined;
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const parent = e.parentSchema as JsonSchema | undefined;
      const props = parent?.['properties'];
      const known = props !== null && typeof props === 'object' ? Object.keys(props) : [];
      const guess = closest(key, known);
      return error([...path, key], `unknown key${guess === undefined ? '' : ` (did you mean ${guess}?)`}`);
    }
    case 'required': {
      const missing = String(params['missingProperty']);
      return error([...path, missing], hintOf(e) ?? 'missing (required)');
    }
    case 'type': {
      // A duration or size written as a bare number: the hint says what to write instead.
      const hint = params['type'] === 'string' ? hintOf(e) : undefined;
      return error(path, `${hint ?? `must be ${typeWords(params['type'])}`} ${got}`);
    }
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[] | undefined) ?? [];
      const guess = typeof e.data === 'string' ? closest(e.data, allowed.map(String)) : undefined;
      return error(path, `must be one of ${list(allowed)} ${got}${guess === undefined ? '' : `; did you mean ${guess}?`}`);
    }
    case 'pattern':
    case 'format':
      return error(path, `${hintOf(e) ?? e.message ?? 'invalid'} ${got}`);
    case 'minItems':
      return error(path, params['limit'] === 1 ? 'must not be empty' : `must have at least ${String(params['limit'])} items`);
    case 'minLength':
      return error(path, params['limit'] === 1 ? 'must not be empty' : `must be at least ${String(params['limit'])} characters`);
    case 'maxLength':
      return error(path, `must be at most ${String(params['limit'])} characters ${got}`);
    case 'minProperties':
      return error(path, 'must not be empty');
    case 'minimum':
      return error(path, `must be at least ${String(params['limit'])} ${got}`);
    case 'maximum':
      return error(path, `must be at most ${String(params['limit'])} ${got}`);
    case 'uniqueItems':
      return error(path, `must not repeat a value (items ${String(params['j'])} and ${String(params['i'])} are the same)`);
    default:
      return error(path, e.message ?? `fails ${e.keyword}`);
  }
}
