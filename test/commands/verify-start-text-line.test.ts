/**
 * Review (hostile, false alarm): a start declaration was read from the text of
 * any record's MSG that names the record's own session and seq
 * (received.ts startDeclaration). A log line can hold such a text: whoever can
 * write a line the agent reads (`logger`, an sshd user name, an application
 * log) and reads the session id and the current seq off the SIEM. The agent
 * seals it as an ordinary event, on the record before it. In another agent's
 * records (its key in the file), `verify --agent OTHER` took it for a start
 * event whose seal does not verify on the chain it declares: ALTERED START, a
 * failure of an intact file. At the head of the data (a daily file that
 * begins at that line) its own stream took it for its session's start event:
 * ALTERED.
 *
 * Only the agent's own start event declares: an internal event (ECS
 * event.module "logward", event.action "agent_started"; CEF class id
 * "logward:agent_started"), its message beginning with the declaration. A
 * line read from a log is never one: event.module is its parser's name (a
 * line cannot set it: src/parse/reserved-fields.ts), and its CEF class id
 * begins with that name (src/event/classify.ts). All of it is inside the MAC.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { parseSealedRecord } from '../../src/seal/received.js';
import { VERSION } from '../../src/version.js';
import { after, KEY_A, pipelineRun, SD_ID, sealLogLine, tempDir, type Run } from '../seal/sealed-stream.js';
import { verifyKeyA } from './verify-lines.js';

const root = tempDir('lw-review-start-text-line-');
afterAll(root.cleanup);

const text = (r: Run): string[] => r.records.map((b) => b.toString());

type Shape = 'fresh' | 'chained' | 'renamed' | 'inside';

/**
 * A start text for the seq the run seals next, as someone who read the SIEM writes it. `chained`
 * declares the chain of the record before it (public), so its MAC holds as a start's too.
 */
function startLine(run: Run, shape: Shape): string {
  const s = run.sealer;
  const head = `logward ${VERSION} started; session ${s.session} first_seq ${s.nextSeq()}; `;
  const prev = `previous session ${'ab'.repeat(16)} last_seq ${s.nextSeq() - 1n} last_chain ${s.lastChain()}`;
  switch (shape) {
    case 'fresh':
      return head + 'no previous session';
    case 'chained':
      return head + prev;
    case 'renamed':
      return head + prev + '; renamed from agent web-01';
    case 'inside':
      return `Invalid user ${head}no previous session from 203.0.113.9 port 4242`;
  }
}

/**
 * web-01 runs twice, db-01 twice, one key; db-01's first run reads the line (then 3 more lines).
 * `at`: the index of the line in db-01's records; the records interleaved as a receiver stores them.
 */
function sharedFile(format: 'ecs' | 'cef', shape: Shape): { web: Run[]; db: Run[]; at: number } {
  const w1 = pipelineRun(KEY_A, 4, { agent: 'web-01', format });
  const w2 = pipelineRun(KEY_A, 4, { agent: 'web-01', format }, after(w1));
  const d1 = pipelineRun(KEY_A, 3, { agent: 'db-01', format });
  const at = d1.records.length;
  sealLogLine(d1, startLine(d1, shape), { agent: 'db-01', format });
  for (let i = 0; i < 3; i++) sealLogLine(d1, `Accepted publickey for bob from 10.1.0.${i} port 22 ssh2`, { agent: 'db-01', format });
  const d2 = pipelineRun(KEY_A, 3, { agent: 'db-01', format }, after(d1));
  return { web: [w1, w2], db: [d1, d2], at };
}

function interleave(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== undefined) out.push(a[i] as string);
    if (b[i] !== undefined) out.push(b[i] as string);
  }
  return out;
}

const SHAPES: readonly Shape[] = ['fresh', 'chained', 'renamed', 'inside'];

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: the line is an ordinary record: its MSG holds a start text for its own session and seq, and declares nothing`, () => {
    for (const shape of SHAPES) {
      const { db, at } = sharedFile(format, shape);
      const d1 = db[0] as Run;
      const line = d1.records[at] as Buffer;
      assert.ok(line.toString().includes(`started; session ${d1.sealer.session} first_seq ${at}; `), line.toString());
      const p = parseSealedRecord(line, SD_ID);
      assert.ok(p.ok);
      assert.equal(p.entry.declares, undefined, `${shape}: ${line.toString()}`);
      assert.equal(p.entry.sealedAgent, undefined);
      // The start events still declare.
      const start = parseSealedRecord(d1.records[0] as Buffer, SD_ID);
      assert.ok(start.ok && start.entry.declares !== undefined && start.entry.sealedAgent === 'db-01');
    }
  });

  test(`${format}: a log line holding a start text in another agent's records: intact with --agent for either, and per agent`, async () => {
    const failed: string[] = [];
    for (const shape of SHAPES) {
      const { web, db } = sharedFile(format, shape);
      const lines = interleave(web.flatMap(text), db.flatMap(text));
      for (const agent of ['web-01', 'db-01', undefined]) {
        const r = await verifyKeyA(root.dir, lines, agent);
        if (r.code !== 0 || /ALTERED|RELABELLED|FRESH START|UNDECLARED/.test(r.out)) failed.push(`${shape}, ${agent ?? 'per agent'}:\n${r.out}`);
      }
    }
    assert.deepEqual(failed, []);
  });

  test(`${format}: a daily file that begins at that line (its session's first record in the data) is intact in every mode`, async () => {
    const failed: string[] = [];
    for (const shape of SHAPES) {
      const { web, db, at } = sharedFile(format, shape);
      const d1 = db[0] as Run;
      const lines = interleave(web.flatMap(text), [...text(d1).slice(at), ...text(db[1] as Run)]);
      for (const agent of ['web-01', 'db-01', undefined]) {
        const r = await verifyKeyA(root.dir, lines, agent);
        const unanchored = new RegExp(`^UNANCHORED session=${d1.sealer.session} seq=${at}: `, 'm');
        if (r.code !== 0 || /ALTERED|RELABELLED/.test(r.out) || (agent !== 'web-01' && !unanchored.test(r.out))) failed.push(`${shape}, ${agent ?? 'per agent'}:\n${r.out}`);
      }
    }
    assert.deepEqual(failed, []);
  });

  test(`${format}: still: a real start event of another agent, edited (its key in the file), is ALTERED START under --agent`, async () => {
    const { web, db } = sharedFile(format, 'fresh');
    const d2 = text(db[1] as Run);
    // An edit that keeps the start text and the event's shape: one value elsewhere in it changed.
    const edited = (d2[0] as string).replace(/"host":{"name":"host-1"}|dvchost=host-1/, (m) => m.replace('host-1', 'host-2'));
    assert.notEqual(edited, d2[0]);
    const lines = interleave(web.flatMap(text), [...text(db[0] as Run), edited, ...d2.slice(1)]);
    const r = await verifyKeyA(root.dir, lines, 'web-01');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /^ALTERED START line \d+ \(session=\S+, labelled "db-01"\): its seal does not verify on the chain it declares/m);
  });
}
