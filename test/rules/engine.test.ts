import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { EcsVersion } from '@elastic/ecs';

import { encodeEvent } from '../../src/encode/validate.js';
import { InternalEvents } from '../../src/event/internal.js';
import { Counters } from '../../src/monitor/counters.js';
import { RuleEngine, ruleAlertSpec, formatWindow, type RuleAlert } from '../../src/rules/engine.js';
import { WebhookSender, WebhookUrlError } from '../../src/rules/webhook.js';
import { ev, harness, rule } from './helpers.js';

const fail = (ip: string | undefined, extra: Record<string, string | number | string[]> = {}) =>
  ev({ 'event.outcome': 'failure', ...(ip === undefined ? {} : { 'source.ip': ip }), ...extra });

describe('threshold and window', () => {
  test('fires once when the threshold is reached, with the first and last event ids', () => {
    const h = harness([rule({ name: 'r', threshold: 3, windowMs: 1000 })]);
    h.at(0, fail('203.0.113.9'));
    h.at(10, fail('203.0.113.9'));
    assert.equal(h.alerts.length, 0, 'two of three: no alert yet');
    const third = fail('203.0.113.9');
    h.at(20, third);
    assert.equal(h.alerts.length, 1);
    const a = h.alerts[0] as RuleAlert;
    assert.equal(a.rule, 'r');
    assert.deepEqual(a.groupKey, { 'source.ip': '203.0.113.9' });
    assert.equal(a.count, 3);
    assert.equal(a.threshold, 3);
    assert.equal(a.windowMs, 1000);
    assert.equal(a.lastEventId, third.fields['event.id']);
    assert.notEqual(a.firstEventId, a.lastEventId);
    assert.equal(new Date(a.lastAt).getTime() - new Date(a.firstAt).getTime(), 20);
    assert.equal(h.counters.get('rule_firings'), 1);
    assert.equal(h.counters.get('rule_fired:r'), 1);
  });

  test('no repeat for the same group within the window, a second group fires on its own', () => {
    const h = harness([rule({ name: 'r', threshold: 3, windowMs: 1000 })]);
    for (let i = 0; i < 30; i++) h.at(i * 10, fail('203.0.113.9'));
    assert.equal(h.alerts.length, 1);
    for (let i = 0; i < 3; i++) h.at(300 + i, fail('198.51.100.7'));
    assert.equal(h.alerts.length, 2);
    assert.deepEqual(h.alerts[1]?.groupKey, { 'source.ip': '198.51.100.7' });
  });

  test('a burst that keeps going fires again once a window has passed since the alert', () => {
    const h = harness([rule({ name: 'r', threshold: 3, windowMs: 1000 })]);
    // One event every 100 ms for 2.5 s: fires at 200 ms, then at 1200 ms, then at 2200 ms.
    for (let t = 0; t <= 2500; t += 100) h.at(t, fail('203.0.113.9'));
    assert.deepEqual(
      h.alerts.map((a) => new Date(a.lastAt).getTime() - h.clock.t + 2500),
      [200, 1200, 2200],
    );
  });

  test('a new burst after a quiet spell fires again', () => {
    const h = harness([rule({ name: 'r', threshold: 3, windowMs: 1000 })]);
    for (let i = 0; i < 3; i++) h.at(i, fail('203.0.113.9'));
    for (let i = 0; i < 3; i++) h.at(5000 + i, fail('203.0.113.9'));
    assert.equal(h.alerts.length, 2);
  });

  test('events spread wider than the window never add up', () => {
    const h = harness([rule({ name: 'r', threshold: 3, windowMs: 1000 })]);
    // At most two events are ever within 1000 ms of each other (the boundary is exclusive).
    for (let i = 0; i < 50; i++) h.at(i * 500, fail('203.0.113.9'));
    assert.equal(h.alerts.length, 0);
  });

  test('a threshold of 1 fires on the first event', () => {
    const h = harness([rule({ name: 'r', threshold: 1, windowMs: 1000 })]);
    h.at(0, fail('203.0.113.9'));
    assert.equal(h.alerts.length, 1);
    assert.equal(h.alerts[0]?.firstEventId, h.alerts[0]?.lastEventId);
  });
});

