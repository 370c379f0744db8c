import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CONFIG_DEFAULTS } from '../../src/config/defaults.js';
import { describeSchema } from '../../src/config/describe.js';
import { inspectConfigText, loadConfig, loadConfigText } from '../../src/config/load.js';
import { configSchema, validateSchema } from '../../src/config/schema.js';
import type { JsonSchema } from '../../src/config/schema.js';
import { DESIGN_CONFIG, EXAMPLE_CONFIG_FILE, MINIMAL_CONFIG } from './fixtures.js';

test("DESIGN.md's configuration block validates as it is, with no warnings", async () => {
  const report = await inspectConfigText(DESIGN_CONFIG, '/etc/logward/logward.yaml');
  assert.deepEqual(report.problems.map((p) => p.message), []);
  assert.deepEqual(report.warnings.map((p) => p.message), []);
  assert.ok(report.config);
});

test("DESIGN.md's block normalizes to milliseconds, bytes, host/port pairs and lists", async () => {
  const c = await loadConfigText(DESIGN_CONFIG, '/etc/logward/logward.yaml');
  assert.equal(c.agent.id, 'web-01');
  assert.equal(c.agent.shutdownGraceMs, 10_000);
  const [nginx, journal] = c.inputs;
  assert.ok(nginx?.type === 'file' && journal?.type === 'journald');
  assert.deepEqual(nginx.paths, ['/var/log/nginx/access.log*']);
  assert.deepEqual(nginx.multiline, { start: '^\\d{4}-\\d{2}-\\d{2}', maxLines: 500, maxBytes: 262_144, timeoutMs: 2_000 });
  assert.deepEqual(nginx.fields, { 'service.name': 'shop' });
  assert.equal(nginx.partialLineTimeoutMs, 5_000);
  assert.deepEqual(journal.units, ['ssh.service']);
  assert.equal(journal.directory, '/var/log/journal');
  assert.equal(journal.parser, 'auto');
  assert.deepEqual(c.sources, { maxOpenFiles: 1024, rescanIntervalMs: 10_000, deletedFileMaxHoldMs: 300_000, checkpointExpiryMs: 604_800_000 });
  assert.equal(c.processing.maxLineBytes, 65_536);
  assert.deepEqual(c.processing.redact.custom, [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }]);
  const d = c.output.destination;
  assert.deepEqual(d.hosts, [
    { host: 'siem.example.com', port: 6514 },
    { host: 'siem-b.example.com', port: 6514 },
  ]);
  assert.equal(d.serverName, 'siem.example.com');
  assert.equal(d.caFile, '/etc/logward/ca.pem');
  assert.equal(d.systemCa, false);
  assert.equal(d.certFile, '/etc/logward/client.pem');
  assert.equal(d.keyFile, '/etc/logward/client.key');
  assert.equal(d.deadAfterMs, 30_000);
  assert.deepEqual(c.output.buffer, { maxBytes: 1024 ** 3, whenFull: 'block', fsync: 'batch', fsyncIntervalMs: 1_000 });
  assert.deepEqual(c.output.resendWindow, { bytes: 4 * 1024 ** 2, ageMs: 30_000 });
  assert.deepEqual(c.output.retry, { minDelayMs: 500, maxDelayMs: 60_000 });
  assert.deepEqual(c.monitoring.clock.ntpServers, [
    { host: 'ntp.example.com', port: 123 },
    { host: '10.0.0.5', port: 123 },
  ]);
  assert.deepEqual(c.monitoring.metrics.listen, { host: '127.0.0.1', port: 9880 });
  assert.equal(c.monitoring.silence.afterMs, 900_000);
  assert.deepEqual(
    c.alerts.map((a) => [a.name, a.when, a.groupBy, a.distinct, a.threshold, a.windowMs, a.webhook]),
    [
      ['credential-stuffing', { 'event.category': ['authentication'], 'event.outcome': ['failure'] }, ['source.ip'], undefined, 10, 60_000, undefined],
      ['password-spraying', { 'event.category': ['authentication'], 'event.outcome': ['failure'] }, ['source.ip'], 'user.name', 5, 300_000, undefined],
      ['web-auth-failures', { 'http.response.status_code': [401, 403] }, ['source.ip'], undefined, 20, 60_000, 'https://hooks.example.com/soc'],
    ],
  );
});

