/**
 * The ECS categorization vocabulary, derived at start-up from the field table
 * generated from the installed @elastic/ecs (src/ecs/generated.ts, kept equal
 * to the package by a test), never hand-copied: upgrading the package and
 * running `npm run ecs-data` upgrades the enums and the category -> type
 * pairings together.
 *
 * validate.ts injects these lists into the compiled ECS schema, so the schema
 * file on disk is documentation that a test keeps in sync; what runs is always
 * what @elastic/ecs says. JSON Schema cannot express "each event.type is expected by
 * one of the event.category values" cheaply, so checkCategorization() does that
 * in code, over flat fields (the CEF path never nests).
 */
import { ECS_ALLOWED_VALUES, ECS_FIELDS, ECS_VERSION, type EcsAllowedValue } from '../ecs/generated.js';
import type { EcsFields } from '../event/types.js';

export interface EcsAllowed {
  readonly version: string;
  readonly kind: readonly string[];
  readonly category: readonly string[];
  readonly type: readonly string[];
  readonly outcome: readonly string[];
  /** category -> event.type values ECS expects with it. */
  readonly expectedTypes: ReadonlyMap<string, ReadonlySet<string>>;
  /** First segment of every ECS field name: the field sets allowed at the top level. */
  readonly topLevel: readonly string[];
}

function allowedOf(field: string): readonly EcsAllowedValue[] {
  const values = Object.hasOwn(ECS_ALLOWED_VALUES, field) ? ECS_ALLOWED_VALUES[field] : undefined;
  if (!values || values.length === 0) {
    throw new Error(`src/ecs/generated.ts has no allowed_values for ${field}: run npm run ecs-data`);
  }
  return values;
}

function derive(): EcsAllowed {
  const categories = allowedOf('event.category');
  const expectedTypes = new Map<string, ReadonlySet<string>>();
  for (const c of categories) expectedTypes.set(c.name, new Set(c.expected_event_types ?? []));
  const topLevel = new Set<string>();
  for (const name of Object.keys(ECS_FIELDS)) topLevel.add(name.split('.', 1)[0] ?? name);
  return {
    version: ECS_VERSION,
    kind: allowedOf('event.kind').map((v) => v.name),
    category: categories.map((v) => v.name),
    type: allowedOf('event.type').map((v) => v.name),
    outcome: allowedOf('event.outcome').map((v) => v.name),
    expectedTypes,
    topLevel: [...topLevel].sort(),
  };
}

export const ECS_ALLOWED: EcsAllowed = derive();

const KIND = new Set(ECS_ALLOWED.kind);
const CATEGORY = new Set(ECS_ALLOWED.category);
const TYPE = new Set(ECS_ALLOWED.type);
const OUTCOME = new Set(ECS_ALLOWED.outcome);

function asList(v: unknown): unknown[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v : [v];
}

/**
 * Enum membership of event.kind/category/type/outcome and the category -> type
 * pairing. Returns null when fine, else one message per problem. An event.type
 * must be expected by at least one of the event's categories (ECS's
 * expected_event_types); with no category, or no type, there is no pairing to check.
 */
export function checkCategorization(fields: Readonly<EcsFields>, enums = true): string[] | null {
  let errors: string[] | null = null;
  const add = (m: string): void => {
    (errors ??= []).push(m);
  };
  const kind = fields['event.kind'];
  const outcome = fields['event.outcome'];
  const categories = asList(fields['event.category']);
  const types = asList(fields['event.type']);
  if (enums) {
    if (kind !== undefined && !KIND.has(kind as string)) add(`event.kind "${String(kind)}" is not an ECS value`);
    if (outcome !== undefined && !OUTCOME.has(outcome as string)) {
      add(`event.outcome "${String(outcome)}" is not an ECS value`);
    }
    for (const c of categories ?? []) if (!CATEGORY.has(c as string)) add(`event.category "${String(c)}" is not an ECS value`);
    for (const t of types ?? []) if (!TYPE.has(t as string)) add(`event.type "${String(t)}" is not an ECS value`);
  }
  if (categories && types && categories.length > 0) {
    for (const t of types) {
      let expected = false;
      for (const c of categories) {
        if (ECS_ALLOWED.expectedTypes.get(c as string)?.has(t as string)) {
          expected = true;
          break;
        }
      }
      if (!expected && TYPE.has(t as string)) {
        add(`event.type "${String(t)}" is not expected with event.category [${categories.map(String).join(', ')}]`);
      }
    }
  }
  return errors;
}