describe('time', () => {
  test('the window runs on processing time: @timestamp written by the log is ignored', () => {
    const h = harness([rule({ name: 'r', threshold: 3, windowMs: 60_000 })]);
    // Stamped a day apart (an attacker spacing them out on paper), observed within a second: fires.
    for (let i = 0; i < 3; i++) h.at(i * 100, fail('203.0.113.9', { '@timestamp': new Date(Date.UTC(2026, 0, 1 + i)).toISOString() }));
    assert.equal(h.alerts.length, 1);
    // Stamped at the same instant (a replayed old file), observed minutes apart: no alert.
    const h2 = harness([rule({ name: 'r', threshold: 3, windowMs: 60_000 })]);
    for (let i = 0; i < 3; i++) h2.at(i * 120_000, fail('203.0.113.9', { '@timestamp': '2020-01-01T00:00:00.000Z' }));
    assert.equal(h2.alerts.length, 0);
  });

  test('a wall clock stepping back does not shrink a window', () => {
    const h = harness([rule({ name: 'r', threshold: 3, windowMs: 1000 })]);
    h.at(10_000, fail('203.0.113.9'));
    h.at(0, fail('203.0.113.9')); // clock stepped back 10 s
    h.at(500, fail('203.0.113.9'));
    assert.equal(h.alerts.length, 1, 'all three count as observed at or after 10 s');
  });

  test('an event that matches no rule does not even read the clock', () => {
    const h = harness([rule({ name: 'r' }), rule({ name: 's', when: { 'http.response.status_code': [401] } })]);
    for (let i = 0; i < 100; i++) h.at(i, ev({ 'event.outcome': 'success', 'http.response.status_code': 200 }));
    assert.equal(h.clock.reads, 0);
    h.at(100, fail('203.0.113.9'));
    assert.equal(h.clock.reads, 1);
  });
});

describe('when', () => {
  test('a list means any of its values; other values do not count', () => {
    const h = harness([rule({ name: 'web', when: { 'http.response.status_code': [401, 403] }, threshold: 3 })]);
    h.at(0, ev({ 'source.ip': '203.0.113.9', 'http.response.status_code': 401 }));
    h.at(1, ev({ 'source.ip': '203.0.113.9', 'http.response.status_code': 404 }));
    h.at(2, ev({ 'source.ip': '203.0.113.9', 'http.response.status_code': 200 }));
    h.at(3, ev({ 'source.ip': '203.0.113.9', 'http.response.status_code': 403 }));
    assert.equal(h.alerts.length, 0);
    h.at(4, ev({ 'source.ip': '203.0.113.9', 'http.response.status_code': 401 }));
    assert.equal(h.alerts.length, 1);
  });

  test('numbers and their text match each other both ways', () => {
    const h = harness([
      rule({ name: 'num', when: { 'http.response.status_code': [401] }, threshold: 2 }),
      rule({ name: 'text', when: { 'http.response.status_code': ['401'] }, threshold: 2 }),
    ]);
    h.at(0, ev({ 'source.ip': '203.0.113.9', 'http.response.status_code': '401' }));
    h.at(1, ev({ 'source.ip': '203.0.113.9', 'http.response.status_code': 401 }));
    assert.deepEqual(h.alerts.map((a) => a.rule).sort(), ['num', 'text']);
    const h2 = harness([rule({ name: 'num', when: { 'http.response.status_code': [401] }, threshold: 1 })]);
    h2.at(0, ev({ 'source.ip': '203.0.113.9', 'http.response.status_code': '401.0' }));
    h2.at(1, ev({ 'source.ip': '203.0.113.9', 'http.response.status_code': 4010 }));
    assert.equal(h2.alerts.length, 0);
  });

  test('booleans match true and "true"', () => {
    const h = harness([rule({ name: 'b', when: { 'logward.flag': [true] }, threshold: 2 })]);
    h.at(0, ev({ 'source.ip': '203.0.113.9', 'logward.flag': 'true' }));
    h.at(1, ev({ 'source.ip': '203.0.113.9', 'logward.flag': false }));
    h.at(2, ev({ 'source.ip': '203.0.113.9', 'logward.flag': true }));
    assert.equal(h.alerts.length, 1);
  });

  test('an array field matches when it contains one of the values', () => {
    const h = harness([rule({ name: 'p', when: { 'event.category': ['process'], 'event.outcome': ['failure'] }, groupBy: ['user.name'], threshold: 2 })]);
    h.at(0, ev({ 'event.category': ['authentication', 'process'], 'event.outcome': 'failure', 'user.name': 'bob' }));
    h.at(1, ev({ 'event.category': ['authentication'], 'event.outcome': 'failure', 'user.name': 'bob' }));
    assert.equal(h.alerts.length, 0);
    h.at(2, ev({ 'event.category': ['process'], 'event.outcome': 'failure', 'user.name': 'bob' }));
    assert.equal(h.alerts.length, 1);
  });

  test('every listed field must match', () => {
    const h = harness([rule({ name: 'a', when: { 'event.category': ['authentication'], 'event.outcome': ['failure'] }, threshold: 1 })]);
    h.at(0, ev({ 'event.category': ['authentication'], 'event.outcome': 'success', 'source.ip': '203.0.113.9' }));
    h.at(1, ev({ 'event.category': ['web'], 'event.outcome': 'failure', 'source.ip': '203.0.113.9' }));
    h.at(2, ev({ 'event.outcome': 'failure', 'source.ip': '203.0.113.9' }));
    assert.equal(h.alerts.length, 0);
    h.at(3, ev({ 'event.category': ['authentication'], 'event.outcome': 'failure', 'source.ip': '203.0.113.9' }));
    assert.equal(h.alerts.length, 1);
  });

  test('three or more conditions are all checked', () => {
    const when = { 'event.category': ['process'], 'event.outcome': ['failure'], 'event.action': ['authz_fail'], 'user.effective.name': ['root'] };
    const h = harness([rule({ name: 'x', when, groupBy: [], threshold: 1 })]);
    h.at(0, ev({ 'event.category': ['process'], 'event.outcome': 'failure', 'event.action': 'authz_fail', 'user.effective.name': 'www' }));
    assert.equal(h.alerts.length, 0);
    h.at(1, ev({ 'event.category': ['process'], 'event.outcome': 'failure', 'event.action': 'authz_fail', 'user.effective.name': 'root' }));
    assert.equal(h.alerts.length, 1);
  });
});

