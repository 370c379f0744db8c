/**
 * The configuration keys as documentation rows, read from the schema itself,
 * so that the README's configuration table can be generated from (or checked
 * against) the one source of truth. Paths use `[]` for list items:
 * `inputs[].multiline.max_lines`. Free-form mappings (inputs[].fields,
 * alerts[].when) are one row each; their keys are the user's.
 */

import { configSchema, type JsonSchema } from './schema.js';

export interface ConfigKeyDoc {
  /** Dotted path, `[]` for list items. */
  readonly path: string;
  /** JSON Schema type(s), or "enum". */
  readonly type: string;
  /** Allowed values for enums. */
  readonly values?: readonly unknown[];
  /** The schema default, when there is one. */
  readonly default?: unknown;
  readonly description: string;
  /** True when the key must be present (in its parent). */
  readonly required: boolean;
}

function isSchema(v: unknown): v is JsonSchema {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Follows a local "$ref": "#/$defs/x", merging the referring schema's own keywords over it. */
function deref(root: JsonSchema, s: JsonSchema): JsonSchema {
  const ref = s['$ref'];
  if (typeof ref !== 'string' || !ref.startsWith('#/$defs/')) return s;
  const defs = root['$defs'];
  const target = isSchema(defs) ? defs[ref.slice('#/$defs/'.length)] : undefined;
  return isSchema(target) ? { ...deref(root, target), ...s } : s;
}

function typeOf(s: JsonSchema): string {
  if (Array.isArray(s['enum'])) return 'enum';
  const t = s['type'];
  return Array.isArray(t) ? t.join('|') : typeof t === 'string' ? t : 'any';
}

/** Every key of the configuration schema, depth first, in schema order. */
export function describeSchema(schema: JsonSchema = configSchema()): ConfigKeyDoc[] {
  const rows: ConfigKeyDoc[] = [];
  const walk = (s: JsonSchema, prefix: string): void => {
    const node = deref(schema, s);
    const props = node['properties'];
    if (isSchema(props)) {
      const required = Array.isArray(node['required']) ? (node['required'] as unknown[]) : [];
      for (const [key, raw] of Object.entries(props)) {
        if (!isSchema(raw)) continue;
        const child = deref(schema, raw);
        const path = prefix === '' ? key : `${prefix}.${key}`;
        rows.push({
          path,
          type: typeOf(child),
          ...(Array.isArray(child['enum']) ? { values: child['enum'] as unknown[] } : {}),
          ...('default' in child ? { default: child['default'] } : {}),
          description: typeof child['description'] === 'string' ? child['description'] : '',
          required: required.includes(key),
        });
        walk(child, path);
      }
    }
    const items = node['items'];
    if (isSchema(items)) {
      const item = deref(schema, items);
      const enumItems = Array.isArray(item['enum']);
      if (!enumItems && isSchema(item['properties'])) walk(item, `${prefix}[]`);
    }
  };
  walk(schema, '');
  return rows;
}

/** The README's config table: every key with its type, default and description, from the schema itself. */
export function configKeysMarkdown(): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = describeSchema().map((k) => {
    const type = k.values ? k.values.map((v) => String(v)).join(' \\| ') : k.type;
    const def = k.default === undefined ? (k.required ? '(required)' : '') : `\`${JSON.stringify(k.default)}\``;
    return `| \`${k.path}\` | ${cell(type)} | ${cell(def)} | ${cell(k.description)} |`;
  });
  return ['| key | type | default | what it does |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
