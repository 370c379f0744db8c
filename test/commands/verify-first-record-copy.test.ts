/**
 * Review (hostile): a second, different record with the session and seq of
 * the file's first record passed. The first record of the data has no
 * predecessor to check it against (a daily file begins inside a session:
 * UNANCHORED, information), and every copy found there was reported as
 * UNANCHORED, once each: "intact". The same with a record stored before the
 * first start event ever, with its session and seq 0.
 *
 * What the inserted record is: any MSG under the session, seq and key id of
 * that first record (a line copied and edited, its chain kept or not). The
 * agent seals exactly one record per session and seq (seqs are never handed
 * out twice: src/seal/README.md "Sequence numbers"), so of two different
 * records claiming one, at most one is on the chain: an edit of the stored
 * file, ALTERED, wherever it is stored. The copy the next record is chained on
 * stands (its MAC proves that one is on the chain); when the next record does
 * not tell (both carry the chain it is chained on: only the MSG was edited, or
 * there is no next record), the first stored stands. An identical copy (same
 * MSG and chain: at-least-once delivery, or a receiver that re-rendered the
 * header) stays a replay, counted, not a failure.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { after, KEY_A, pipelineRun, tempDir, type Run } from '../seal/sealed-stream.js';
import { verifyKeyA } from './verify-lines.js';

const root = tempDir('lw-review-first-record-copy-');
afterAll(root.cleanup);

const text = (r: Run): string[] => r.records.map((b) => b.toString());
const chainOf = (l: string): string => (/ chain="([0-9a-f]{64})"/.exec(l) as RegExpExecArray)[1] as string;
const withChain = (l: string, chain: string): string => l.replace(/ chain="[0-9a-f]{64}"/, ` chain="${chain}"`);
const withSeq = (l: string, seq: number): string => l.replace(/ seq="\d+"/, ` seq="${seq}"`);

/** web-01 runs twice (the file begins at `from` inside its first run); db-01 once, interleaved when `other`. */
function file(format: 'ecs' | 'cef', from: number): { web: string[]; db: string[]; w1: Run } {
  const w1 = pipelineRun(KEY_A, 6, { agent: 'web-01', format });
  const w2 = pipelineRun(KEY_A, 4, { agent: 'web-01', format }, after(w1));
  const db = pipelineRun(KEY_A, 8, { agent: 'db-01', format });
  return { web: [...text(w1).slice(from), ...text(w2)], db: text(db), w1 };
}

/** The web-01 lines with db-01's interleaved after each of the first ones (a SIEM's file), or alone. */
function stored(web: readonly string[], db: readonly string[] | undefined): string[] {
  if (!db) return [...web];
  const out: string[] = [];
  for (let i = 0; i < Math.max(web.length, db.length); i++) {
    if (db[i] !== undefined) out.push(db[i] as string);
    if (web[i] !== undefined) out.push(web[i] as string);
  }
  return out;
}

/** Edits of the file's first record: the edited copy, and whether the next record tells which one stands. */
function copies(first: string, second: string): { name: string; copy: string; distinct: boolean }[] {
  const edited = first.replace(/alice/g, 'mallory');
  assert.notEqual(edited, first);
  return [
    // Only the MSG edited: both carry the chain the next record is chained on.
    { name: 'MSG edited, chain kept', copy: edited, distinct: false },
    // A chain of its own (here the next record's): not what the next record is chained on.
    { name: 'MSG and chain edited', copy: withChain(edited, chainOf(second)), distinct: true },
    // The next record, renumbered onto the first one's seq.
    { name: 'another record renumbered', copy: withSeq(second, Number(/ seq="(\d+)"/.exec(first)?.[1])), distinct: true },
  ];
}