describe('groups', () => {
  test('an event without the group_by field does not count, and is counted as such', () => {
    const h = harness([rule({ name: 'r', threshold: 2 })]);
    for (let i = 0; i < 5; i++) h.at(i, fail(undefined));
    h.at(6, fail(''));
    assert.equal(h.alerts.length, 0);
    assert.equal(h.counters.get('rule_events_without_group_field'), 6);
  });

  test('a rule without group_by counts all matching events as one group', () => {
    const h = harness([rule({ name: 'all', groupBy: [], threshold: 3 })]);
    h.at(0, fail('203.0.113.9'));
    h.at(1, fail('198.51.100.7'));
    h.at(2, fail(undefined));
    assert.equal(h.alerts.length, 1);
    assert.deepEqual(h.alerts[0]?.groupKey, {});
  });

  test('several group_by fields form one key per combination', () => {
    const h = harness([rule({ name: 'r', groupBy: ['source.ip', 'user.name'], threshold: 2 })]);
    h.at(0, fail('203.0.113.9', { 'user.name': 'root' }));
    h.at(1, fail('203.0.113.9', { 'user.name': 'admin' }));
    h.at(2, fail('198.51.100.7', { 'user.name': 'root' }));
    h.at(3, fail('203.0.113.9'));
    assert.equal(h.alerts.length, 0);
    h.at(4, fail('203.0.113.9', { 'user.name': 'admin' }));
    assert.equal(h.alerts.length, 1);
    assert.deepEqual(h.alerts[0]?.groupKey, { 'source.ip': '203.0.113.9', 'user.name': 'admin' });
  });

  test('groups are bounded: the least recently active are evicted and counted', () => {
    const h = harness([rule({ name: 'r', threshold: 3, windowMs: 60_000 })], { maxGroups: 50 });
    // The attacker's group, active early...
    h.at(0, fail('203.0.113.9'));
    h.at(1, fail('203.0.113.9'));
    // ...then 1000 other addresses, one event each.
    for (let i = 0; i < 1000; i++) h.at(2 + i, fail(`10.0.${i >> 8}.${i & 255}`));
    assert.equal(h.engine.groupCounts()['r'], 50);
    assert.equal(h.counters.get('rules_groups_evicted'), 951);
    // Its two earlier failures were evicted with the group: one more does not reach 3.
    h.at(2000, fail('203.0.113.9'));
    assert.equal(h.alerts.length, 0);
  });

  test('groups whose events left the window are dropped without counting an eviction', () => {
    const h = harness([rule({ name: 'r', threshold: 3, windowMs: 1000 })], { maxGroups: 50 });
    for (let i = 0; i < 40; i++) h.at(i, fail(`10.0.0.${i}`));
    for (let i = 0; i < 40; i++) h.at(10_000 + i, fail(`10.0.1.${i}`));
    assert.equal(h.counters.get('rules_groups_evicted'), 0);
    assert.ok((h.engine.groupCounts()['r'] ?? 0) <= 50);
  });
});

