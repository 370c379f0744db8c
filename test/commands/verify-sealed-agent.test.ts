/**
 * `logward verify --agent` over several agents in one file (CEF; ECS too for
 * edits of the sealed id). The CEF start event carries its agent id inside
 * the MAC (deviceExternalId), so a start event is placed by it, as with ECS
 * agent.id, and not by its SD label: a run deleted in the middle cannot be
 * hidden by relabelling the next one. The sealed id counts only when the start
 * event's own MAC holds.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { after, KEY_A, pipelineRun, tempDir, type Run } from '../seal/sealed-stream.js';
import { verifyKeyA, type Verified } from './verify-lines.js';

const root = tempDir('lw-verify-cef-');
afterAll(root.cleanup);

function verify(lines: readonly string[], agent?: string): Promise<Verified> {
  return verifyKeyA(root.dir, lines, agent);
}

/** web-01 runs three times while db-01 runs once (CEF unless told), their records interleaved as a receiver stores them. */
function sharedFile(format: 'cef' | 'ecs' = 'cef'): { lines: string[]; web: Run[]; db: Run } {
  const web: Run[] = [];
  for (let i = 0; i < 3; i++) web.push(pipelineRun(KEY_A, 4, { agent: 'web-01', format }, i === 0 ? undefined : after(web[i - 1]!)));
  const db = pipelineRun(KEY_A, 14, { agent: 'db-01', format });
  const lines: string[] = [];
  const webRecords = web.flatMap((r) => r.records);
  for (let i = 0; i < Math.max(webRecords.length, db.records.length); i++) {
    if (db.records[i]) lines.push(db.records[i]!.toString());
    if (webRecords[i]) lines.push(webRecords[i]!.toString());
  }
  return { lines, web, db };
}

const ofRun = (line: string, run: Run): boolean => line.includes(`session="${run.sealer.session}"`);

test('a clean CEF file of two agents is intact for each with --agent; the start events carry their agent ids', async () => {
  const { lines, web } = sharedFile();
  assert.match(lines.find((l) => ofRun(l, web[1]!))!, / CEF:0\|.* deviceExternalId=web-01 /);
  for (const [agent, sessions, restarts, others] of [
    ['web-01', 3, 2, 15],
    ['db-01', 1, 0, 15],
  ] as const) {
    const r = await verify(lines, agent);
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /RELABELLED/);
    assert.match(r.out, new RegExp(`^intact: 15 records in ${sessions} sessions?, ${restarts} declared restarts?, 0 replays, ${others} records of other agents skipped$`, 'm'));
  }
});

test('CEF: a deleted middle run whose successor is relabelled as another agent is a gap, and the relabelled start event is named', async () => {
  const { lines, web } = sharedFile();
  const [, middle, last] = web as [Run, Run, Run];
  const edited = lines.filter((l) => !ofRun(l, middle)).map((l) => (ofRun(l, last) ? l.replace('agent="web-01"', 'agent="ghost"') : l));
  const r = await verify(edited, 'web-01');
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^GAP session=${middle.sealer.session} seq 5\\.\\.9 \\(5 missing\\)$`, 'm'));
  assert.match(r.out, new RegExp(`^RELABELLED line \\d+ \\(session=${last.sealer.session}\\): a start event sealed by agent "web-01" labelled "ghost"$`, 'm'));
  for (const agent of ['ghost', 'db-01', undefined]) {
    const o = await verify(edited, agent);
    assert.equal(o.code, 1, `${agent ?? '(all)'}: ${o.out}`);
    assert.match(o.out, /^FAILED: .*1 relabelled start event/m);
  }
});

test('an edited sealed agent id (the start event moved with its label) fails every check, CEF and ECS alike', async () => {
  // Relabelling alone is named (RELABELLED); editing the sealed id too breaks the start event's MAC, which
  // it can be checked on alone (it is sealed on the chain it declares): the edit is found whatever --agent says.
  for (const format of ['cef', 'ecs'] as const) {
    const { lines, web } = sharedFile(format);
    const [, middle, last] = web as [Run, Run, Run];
    const edited = lines
      .filter((l) => !ofRun(l, middle))
      .map((l) => (ofRun(l, last) ? l.replace('agent="web-01"', 'agent="ghost"').replace(/deviceExternalId=web-01|"id":"web-01"/, (m) => m.replace('web-01', 'ghost')) : l));
    assert.notDeepEqual(edited, lines.filter((l) => !ofRun(l, middle)));
    assert.ok(edited.some((l) => ofRun(l, last) && /deviceExternalId=ghost|"id":"ghost"/.test(l)), format);
    for (const agent of ['web-01', 'db-01', undefined]) {
      const r = await verify(edited, agent);
      assert.equal(r.code, 1, `${format} ${agent ?? '(all)'}: ${r.out}`);
      if (agent === 'web-01') {
        assert.match(r.out, new RegExp(`^ALTERED START line \\d+ \\(session=${last.sealer.session}, labelled "ghost"\\): its seal does not verify on the chain it declares, so the agent it names is unknown$`, 'm'));
        assert.match(r.out, /^FAILED: 1 altered start event of unknown agent; /m);
      }
    }
    const ghost = await verify(edited, 'ghost');
    assert.equal(ghost.code, 1);
    assert.match(ghost.out, new RegExp(`^ALTERED session=${last.sealer.session} seq=10 `, 'm'));
  }
});

test("a start event's key id edited as well (it is outside the MAC) does not hide whose key sealed it", async () => {
  const { lines, web } = sharedFile();
  const [, middle, last] = web as [Run, Run, Run];
  const edited = lines
    .filter((l) => !ofRun(l, middle))
    .map((l) => (ofRun(l, last) ? l.replace('agent="web-01"', 'agent="ghost"').replace(/ kid="[0-9a-f]+"/, ' kid="00000000"') : l));
  const r = await verify(edited, 'web-01');
  assert.equal(r.code, 1, r.out);
  // Checked by the key that sealed it, it stays in web-01's stream, where its key id is unknown: forged.
  assert.match(r.out, new RegExp(`^RELABELLED line \\d+ \\(session=${last.sealer.session}\\): a start event sealed by agent "web-01" labelled "ghost"$`, 'm'));
  assert.match(r.out, new RegExp(`^FORGED session=${last.sealer.session} seq=10 `, 'm'));
});

test('an edited sealed id is not believed: the start event stays with its label and is altered there, never "relabelled"', async () => {
  for (const format of ['cef', 'ecs'] as const) {
    const { lines, web } = sharedFile(format);
    const last = web[2]!;
    const edited = lines.map((l) => (ofRun(l, last) ? l.replace(/deviceExternalId=web-01|"id":"web-01"/, (m) => m.replace('web-01', 'ghost')) : l));
    const r = await verify(edited, 'web-01');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`^ALTERED session=${last.sealer.session} seq=10 `, 'm'));
    assert.doesNotMatch(r.out, /RELABELLED|ALTERED START/, r.out);
  }
});