test('a minimal config yields every documented default', async () => {
  const c = await loadConfigText(MINIMAL_CONFIG, '/etc/logward/logward.yaml');
  assert.equal(c.agent.id, os.hostname());
  assert.equal(c.agent.stateDir, '/var/lib/logward');
  assert.equal(c.agent.shutdownGraceMs, 10_000);
  assert.deepEqual(c.inputs, []);
  assert.deepEqual(c.sources, { maxOpenFiles: 1024, rescanIntervalMs: 10_000, deletedFileMaxHoldMs: 300_000, checkpointExpiryMs: 604_800_000 });
  assert.deepEqual(c.processing, {
    maxLineBytes: 65_536,
    redact: { builtin: ['pan', 'national_id', 'password', 'credentials', 'api_keys', 'private_keys'], custom: [] },
  });
  assert.equal(c.output.format, 'ecs');
  assert.deepEqual(c.output.cef, { vendor: 'logward', product: 'logward' });
  assert.equal(c.output.sdId, 'logward@32473');
  assert.equal(c.output.maxMessageBytes, 65_536);
  assert.deepEqual(c.output.destination, {
    protocol: 'tls',
    allowInsecure: false,
    hosts: [{ host: 'siem.example.com', port: 6514 }],
    caFile: '/etc/logward/ca.pem',
    systemCa: false,
    pinSha256: [],
    deadAfterMs: 30_000,
  });
  assert.deepEqual(c.output.buffer, { maxBytes: 1024 ** 3, whenFull: 'block', fsync: 'batch', fsyncIntervalMs: 1_000 });
  assert.deepEqual(c.output.resendWindow, { bytes: 4 * 1024 ** 2, ageMs: 30_000 });
  assert.deepEqual(c.output.retry, { minDelayMs: 500, maxDelayMs: 60_000 });
  assert.deepEqual(c.integrity, { keyFile: '/etc/logward/hmac.key' });
  assert.deepEqual(c.monitoring, {
    metrics: { listen: { host: '127.0.0.1', port: 9880 }, allowRemote: false },
    heartbeatMs: 60_000,
    clock: { ntpServers: [], intervalMs: 300_000, maxOffsetMs: 500 },
    silence: { afterMs: 900_000 },
  });
  assert.deepEqual(c.alerts, []);
});

test('per-input defaults are filled in, and journald inputs carry no file-only settings', async () => {
  const c = await loadConfigText(
    `${MINIMAL_CONFIG}inputs:\n  - { id: a, paths: ["/var/log/a.log"] }\n  - { id: j, type: journald }\n  - { id: m, paths: ["/var/log/m.log"], multiline: { start: '^\\S' } }\n`,
    '/etc/logward/logward.yaml',
  );
  assert.deepEqual(c.inputs[0], {
    id: 'a',
    type: 'file',
    parser: 'auto',
    startAt: 'end',
    fields: {},
    paths: ['/var/log/a.log'],
    exclude: [],
    followSymlinks: false,
    partialLineTimeoutMs: 5_000,
  });
  assert.deepEqual(c.inputs[1], { id: 'j', type: 'journald', parser: 'auto', startAt: 'end', fields: {}, units: [] });
  assert.deepEqual(c.inputs[2]?.type === 'file' ? c.inputs[2].multiline : undefined, { start: '^\\S', maxLines: 500, maxBytes: 262_144, timeoutMs: 2_000 });
});