describe('distinct', () => {
  const spray = rule({ name: 'spray', distinct: 'user.name', threshold: 3, windowMs: 1000 });

  test('counts distinct values, not events', () => {
    const h = harness([spray]);
    for (let i = 0; i < 10; i++) h.at(i, fail('203.0.113.9', { 'user.name': 'root' }));
    h.at(20, fail('203.0.113.9', { 'user.name': 'admin' }));
    assert.equal(h.alerts.length, 0);
    h.at(30, fail('203.0.113.9', { 'user.name': 'oracle' }));
    assert.equal(h.alerts.length, 1);
    const a = h.alerts[0] as RuleAlert;
    assert.equal(a.distinct, 'user.name');
    assert.equal(a.count, 3);
    assert.deepEqual(a.distinctValues, ['root', 'admin', 'oracle']);
  });

  test('values seen longer than a window ago no longer count', () => {
    const h = harness([spray]);
    h.at(0, fail('203.0.113.9', { 'user.name': 'a' }));
    h.at(600, fail('203.0.113.9', { 'user.name': 'b' }));
    h.at(1200, fail('203.0.113.9', { 'user.name': 'c' }));
    assert.equal(h.alerts.length, 0, 'a left the window before c came');
    h.at(1300, fail('203.0.113.9', { 'user.name': 'a' }));
    assert.equal(h.alerts.length, 1, 'a seen again');
  });

  test('an event without the distinct field does not count', () => {
    const h = harness([spray]);
    for (let i = 0; i < 5; i++) h.at(i, fail('203.0.113.9'));
    h.at(10, fail('203.0.113.9', { 'user.name': 'a' }));
    h.at(11, fail('203.0.113.9', { 'user.name': 'b' }));
    assert.equal(h.alerts.length, 0);
    assert.equal(h.counters.get('rule_events_without_group_field'), 5);
  });

  test('values kept per group and values reported are capped; long values stay distinct', () => {
    const h = harness([rule({ name: 'spray', distinct: 'user.name', threshold: 30, windowMs: 60_000 })]);
    const long = 'x'.repeat(5000);
    for (let i = 0; i < 29; i++) h.at(i, fail('203.0.113.9', { 'user.name': `${long}${i}` }));
    assert.equal(h.alerts.length, 0, 'values sharing a 5000-character prefix are still told apart');
    h.at(30, fail('203.0.113.9', { 'user.name': `${long}29` }));
    assert.equal(h.alerts.length, 1);
    const a = h.alerts[0] as RuleAlert;
    assert.equal(a.count, 30);
    assert.equal(a.distinctValues?.length, 20);
    for (const v of a.distinctValues ?? []) assert.ok(v.length < 300, 'kept as prefix + hash');
    // 500 more within the window (suppressed), then one after the window: at most 4 × threshold are kept.
    for (let i = 0; i < 500; i++) h.at(100 + i, fail('203.0.113.9', { 'user.name': `u${i}` }));
    assert.equal(h.alerts.length, 1);
    h.at(60_100, fail('203.0.113.9', { 'user.name': 'last' }));
    assert.equal(h.alerts.length, 2);
    assert.equal(h.alerts[1]?.count, 120);
    assert.equal(h.alerts[1]?.distinctValues?.length, 20);
  });
});

describe('construction', () => {
  test('a webhook that is not https is refused when the engine is built', () => {
    const counters = new Counters();
    const webhook = new WebhookSender({ counters });
    assert.throws(
      () => new RuleEngine([rule({ name: 'r', webhook: 'http://hooks.example.com/soc?token=secret' })], { counters, onAlert: () => {}, webhook }),
      (err: unknown) => err instanceof WebhookUrlError && /https/.test(err.message) && !err.message.includes('secret'),
    );
  });

  test('a rule with a webhook needs a sender', () => {
    assert.throws(() => new RuleEngine([rule({ name: 'r', webhook: 'https://hooks.example.com/soc' })], { counters: new Counters(), onAlert: () => {} }), /WebhookSender/);
  });

  test('a threshold below 1 or an empty window is refused', () => {
    assert.throws(() => new RuleEngine([rule({ name: 'r', threshold: 0 })], { counters: new Counters(), onAlert: () => {} }), /threshold/);
    assert.throws(() => new RuleEngine([rule({ name: 'r', windowMs: 0 })], { counters: new Counters(), onAlert: () => {} }), /window/);
  });
});

