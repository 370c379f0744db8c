import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Counters } from '../../src/monitor/counters.js';
import { FileSource } from '../../src/source/file-source.js';
import { options, tempDir, waitFor } from './file-fixture.js';

test('a scan that keeps failing is reported to the pipeline, and the source keeps retrying', async () => {
  const { dir, cleanup } = tempDir();
  const counters = new Counters();
  const errors: string[] = [];
  let scans = 0;
  const src = new FileSource(options(dir, { rescanIntervalMs: 50, pollIntervalMs: 20 }), {
    emit: async () => undefined,
    alert: () => undefined,
    error: (what, err) => errors.push(`${what}: ${err.message}`),
    counters,
    paths: {
      scan: async () => {
        scans++;
        throw Object.assign(new Error(`EACCES: permission denied, scandir '${dir}'`), { code: 'EACCES' });
      },
    },
  });
  try {
    await src.start();
    await waitFor(() => scans >= 3 && errors.length >= 3, 'three failed scans reported');
    assert.ok(errors.every((e) => e.startsWith('scan: EACCES')), errors.join('\n'));
    assert.ok(counters.get('source_errors') >= 3);
  } finally {
    await src.stop();
    cleanup();
  }
});
