import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Counters } from '../src/monitor/counters.js';
import { RecordProcessor, type ProcessorOptions } from '../src/processor.js';
import type { RawRecord } from '../src/event/types.js';

function processor(over: Partial<ProcessorOptions> = {}): { p: RecordProcessor; counters: Counters } {
  const counters = new Counters();
  const p = new RecordProcessor({
    agentId: 'web-01',
    parser: 'auto',
    format: 'ecs',
    cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: ['pan', 'national_id', 'password', 'credentials', 'api_keys', 'private_keys'], custom: [] },
    maxLineBytes: 1024,
    counters,
    timeZone: 'UTC',
    host: { name: 'web-01', ips: [] },
    now: () => new Date('2026-11-22T12:00:00Z'),
    ...over,
  });
  return { p, counters };
}

const src = { input: 'auth', identity: 'fp:1', path: '/var/log/auth.log', offset: 0, end: 10 };

test('a failed sshd login from the journal is the same authentication failure as from auth.log', () => {
  const { p } = processor();
  const msg = 'Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2';
  const fromFile = p.toEvent({ bytes: Buffer.from(`Nov 22 10:01:02 web sshd[812]: ${msg}`), source: src });
  const fromJournal = p.toEvent({
    bytes: Buffer.from(msg),
    source: { input: 'system', identity: 'journal:m1', cursor: 's=1;i=1' },
    fields: { '@timestamp': '2026-11-22T10:01:02.000Z', 'process.name': 'sshd', 'process.pid': 812, 'host.hostname': 'web' },
  });
  for (const k of ['event.category', 'event.type', 'event.outcome', 'event.action', 'user.name', 'source.ip', 'source.port']) {
    assert.deepEqual(fromJournal.fields[k], fromFile.fields[k], k);
  }
  assert.equal(fromJournal.classId, fromFile.classId);
});

test('fields a source attaches are neutralized and redacted like the line', () => {
  const { p } = processor();
  const ev = p.toEvent({
    bytes: Buffer.from('hello'),
    source: { input: 'system', identity: 'journal:m1', cursor: 'c' },
    fields: { 'host.hostname': 'web\u001b[2J', 'process.name': 'app\u202e', 'journald.unit': 'x password=hunter2' },
  });
  assert.equal(ev.fields['host.hostname'], 'web{U+001B}[2J');
  assert.equal(ev.fields['process.name'], 'app{U+202E}');
  assert.ok(!String(ev.fields['journald.unit']).includes('hunter2'));
  assert.ok((ev.fields['tags'] as string[]).includes('log_injection_neutralized'));
  assert.ok((ev.fields['tags'] as string[]).includes('secrets_redacted'));
});

test('a line over max_line_bytes is cut on a UTF-8 boundary, tagged and counted, not dropped', () => {
  const { p, counters } = processor({ maxLineBytes: 10 });
  const raw: RawRecord = { bytes: Buffer.from('aaaaaaaaa€€€'), source: src };
  const r = p.process(raw);
  assert.equal(r.event.fields['event.original'], 'aaaaaaaaa');
  assert.ok((r.event.fields['tags'] as string[]).includes('truncated'));
  assert.equal(counters.get('events_truncated'), 1);
});

test('a line the chosen parser does not understand is shipped as a plain event tagged parse_failure', () => {
  const { p, counters } = processor({ parser: 'nginx' });
  const r = p.process({ bytes: Buffer.from('not an access log line'), source: src });
  assert.equal(r.valid, true);
  assert.equal(r.event.fields['message'], 'not an access log line');
  assert.ok((r.event.fields['tags'] as string[]).includes('parse_failure'));
  assert.equal(counters.get('events_unparsed'), 1);
});

test('a JSON value with escaped control characters and a secret is neutralized, redacted and tagged', () => {
  const { p } = processor();
  const r = p.process({ bytes: Buffer.from('{"message":"a\\u001b[31mb\\nforged","password":"hunter2"}'), source: src });
  assert.ok(!r.payload.includes('hunter2'));
  const ev = JSON.parse(r.payload);
  assert.equal(ev.message, 'a{U+001B}[31mb{U+000A}forged');
  assert.ok(ev.tags.includes('log_injection_neutralized'));
  assert.ok(ev.tags.includes('secrets_redacted'));
});