describe('the alert event', () => {
  const agent = { id: 'web-01', version: '0.1.0', hostName: 'web-01', ecsVersion: EcsVersion, session: 's1' };

  function alertOf(over: Partial<RuleAlert> = {}): RuleAlert {
    return {
      rule: 'credential-stuffing',
      groupKey: { 'source.ip': '203.0.113.9' },
      count: 10,
      threshold: 10,
      windowMs: 60_000,
      firstEventId: 'id-first',
      lastEventId: 'id-last',
      firstAt: '2026-11-22T10:00:00.000Z',
      lastAt: '2026-11-22T10:00:09.000Z',
      category: ['authentication', 'intrusion_detection'],
      webhook: 'https://user:pw@hooks.example.com/T0/B0/secret-token?key=secret',
      ...over,
    };
  }

  test('is an alert with the rule, group, count and event ids, valid as ECS and as CEF', () => {
    const internal = new InternalEvents(agent);
    const spec = ruleAlertSpec(alertOf());
    assert.equal(spec.kind, 'alert');
    assert.equal(spec.action, 'rule_credential-stuffing');
    assert.equal(spec.message, 'credential-stuffing: 10 matching events for source.ip 203.0.113.9 within 60 s');
    const e = internal.make(spec);
    assert.equal(e.fields['event.kind'], 'alert');
    assert.deepEqual(e.fields['event.category'], ['authentication', 'intrusion_detection']);
    assert.equal(e.fields['rule.name'], 'credential-stuffing');
    assert.equal(e.fields['source.ip'], '203.0.113.9');
    assert.deepEqual(e.fields['related.ip'], ['203.0.113.9']);
    assert.equal(e.fields['logward.alert.count'], 10);
    assert.equal(e.fields['logward.alert.first_event_id'], 'id-first');
    assert.equal(e.fields['logward.alert.last_event_id'], 'id-last');
    const counters = new Counters();
    for (const format of ['ecs', 'cef'] as const) {
      const enc = encodeEvent(e, format, { counters, cef: { vendor: 'logward', product: 'logward', version: '0.1.0' } });
      assert.equal(enc.valid, true, `${format}: ${enc.errors?.join('; ')}`);
      assert.ok(!enc.payload.includes('secret'), `${format}: the webhook URL stays out of the event`);
      assert.ok(!enc.payload.includes('hooks.example.com'));
    }
  });

  test('distinct values and user groups go into their fields; a group value that is not an IP stays out of source.ip', () => {
    const internal = new InternalEvents(agent);
    const spec = ruleAlertSpec(
      alertOf({
        rule: 'spray',
        groupKey: { 'source.ip': 'not-an-ip', 'user.name': 'bob' },
        distinct: 'user.name',
        distinctValues: ['a', 'b'],
        count: 5,
        windowMs: 300_000,
        category: undefined,
      }),
    );
    const e = internal.make(spec);
    assert.equal(e.fields['source.ip'], undefined);
    assert.equal(e.fields['user.name'], 'bob');
    assert.deepEqual(e.fields['related.user'], ['bob']);
    assert.deepEqual(e.fields['logward.alert.group_values'], ['not-an-ip', 'bob']);
    assert.deepEqual(e.fields['logward.alert.distinct_values'], ['a', 'b']);
    assert.deepEqual(e.fields['event.category'], ['intrusion_detection']);
    assert.match(String(e.fields['message']), /^spray: 5 distinct user\.name values for source\.ip not-an-ip, user\.name bob within 5 min$/);
    const enc = encodeEvent(e, 'ecs', { counters: new Counters() });
    assert.equal(enc.valid, true, enc.errors?.join('; '));
  });

  test('control characters in group values are neutralized in the event', () => {
    const e = new InternalEvents(agent).make(ruleAlertSpec(alertOf({ groupKey: { 'user.name': 'x\nforged line' } })));
    assert.ok(!String(e.fields['message']).includes('\n'));
    assert.equal(e.fields['user.name'], 'x{U+000A}forged line');
  });

  test('the alert derives its category from the rule; an alert fed back into the engine is not counted', () => {
    const h = harness([
      rule({ name: 'auth', when: { 'event.category': ['authentication'], 'event.outcome': ['failure'] }, threshold: 1 }),
      rule({ name: 'alerts', when: { 'event.kind': ['alert'] }, groupBy: [], threshold: 1 }),
    ]);
    h.at(0, ev({ 'event.category': ['authentication'], 'event.outcome': 'failure', 'source.ip': '203.0.113.9' }));
    assert.equal(h.alerts.length, 1);
    assert.deepEqual(h.alerts[0]?.category, ['authentication', 'intrusion_detection']);
    const back = new InternalEvents(agent).make(ruleAlertSpec(h.alerts[0] as RuleAlert));
    h.at(1, back);
    assert.equal(h.alerts.length, 1);
  });

  test('windows read the way people say them', () => {
    assert.equal(formatWindow(60_000), '60 s');
    assert.equal(formatWindow(300_000), '5 min');
    assert.equal(formatWindow(3_600_000), '1 h');
    assert.equal(formatWindow(1500), '1500 ms');
  });
});
