/**
 * Test helper: checks that a ParseResult is well-typed ECS: every field is an
 * ECS field with a value of its type (or in one of the documented custom
 * namespaces), allowed values and category/type pairings are respected, and
 * no value is empty.
 */
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import type { ParseContext, ParseResult, Parser } from '../../src/event/types.js';
import { allowedValues, categoryTypesCompatible, ecsField, valueFitsField } from '../../src/parse/ecs-catalog.js';

const CUSTOM_PREFIXES = ['json.', 'labels.', 'log.syslog.structured_data.'];

export function assertWellTyped(r: ParseResult | null, context = ''): void {
  if (r === null) return;
  const where = (k: string) => `${context} field ${k}`;
  assert.equal(typeof r.parser, 'string');
  assert.equal(typeof r.fields, 'object');
  if (r.timestamp !== undefined) {
    assert.ok(r.timestamp instanceof Date, `${context} timestamp is a Date`);
    assert.ok(Number.isFinite(r.timestamp.getTime()), `${context} timestamp is valid`);
  }
  if (r.severity !== undefined) assert.ok(Number.isInteger(r.severity) && r.severity >= 0 && r.severity <= 7);
  if (r.message !== undefined) assert.equal(typeof r.message, 'string');
  if (r.tags !== undefined) for (const t of r.tags) assert.equal(typeof t, 'string');
  for (const [k, v] of Object.entries(r.fields)) {
    assert.notEqual(v, undefined, where(k));
    if (CUSTOM_PREFIXES.some((p) => k.startsWith(p))) {
      const ok = typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
      assert.ok(ok, `${where(k)} is a string or string[]: ${JSON.stringify(v)}`);
      if (k.startsWith('labels.')) assert.equal(k.indexOf('.', 7), -1, `${where(k)} label key without dots`);
      continue;
    }
    const def = ecsField(k);
    assert.ok(def, `${where(k)} is an ECS field`);
    assert.ok(valueFitsField(def, v as never), `${where(k)} has ECS type ${def.type}: ${JSON.stringify(v)}`);
    if (def.type === 'ip') {
      for (const ip of Array.isArray(v) ? v : [v]) assert.ok(isIP(String(ip)) !== 0, `${where(k)} is an IP`);
    }
    const allowed = allowedValues(k);
    if (allowed) {
      for (const x of Array.isArray(v) ? v : [v]) assert.ok(allowed.has(String(x)), `${where(k)} value ${String(x)} allowed`);
    }
  }
  const cats = r.fields['event.category'];
  const types = r.fields['event.type'];
  if (Array.isArray(cats) && Array.isArray(types)) {
    assert.ok(categoryTypesCompatible(cats as string[], types as string[]), `${context} category/type pairing ${String(cats)} / ${String(types)}`);
  }
  for (const port of ['source.port', 'url.port']) {
    const p = r.fields[port];
    if (p !== undefined) assert.ok(typeof p === 'number' && p >= 0 && p <= 65535, `${port} in range`);
  }
}

/** `parser` on `line`: a result (not null), well-typed ECS. */
export function parsedWellTyped(parser: Parser, line: string, ctx: ParseContext): ParseResult {
  const r = parser(line, ctx);
  assert.ok(r, line);
  assertWellTyped(r, line);
  return r;
}
