/**
 * Dead-peer detection against the real kernel, no mocks.
 *
 * The silent-peer cases run in a child process inside a fresh network
 * namespace (unshare -rn), where policy routing can blackhole the receiver's
 * port without touching the host's network (fixtures/dead-peer-child.ts).
 * They skip, saying why, when unshare or ip is missing or namespaces are not
 * permitted: detected by trying.
 *
 * The slow-peer case needs no namespace: a real TLS receiver that reads
 * slowly must never be declared dead.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import tls from 'node:tls';
import { FrameDecoder } from '../../src/sink/framing.js';
import { SyslogSink } from '../../src/sink/sink.js';
import { makeTestPki } from '../helpers/certs.js';
import { MemorySource } from './fake-source.js';
import type { Report } from './fixtures/dead-peer-child.js';
import { harness, sinkOptions, tempDir, until } from './util.js';

const CHILD = fileURLToPath(new URL('./fixtures/dead-peer-child.ts', import.meta.url));
const PROC_CHILD = fileURLToPath(new URL('./fixtures/proc-subset-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Why namespaced tests cannot run here, or undefined when they can (found by trying). */
function namespaceUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux network namespaces (this is ${process.platform})`;
  const r = spawnSync('unshare', ['-rn', 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return `cannot run unshare: ${r.error.message}`;
  if (r.status !== 0) return `unshare -rn ip link set lo up failed (${r.status}): ${r.stderr.trim()}`;
  return undefined;
}

async function runChild(scenario: 'dead' | 'healthy'): Promise<Report> {
  const child = spawn('unshare', ['-rn', process.execPath, '--import', 'tsx', CHILD, scenario], {
    cwd: ROOT,
    env: { ...process.env, LOGWARD_PARENT_NETNS: readlinkSync('/proc/self/ns/net') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(killer);
  assert.equal(code, 0, `child failed (${code}):\n${err}\n${out}`);
  const line = out.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Report;
}

const skipWhy = namespaceUnavailable();

test('a silent peer (no RST, nothing acknowledged) on a quiet stream is declared dead after dead_after, and the event is replayed', async (t) => {
  if (skipWhy) {
    t.skip(`network namespace unavailable: ${skipWhy}`);
    return;
  }
  const r = await runChild('dead');
  if (r.skip) {
    t.skip(r.skip);
    return;
  }
  // Timing is the watch's unit tests' business (their clock is the test's); shown here, not asserted.
  t.diagnostic(`declared dead ${r.deadAfterWriteMs} ms after the write (dead_after ${r.deadAfterMs} ms)`);
  assert.equal(r.deadBeforeSilence, 0, 'nothing declared dead while the peer was healthy');
  assert.ok(r.receivedBeforeSilence >= 2);
  assert.equal(r.deadCause, 'unacked', 'found by the unacknowledged-bytes check, not by a missing drain');
  // The write into the silent connection was followed by its death, then by a new connection (which
  // replayed it; a reconnect tried before the blackhole was lifted may fail first).
  const after = r.eventsAfterSilence ?? [];
  assert.deepEqual(after.slice(0, 2), ['dead_connection', 'disconnected'], after.join(', '));
  assert.ok(after.slice(2).includes('connected'), after.join(', '));
  assert.ok((r.readsUntilDead ?? 0) >= 1, 'the socket table was read after the write');
  assert.equal(r.counters.connections_dead, 1);
  assert.equal(r.counters.connections_dead_unacked, 1);
  assert.ok((r.counters.dead_peer_check_reads ?? 0) > 0);
  assert.equal(r.counters.dead_peer_check_unavailable, undefined);
  assert.equal(r.replayedLastEvent, true);
});

test('a quiet stream with a healthy peer over several dead_after periods is never declared dead', async (t) => {
  if (skipWhy) {
    t.skip(`network namespace unavailable: ${skipWhy}`);
    return;
  }
  const r = await runChild('healthy');
  if (r.skip) {
    t.skip(r.skip);
    return;
  }
  assert.equal(r.deadBeforeSilence, 0);
  assert.equal(r.counters.connections_dead, undefined);
  assert.ok(r.receivedTotal >= 5);
  assert.ok((r.counters.dead_peer_check_reads ?? 0) > 0, 'the check was active (not degraded)');
  assert.deepEqual(r.warnings, []);
});

test('with ProcSubset=pid (procfs subset=pid) /proc/net is hidden, and /proc/self/net still lists the connection', (t) => {
  if (skipWhy) {
    t.skip(`network namespace unavailable: ${skipWhy}`);
    return;
  }
  // The unit's ProcSubset=pid + ProtectProc=invisible, reproduced in private user, mount, pid and network namespaces.
  const script = 'mount -t proc -o subset=pid,hidepid=invisible proc /proc && ip link set lo up && exec "$0" --import tsx "$1"';
  const r = spawnSync('unshare', ['-rmpfn', '--mount-proc', 'sh', '-c', script, process.execPath, PROC_CHILD], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0 && /mount|unshare/.test(r.stderr) && !r.stdout) {
    t.skip(`cannot mount a subset=pid procfs here: ${r.stderr.trim()}`);
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim()) as {
    procNetVisible: boolean;
    procSelfNetTcpVisible: boolean;
    sample?: { kind: string };
    unavailable: number;
  };
  assert.equal(out.procNetVisible, false, 'the mount hides /proc/net as ProcSubset=pid does');
  assert.equal(out.procSelfNetTcpVisible, true);
  assert.equal(out.sample?.kind, 'ok', 'the row of the live connection was found');
  assert.equal(out.unavailable, 0);
});

test('a peer that reads slowly is not declared dead (real kernel tx_queue, busy stream)', async (t) => {
  const PAUSE_MS = 50;
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const got: Buffer[] = [];
  const sockets: tls.TLSSocket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const server = tls.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    const dec = new FrameDecoder();
    s.on('data', (d: Buffer) => {
      got.push(...dec.push(d));
      // Read a little, then stop for a while: far slower than the sink could send, yet it accepts
      // something every few hundred ms. (A reader whose kernel window stays shut for dead_after IS
      // dead by definition: "accepts no data for this long while data is waiting".)
      s.pause();
      timers.push(setTimeout(() => s.resume(), PAUSE_MS));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        for (const tm of timers) clearTimeout(tm);
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  const port = (server.address() as { port: number }).port;
  const total = 3000;
  const all: Buffer[] = [];
  for (let i = 0; i < total; i++) all.push(Buffer.from(`<134>1 - h logward - - - slow ${i} ${'p'.repeat(1000)}`));
  const src = new MemorySource();
  src.pushAll(all);
  const h = harness();
  const deadAfterMs = 3000;
  const sink = new SyslogSink(
    sinkOptions({ hosts: [`127.0.0.1:${port}`], caFile: pki.ca, deadAfterMs, maxBatchBytes: 16 * 1024 }),
    src,
    h.deps,
  );
  t.after(() => sink.stop(0));
  const started = Date.now();
  await sink.start();
  await until(() => got.length >= total, 'everything delivered to the slow reader', 120_000);
  const tookMs = Date.now() - started;
  t.diagnostic(
    `slow reader took ${tookMs} ms for ~3 MB (dead_after ${deadAfterMs} ms); pauses ${timers.length}; socket table reads: ${h.counters.get('dead_peer_check_reads')}`,
  );
  // The reader's pauses follow one another (no data arrives while paused): their sum alone is
  // longer than two dead_after periods.
  assert.ok(timers.length * PAUSE_MS > 2 * deadAfterMs, `the reader paused ${timers.length} times for ${PAUSE_MS} ms`);
  assert.equal(h.counters.get('connections_dead'), 0, JSON.stringify(h.events.filter((e) => e.type === 'dead_connection')));
  assert.equal(h.counters.get('connections'), 1);
  assert.ok(h.counters.get('dead_peer_check_reads') > 0, 'the watch judged (it read the socket table)');
  assert.ok(got.every((g, i) => g.equals(all[i] as Buffer)));
});
