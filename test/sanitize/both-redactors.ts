/**
 * Every built-in rule, through the pre-screened redactor the agent runs and the reference one that
 * runs every rule on every line: the two must agree on each line a test redacts.
 */
import assert from 'node:assert/strict';
import { createRedactor, createReferenceRedactor, REDACT_KINDS } from '../../src/sanitize/redact.js';

const ALL = { builtin: [...REDACT_KINDS], custom: [] };
export const fast = createRedactor(ALL);
const reference = createReferenceRedactor(ALL);

/** The line redacted, after checking that both redactors give the same result. */
export function red(line: string): string {
  const out = fast.redact(line);
  assert.deepEqual(out, reference.redact(line), `pre-screened and reference redactors disagree on ${JSON.stringify(line)}`);
  return out.text;
}
