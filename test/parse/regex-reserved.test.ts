/**
 * A regex group cannot name a field the agent sets itself: the parser refuses
 * the pattern when it is made (defence in depth behind `logward check`), with
 * the same list the json parser uses to keep such keys out of a line's fields.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ECS_FIELDS } from '../../src/ecs/generated.js';
import type { ParseContext } from '../../src/event/types.js';
import { allowedValues, ecsField, valueKind } from '../../src/parse/ecs-catalog.js';
import { createJsonParser } from '../../src/parse/json.js';
import { createRegexParser, groupProblem, RegexPatternError } from '../../src/parse/regex.js';
import { isReservedField } from '../../src/parse/reserved-fields.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'UTC' };

function refused(pattern: string, says: RegExp): void {
  assert.throws(() => createRegexParser(pattern), (err: unknown) => err instanceof RegexPatternError && says.test(err.message), pattern);
}

test('groups naming host.*, event.kind, agent.* and the other agent facts are refused when the parser is made', () => {
  refused(String.raw`^(?<host__name>\S+) (?<message>.*)$`, /group "host__name" names host\.name, a field the agent sets itself/);
  refused(String.raw`^(?<event__kind>\w+) (?<message>.*)$`, /group "event__kind" names event\.kind/);
  refused(String.raw`^(?<source__ip>\S+) (?<related__ip>\S+)$`, /group "related__ip" names related\.ip/);
  refused(String.raw`^(?<tags>\S+)$`, /group "tags" names tags/);
  refused(String.raw`^(?<log__file__path>\S+)$`, /names log\.file\.path/);
  refused(String.raw`^(?<logward__input>\S+)$`, /names logward\.input/);
});

test('the line that would have forged them is never parsed into them', () => {
  // Before, this pattern was accepted and every matching line named its own host and kind.
  let parse: ReturnType<typeof createRegexParser> | undefined;
  try {
    parse = createRegexParser(String.raw`^(?<host__hostname>\S+) (?<event__kind>\w+) (?<message>.*)$`);
  } catch (err) {
    if (!(err instanceof RegexPatternError)) throw err;
  }
  assert.equal(parse, undefined);
});

test('every ECS field a capture could fill is refused by the regex parser exactly when the json parser keeps it from a line', () => {
  const json = createJsonParser((s) => s);
  let reserved = 0;
  for (const field of Object.keys(ECS_FIELDS)) {
    if (field === 'message') continue; // the regex parser's own message group: the event's message, as a JSON line's "message" is
    const def = ecsField(field);
    if (def === undefined || valueKind(def) !== 'string' || allowedValues(field) !== null) continue; // 'x' is a value of these
    const group = field.replaceAll('.', '__');
    const problem = groupProblem(group);
    const fromJson = json(JSON.stringify({ [field]: 'x' }), ctx);
    if (isReservedField(field)) {
      reserved++;
      assert.match(problem ?? '', /a field the agent sets itself/, field);
      assert.equal(fromJson?.fields[field], undefined, `json: ${field}`);
    } else {
      assert.equal(problem, undefined, field);
      assert.notEqual(fromJson?.fields[field], undefined, `json: ${field}`);
    }
  }
  assert.ok(reserved >= 20, `${reserved} reserved string fields`);
});