test('CONFIG_DEFAULTS is exactly what the schema fills into an empty config', () => {
  const data: Record<string, unknown> = { output: { destination: { hosts: ['h:1'] } }, inputs: [{ id: 'x', paths: ['/x'], multiline: { start: 'a' } }] };
  validateSchema(data);
  const { input, ...sections } = CONFIG_DEFAULTS;
  const filled = structuredClone(data) as Record<string, Record<string, unknown>>;
  const dest = (filled['output'] as { destination: Record<string, unknown> }).destination;
  delete dest['hosts'];
  const firstInput = (filled['inputs'] as unknown as Record<string, unknown>[])[0] ?? {};
  filled['inputs'] = [] as unknown as Record<string, unknown>;
  assert.deepEqual(filled, sections);
  const { id: _id, paths: _paths, multiline, ...inputDefaults } = firstInput;
  const { start: _start, ...multilineDefaults } = multiline as Record<string, unknown>;
  assert.deepEqual({ ...inputDefaults, multiline: multilineDefaults }, input);
});

test('every key of DESIGN.md\'s block is a key of the schema', () => {
  const known = new Set(describeSchema().map((r) => r.path));
  const missing: string[] = [];
  // Keys under these are the user's (field names), not schema keys.
  const freeForm = new Set(['inputs[].fields', 'alerts[].when']);
  const walk = (v: unknown, prefix: string): void => {
    if (Array.isArray(v)) {
      for (const item of v) if (item !== null && typeof item === 'object') walk(item, `${prefix}[]`);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      const p = prefix === '' ? k : `${prefix}.${k}`;
      if (!known.has(p)) missing.push(p);
      if (!freeForm.has(p)) walk(child, p);
    }
  };
  walk(parse(DESIGN_CONFIG), '');
  assert.deepEqual(missing, []);
  assert.ok(known.size > 80, 'the walk found the schema keys');
});

test('every schema property has a description, and every fixed mapping refuses unknown keys', () => {
  const undescribed = describeSchema().filter((r) => r.description.trim() === '').map((r) => r.path);
  assert.deepEqual(undescribed, []);
  const open: string[] = [];
  const visit = (s: unknown, where: string): void => {
    if (Array.isArray(s)) return s.forEach((x, i) => visit(x, `${where}/${i}`));
    if (s === null || typeof s !== 'object') return;
    const node = s as JsonSchema;
    if (node['properties'] !== undefined && node['additionalProperties'] !== false) open.push(where);
    if (node['type'] === 'object' && node['properties'] === undefined && node['additionalProperties'] === undefined) open.push(where);
    for (const [k, v] of Object.entries(node)) if (k !== 'if') visit(v, `${where}/${k}`);
  };
  visit(configSchema(), '#');
  assert.deepEqual(open, []);
});

test('the example configuration validates and mentions every key', async () => {
  const file = fileURLToPath(EXAMPLE_CONFIG_FILE);
  const c = await loadConfig(file);
  assert.equal(c.output.destination.protocol, 'tls');
  const text = fs.readFileSync(file, 'utf8');
  const unmentioned = describeSchema()
    .map((r) => r.path.split('.').pop()?.replace('[]', '') ?? '')
    .filter((leaf) => !new RegExp(`(^|[\\s{,#])${leaf}:`, 'm').test(text));
  assert.deepEqual(unmentioned, []);
});

test('the example configuration shows the defaults of every section it sets', () => {
  const example = parse(fs.readFileSync(EXAMPLE_CONFIG_FILE, 'utf8')) as Record<string, Record<string, unknown>>;
  const { destination: _d, ...output } = example['output'] ?? {};
  const { destination: _dd, ...outputDefaults } = CONFIG_DEFAULTS.output;
  assert.deepEqual(output, outputDefaults);
  for (const section of ['agent', 'sources', 'processing', 'integrity', 'monitoring'] as const) {
    assert.deepEqual(example[section], CONFIG_DEFAULTS[section], section);
  }
  const destination = (example['output'] as { destination: Record<string, unknown> }).destination;
  for (const [k, v] of Object.entries(CONFIG_DEFAULTS.output.destination)) assert.deepEqual(destination[k], v, k);
});
