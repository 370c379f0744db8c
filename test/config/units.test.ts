import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { formatDuration, formatSize, parseDuration, parseSize } from '../../src/config/units.js';

test('durations convert to milliseconds in every unit', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('1.5s'), 1_500);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('0s'), 0);
});

test('a duration without a unit, with spaces or in words is refused with its config path', () => {
  for (const bad of ['30', '5 minutes', '5 m', '5min', '-1s', '1e3ms', '', 's', '1.s']) {
    assert.throws(
      () => parseDuration(bad, 'agent.shutdown_grace'),
      (e: unknown) => e instanceof ConfigError && e.configPath === 'agent.shutdown_grace' && e.problem.includes(JSON.stringify(bad)),
      bad,
    );
  }
});

test('sizes convert to bytes: KiB family is 1024-based, KB family 1000-based, bare numbers are bytes', () => {
  assert.equal(parseSize('512'), 512);
  assert.equal(parseSize('512B'), 512);
  assert.equal(parseSize('64KiB'), 65_536);
  assert.equal(parseSize('1.5MiB'), 1_572_864);
  assert.equal(parseSize('1GiB'), 1_073_741_824);
  assert.equal(parseSize('2TiB'), 2 * 1024 ** 4);
  assert.equal(parseSize('64KB'), 64_000);
  assert.equal(parseSize('1MB'), 1_000_000);
  assert.equal(parseSize('1GB'), 1_000_000_000);
});

test('a malformed size or a fractional byte count is refused with its config path', () => {
  for (const bad of ['64 KB', '64kb', '1.5B', '0.3KiB', 'lots', '-1', '1Kib', '']) {
    assert.throws(
      () => parseSize(bad, 'processing.max_line_bytes'),
      (e: unknown) => e instanceof ConfigError && e.configPath === 'processing.max_line_bytes',
      bad,
    );
  }
  assert.throws(() => parseSize('1.5B'), /whole number of bytes/);
});

test('formatted durations and sizes parse back to the same number', () => {
  for (const ms of [0, 1, 999, 1000, 1500, 60_000, 90_000, 3_600_000, 86_400_000, 172_800_000]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
  for (const b of [0, 1, 1000, 1024, 65_536, 1_572_864, 1024 ** 3, 3 * 1024 ** 4]) {
    assert.equal(parseSize(formatSize(b)), b);
  }
  assert.equal(formatDuration(90_000), '90s');
  assert.equal(formatSize(65_536), '64KiB');
});