const MODES = [
  { agent: 'web-01', other: true },
  { agent: undefined, other: true },
  { agent: undefined, other: false },
] as const;

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: a second, different copy of the file's first record (the data begins inside a session) is ALTERED, wherever it is stored, in every mode`, async () => {
    const failed: string[] = [];
    const { web, db, w1 } = file(format, 2);
    const session = w1.sealer.session;
    for (const { name, copy, distinct } of copies(web[0] as string, web[1] as string)) {
      const places: [string, string[]][] = [
        ['after it', [web[0] as string, copy, ...web.slice(1)]],
        ['before it', [copy, ...web]],
        ['at the end', [...web, copy]],
      ];
      for (const [where, lines] of places) {
        for (const { agent, other } of MODES) {
          const all = stored(lines, other ? db : undefined);
          const r = await verifyKeyA(root.dir, all, agent);
          const at = all.indexOf(copy) + 1;
          const ok =
            r.code === 1 &&
            new RegExp(`^ALTERED session=${session} seq=2 \\(line ${distinct ? at : '\\d+'}: `, 'm').test(r.out) &&
            (r.out.match(/^UNANCHORED /gm)?.length ?? 0) <= 1;
          if (!ok) failed.push(`${name}, ${where}, ${agent ?? 'per agent'}${other ? '' : ' (one agent)'}:\n${r.out}`);
        }
      }
    }
    assert.deepEqual(failed, []);
  });

  test(`${format}: a different record stored before the first start event ever, with its session and seq 0, is ALTERED in every mode`, async () => {
    const failed: string[] = [];
    const { web, db, w1 } = file(format, 0);
    const session = w1.sealer.session;
    for (const copy of [withSeq(web[1] as string, 0), withChain(withSeq(web[1] as string, 0), chainOf(web[0] as string))]) {
      for (const { agent, other } of MODES) {
        const all = stored([copy, ...web], other ? db : undefined);
        const r = await verifyKeyA(root.dir, all, agent);
        const ok = r.code === 1 && new RegExp(`^ALTERED session=${session} seq=0 \\(line ${all.indexOf(copy) + 1}: `, 'm').test(r.out) && !/^UNANCHORED /m.test(r.out);
        if (!ok) failed.push(`${agent ?? 'per agent'}${other ? '' : ' (one agent)'}:\n${r.out}`);
      }
    }
    assert.deepEqual(failed, []);
  });

  test(`${format}: identical copies of the file's first record (at-least-once delivery, a header re-rendered) stay replays: intact`, async () => {
    const { web, db, w1 } = file(format, 2);
    const first = web[0] as string;
    // A receiver that re-renders the header (RSYSLOG_SyslogProtocol23Format): the MSG and the seal are the same.
    const rerendered = first.replace(/^<(\d+)>1 (\S+) /, '<$1>1 2026-01-02T03:04:05.000000+00:00 ');
    assert.notEqual(rerendered, first);
    for (const lines of [
      [first, first, ...web.slice(1)],
      [first, ...web, first, rerendered],
      [rerendered, ...web],
    ]) {
      for (const { agent, other } of MODES) {
        const r = await verifyKeyA(root.dir, stored(lines, other ? db : undefined), agent);
        assert.equal(r.code, 0, r.out);
        assert.equal(r.out.match(/^UNANCHORED /gm)?.length, 1, r.out);
        assert.match(r.out, new RegExp(`^REPLAY session=${w1.sealer.session} seq=2 `, 'm'), r.out);
        assert.doesNotMatch(r.out, /ALTERED/, r.out);
      }
    }
  });
}

test('a different record stored before a later run\'s start event, with its session and seq: ALTERED; the start event stands, the restart stays declared', async () => {
  const { web, w1 } = file('ecs', 0);
  const start = w1.records.length;
  const copy = withSeq(web[start + 1] as string, start);
  for (const lines of [
    [...web.slice(0, start), copy, ...web.slice(start)],
    [copy, ...web],
  ]) {
    const r = await verifyKeyA(root.dir, lines, 'web-01');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`^ALTERED session=\\S+ seq=${start} \\(line ${lines.indexOf(copy) + 1}: its chain does not match its content and predecessor\\)$`, 'm'), r.out);
    assert.match(r.out, new RegExp(`^RESTART declared: session ${w1.sealer.session} ended at seq ${start - 1}, `, 'm'), r.out);
    assert.doesNotMatch(r.out, /UNDECLARED|UNANCHORED|GAP/, r.out);
    assert.match(r.out, /^FAILED: 1 altered; /m);
  }
});

test('an inserted copy delivered twice is one edit and one replay', async () => {
  const { web, w1 } = file('ecs', 2);
  const copy = withChain((web[0] as string).replace(/alice/g, 'mallory'), chainOf(web[1] as string));
  const r = await verifyKeyA(root.dir, [web[0] as string, copy, copy, ...web.slice(1)], 'web-01');
  assert.equal(r.code, 1, r.out);
  assert.equal(r.out.match(/^ALTERED /gm)?.length, 1, r.out);
  assert.match(
    r.out,
    new RegExp(
      `^ALTERED session=${w1.sealer.session} seq=2 \\(line 2: a second, different record with the session and seq of line 1; the agent seals one record per seq, ` +
        `so this one was inserted or edited \\(the next record is chained on line 1\\)\\)$`,
      'm',
    ),
  );
  assert.match(r.out, /^REPLAY session=\S+ seq=2 \(identical, at-least-once delivery; line 3\)$/m);
});
