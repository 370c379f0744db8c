/**
 * Validation by leaf (src/encode/validate.ts, LeafValidation) judges most
 * leaves without ajv: a sufficient check derived from the leaf's subschema
 * (type and bounds, string enums, arrays of those, formats, anyOf of
 * formats), ajv deciding whatever it does not accept, and each leaf
 * remembering the last value it accepted. The verdict must be the
 * whole-document verdict, reasons included, for values at and across every
 * bound those checks look at.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { ecsPlan, nestEcs, withEcsVersion } from '../../src/encode/ecs.js';
import { EncodeError } from '../../src/encode/encode-error.js';
import { createValidators } from '../../src/encode/validate.js';
import type { EcsFields, FieldValue } from '../../src/event/types.js';

const GOOD: EcsFields = {
  '@timestamp': '2024-05-20T10:13:20.000Z',
  message: 'leaf-quick',
  'event.kind': 'event',
  'event.category': ['authentication'],
  'event.type': ['start'],
};

// Per field, values on both sides of what its subschema says; the first is valid.
const POOLS: Record<string, FieldValue[]> = {
  // date-time: the canonical form the fast check knows, other valid forms, impossible dates.
  'event.created': ['2024-05-20T10:13:20.123Z', '2024-05-20T10:13:20Z', '2024-05-20t10:13:20+02:00', '2024-02-30T10:13:20.000Z', '2024-05-20T24:00:00.000Z', '2024-05-20', 7],
  // ip: anyOf ipv4/ipv6 formats under type string.
  'source.ip': ['203.0.113.7', 'fe80::1', '::ffff:192.0.2.1', '999.1.1.1', '1.2.3.4 ', '', 5, ['1.2.3.4']],
  'related.ip': [['203.0.113.7'], ['203.0.113.7', '::1'], [], ['203.0.113.7', 'nope'], [7], '203.0.113.7'],
  // port 0..65535, long, count >= 0, status code 100..599, severity-like 0..7.
  'source.port': [22, 0, 65535, 65536, -1, 1.5, -0, '22', 1e21],
  'process.pid': [812, -5, 2 ** 53 + 2, 1.5, '812', true],
  'log.offset': [0, 150, -1, 0.5],
  'http.response.status_code': [200, 100, 599, 99, 600, 404.5],
  // keyword: minLength 1 (code points): one code unit, one surrogate pair, a lone surrogate.
  'user.name': ['admin', 'a', '😀', '\ud800', 7, ['admin'], false],
  'source.address': ['203.0.113.7', '\udc00x', 12],
  // enums and arrays of enums.
  'event.outcome': ['failure', 'success', 'unknown', 'Failure', 'nope', 1],
  'related.user': [['admin'], ['admin', 'root'], [], [7], 'admin'],
  tags: [['x'], [], ['x', 'y'], [1]],
  'event.severity': [3, 0, 7, -1, 1.5, 'x'],
};
const NAMES = Object.keys(POOLS);

test('property: leaves judged by the quick checks give the whole-document verdict and reasons', () => {
  const v = createValidators();
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 ** NAMES.length - 1 }),
      fc.array(fc.array(fc.nat(), { minLength: NAMES.length, maxLength: NAMES.length }), { minLength: 3, maxLength: 12 }),
      (present, rounds) => {
        for (const picks of rounds) {
          const fields: EcsFields = { ...GOOD };
          NAMES.forEach((n, i) => {
            if (((present >> i) & 1) === 0) return;
            const pool = POOLS[n] as FieldValue[];
            const pick = picks[i] ?? 0;
            // Mostly the valid value: a shape is judged by leaf only once one of its events passed whole.
            fields[n] = pool[pick % 3 === 0 ? pick % pool.length : 0];
          });
          const f = withEcsVersion(fields);
          let plan;
          try {
            plan = ecsPlan(f);
          } catch (e) {
            if (e instanceof EncodeError) continue; // a bad value type: encodeEvent's EncodeError, not validation
            throw e;
          }
          for (let k = 0; k < 2; k++) assert.deepEqual(v.validateEcsFields(f, plan), v.validateEcs(nestEcs(fields)), JSON.stringify(fields));
        }
      },
    ),
    { numRuns: 400 },
  );
});
