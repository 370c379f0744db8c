/**
 * kill -9 at random points of a long read (also inside multiline groups),
 * restarted each time: at the end every byte of the file is covered by an
 * emitted record (nothing lost), every record starts a group (the committed
 * offset never lands inside a group), and duplicates are bounded by one batch
 * per kill. Default: 1,000,000 lines, 10 kills.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readSync, statSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, tempDir, waitFor } from './file-fixture.js';

const child = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
const LINES = process.env.LOGWARD_STRESS === '1' ? 2_000_000 : 1_000_000;
const KILLS = 10;

function writeLog(path: string, n: number): void {
  const fd = openSync(path, 'w');
  let s = '';
  for (let i = 0; i < n; i++) {
    s += i % 5 === 0 ? `S ${i} start of group\n` : `  at line ${i}\n`;
    if (s.length > 1 << 20) {
      writeSync(fd, s);
      s = '';
    }
  }
  writeSync(fd, s);
  closeSync(fd);
}

interface Out {
  records: { offset: number; end: number; first: string }[];
}

function readOut(path: string): Out {
  const text = readFileSync(path, 'latin1');
  const records: Out['records'] = [];
  for (const line of text.split('\n')) {
    const p = line.split(' ');
    if (p.length < 5) continue;
    records.push({ offset: Number(p[1]), end: Number(p[2]), first: p[4] ?? '' });
  }
  return { records };
}

function runChild(stateDir: string, log: string, out: string) {
  const p = spawn(process.execPath, ['--import', 'tsx', child, stateDir, log, out], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((res, rej) => {
    p.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) res();
    });
    p.once('exit', (code) => rej(new Error(`child exited early (${code})`)));
  });
  const exited = new Promise<void>((res) => p.once('exit', () => res()));
  return { p, ready, exited };
}

test(`kill -9 ${KILLS} times during a ${LINES.toLocaleString('en')}-line read with multiline groups: nothing lost, duplicates bounded`, async (t) => {
  const { dir, cleanup } = tempDir('logward-crash-');
  const alive = new Set<ReturnType<typeof runChild>>();
  try {
    const log = join(dir, 'app.log');
    const out = join(dir, 'out.txt');
    const state = join(dir, 'state');
    writeLog(log, LINES);
    const size = statSync(log).size;
    /** End of the last record written: the output's tail is enough (records are appended in file order per run). */
    const covered = (): number => {
      let fd: number;
      try {
        fd = openSync(out, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw err;
      }
      try {
        const len = statSync(out).size;
        const buf = Buffer.alloc(Math.min(len, 4096));
        readSync(fd, buf, 0, buf.length, len - buf.length);
        const lines = buf.toString('latin1').split('\n');
        for (let i = lines.length - 1; i >= 0; i--) {
          const p = (lines[i] ?? '').split(' ');
          if (p.length >= 5) return Number(p[2]);
        }
        return 0;
      } finally {
        closeSync(fd);
      }
    };
    let midRead = 0;
    for (let k = 0; k < KILLS; k++) {
      const c = runChild(state, log, out);
      alive.add(c);
      await c.ready;
      const before = statSync(out, { throwIfNoEntry: false })?.size ?? 0;
      // Let it make some progress, then kill at a random point.
      await waitFor(() => (statSync(out, { throwIfNoEntry: false })?.size ?? 0) > before || covered() >= size, 'progress', 30_000);
      await sleep(Math.floor(Math.random() * 250));
      c.p.kill('SIGKILL');
      await c.exited;
      alive.delete(c);
      if (covered() < size) midRead++;
    }
    const last = runChild(state, log, out);
    alive.add(last);
    await last.ready;
    await waitFor(() => covered() >= size, 'the whole file', 120_000);
    last.p.kill('SIGTERM');
    await last.exited;

    const { records } = readOut(out);
    records.sort((a, b) => a.offset - b.offset || a.end - b.end);
    let pos = 0;
    let dups = 0;
    for (const r of records) {
      assert.equal(r.first, 'S', `record at ${r.offset} does not start a group`);
      if (r.offset < pos) {
        dups++;
        continue;
      }
      assert.equal(r.offset, pos, `bytes ${pos}..${r.offset} never emitted`);
      pos = r.end;
    }
    assert.equal(pos, size);
    assert.ok(midRead >= 3, `only ${midRead} kills landed before the end of the file`);
    t.diagnostic(`${midRead} kills mid-read, ${records.length} records, ${dups} duplicates`);
    // One batch is at most one 16 KiB chunk: at most 16 KiB / 15 bytes per group of records per kill.
    assert.ok(dups <= KILLS * Math.ceil(16384 / 15), `${dups} duplicates`);
  } finally {
    for (const c of alive) c.p.kill('SIGKILL');
    cleanup();
  }
});