test('an event that fails validation is still shipped, minimal and tagged schema_invalid', () => {
  const { p, counters } = processor({ fields: { 'source.port': 70000 } });
  const r = p.process({ bytes: Buffer.from('hello'), source: src });
  assert.equal(r.valid, false);
  const ev = JSON.parse(r.payload);
  assert.ok(ev.tags.includes('schema_invalid'));
  assert.equal(ev.event.original, 'hello');
  assert.equal(counters.get('events_invalid'), 1);
});

test('a multiline event keeps its line breaks only as escapes in the output', () => {
  for (const format of ['ecs', 'cef'] as const) {
    const { p } = processor({ format });
    const r = p.process({ bytes: Buffer.from('Exception in thread "main"\n\tat a.b(C.java:1)\r\n'), source: src, multiline: true });
    assert.ok(!/[\r\n]/.test(r.payload), format);
  }
});

test('a JSON key spelled with \\u escapes does not smuggle its secret past redaction', () => {
  for (const format of ['ecs', 'cef'] as const) {
    const { p } = processor({ format });
    for (const line of ['{"pass\\u0077ord":"hunter2","message":"hi"}', '{"Authoriz\\u0061tion":"Bearer eyJabc.defghijk","message":"x"}', '{"a":{"\\u0070assword":"hunter2"}}']) {
      const r = p.process({ bytes: Buffer.from(line), source: src });
      assert.ok(!r.payload.includes('hunter2') && !r.payload.includes('eyJabc'), `${format}: ${r.payload}`);
      assert.ok((r.event.fields['tags'] as string[]).includes('original_normalized'));
      assert.ok((r.event.fields['tags'] as string[]).includes('secrets_redacted'));
    }
  }
});

test('a JSON line whose escapes hide nothing keeps its original spelling', () => {
  const { p } = processor();
  const line = '{"message":"caf\\u00e9 ok"}';
  const r = p.process({ bytes: Buffer.from(line), source: src });
  assert.equal(r.event.fields['event.original'], line);
  assert.equal(r.event.fields['message'], 'café ok');
});

test('a line that makes a stage throw is shipped as a minimal event tagged processing_error, and the next line converts as usual', () => {
  for (const format of ['ecs', 'cef'] as const) {
    // The clock fails once, in the middle of the first record: any stage could be the one.
    let calls = 0;
    const now = (): Date => {
      if (calls++ === 0) throw new RangeError('clock exploded');
      return new Date('2026-11-22T12:00:00Z');
    };
    const { p, counters } = processor({ format, now });
    const line = 'Nov 22 10:00:01 web01 sshd[7]: Failed password for root from 203.0.113.9 port 22 ssh2 password=hunter2';
    const r = p.process({ bytes: Buffer.from(line), source: src });
    assert.equal(r.valid, true, r.payload.slice(0, 200));
    const tags = r.event.fields['tags'] as string[];
    assert.ok(tags.includes('processing_error') && tags.includes('secrets_redacted'), `${format}: ${tags.join(',')}`);
    assert.equal(r.event.fields['error.message'], 'RangeError: clock exploded while processing this line');
    assert.ok(!r.payload.includes('hunter2'), 'the stand-in is redacted like any event');
    assert.equal(r.event.fields['agent.id'], 'web-01', 'agent-side facts are kept');
    assert.equal(r.event.fields['user.name'], undefined, 'no parsed field: the parser may be what failed');
    assert.equal(counters.get('events_processing_failed'), 1);
    const next = p.process({ bytes: Buffer.from('Nov 22 10:00:02 web01 sshd[7]: Failed password for root from 203.0.113.9 port 22 ssh2'), source: src });
    assert.equal(next.event.fields['user.name'], 'root');
    assert.ok(!((next.event.fields['tags'] as string[] | undefined) ?? []).includes('processing_error'));
  }
});

test('JSON nested too deep to re-serialise converts, and the lines after it too', () => {
  const { p, counters } = processor({ maxLineBytes: 64 * 1024 });
  const deep = `{"a":"\u0041","b":${'['.repeat(5000)}${']'.repeat(5000)}}`;
  const r = p.process({ bytes: Buffer.from(deep), source: src });
  assert.equal(r.valid, true, r.payload.slice(0, 200));
  assert.equal(r.event.fields['event.original'], deep);
  assert.equal(counters.get('events_processing_failed'), 0);
  const next = p.process({ bytes: Buffer.from('{"message":"after","user":{"name":"bob"}}'), source: src });
  assert.equal(next.event.fields['user.name'], 'bob');
});

test('a deeply nested JSON line whose escapes spell a secret key is still redacted when it cannot be re-serialised', () => {
  const { p } = processor({ maxLineBytes: 64 * 1024 });
  const line = `{"pass\\u0077ord":"hunter2","b":${'['.repeat(5000)}${']'.repeat(5000)}}`;
  const r = p.process({ bytes: Buffer.from(line), source: src });
  assert.ok(!r.payload.includes('hunter2'), r.payload.slice(0, 300));
  assert.ok((r.event.fields['tags'] as string[]).includes('secrets_redacted'));
});

test('a JSON key of thousands of dotted segments never stops the input', () => {
  const { p } = processor({ maxLineBytes: 64 * 1024 });
  const line = `{"${Array.from({ length: 6000 }, () => 'a').join('.')}":1,"message":"dots"}`;
  const r = p.process({ bytes: Buffer.from(line), source: src });
  assert.equal(r.valid, true);
  assert.ok(r.payload.length > 0);
  assert.equal(r.event.fields['event.original'], line);
});

test('the stand-in for an invalid event is valid itself and still says which agent and which file', () => {
  for (const format of ['ecs', 'cef'] as const) {
    // A static field out of range (config-provided fields are not re-checked per line) makes every
    // event invalid; the line's own timestamp is before 1970: a valid date-time, but no CEF rt.
    const { p, counters } = processor({ format, fields: { 'source.port': 70000 } });
    for (const line of ['<134>1 0000-01-01T00:00:00Z h a 1 - - year zero', '{"message":"x","@timestamp":"1969-12-31T23:59:59Z"}']) {
      const r = p.process({ bytes: Buffer.from(line), source: src });
      assert.equal(r.valid, false, `${format}: ${r.payload}`);
      assert.doesNotMatch(r.payload, /rt=-/, `${format}: ${r.payload}`);
      if (format === 'ecs') {
        const doc = JSON.parse(r.payload) as { agent?: { id?: string }; log?: { file?: { path?: string } }; tags: string[]; '@timestamp': string };
        assert.equal(doc.agent?.id, 'web-01');
        assert.equal(doc.log?.file?.path, '/var/log/auth.log');
        assert.ok(doc.tags.includes('schema_invalid'));
        assert.ok(Date.parse(doc['@timestamp']) >= 0);
      } else {
        assert.match(r.payload, /\|logward:schema_invalid\|/);
        assert.match(r.payload, /\|rt=\d+ /);
      }
    }
    assert.ok(counters.get('events_invalid') >= 1, format);
    assert.equal(counters.get('events_invalid_replacement_failed'), 0);
  }
});

test('the processing_error stand-in gets the same JSON-escape re-check: a key spelled with \\u escapes does not smuggle its secret through it', () => {
  let calls = 0;
  const now = (): Date => {
    if (calls++ === 0) throw new RangeError('clock exploded');
    return new Date('2026-11-22T12:00:00Z');
  };
  const { p } = processor({ now });
  const r = p.process({ bytes: Buffer.from('{"message":"login","pass\\u0077ord":"hunter2"}'), source: src });
  assert.ok((r.event.fields['tags'] as string[]).includes('processing_error'));
  assert.ok(!r.payload.includes('hunter2'), r.payload);
});
