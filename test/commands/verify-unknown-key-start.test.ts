/**
 * A start event sealed with a key that is not in the key file cannot have its
 * MAC checked, so the agent id in its message is not believed: the label
 * places it, as it places another agent's records sealed with that agent's own
 * key. But the agent writes its own id both in the message (ECS agent.id, CEF
 * deviceExternalId) and in the label: a message and a label that disagree
 * prove one of them was edited in the stored file, whatever the key. That is
 * ALTERED START in every mode; with `--agent` for another agent it passed as
 * intact, the edited record skipped as "another agent's".
 *
 * What stays as it was: another agent's records under its own key are
 * skipped by --agent, and checked per agent they are FORGED, with one line
 * saying which key the file lacks.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { type VerifyOptions } from '../../src/commands/verify.js';
import { verifyWithKeys, type Verified } from './verify-lines.js';
import { keyIdOf } from '../../src/seal/chain.js';
import { after, KEY_A, KEY_B, pipelineRun, tempDir, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-unknown-key-');
afterAll(root.cleanup);

const verify = (lines: readonly string[], keys: readonly Buffer[], opts: Partial<VerifyOptions> = {}): Promise<Verified> =>
  verifyWithKeys(root.dir, lines, keys, opts);

const text = (r: Run): string[] => r.records.map((b) => b.toString());
const KID_B = keyIdOf(KEY_B);

/** web-01 sealed with KEY_A, db-01 with its own KEY_B, two runs each, interleaved as a SIEM stores them. */
function sharedFile(format: 'ecs' | 'cef'): { web: Run[]; db: Run[] } {
  const w1 = pipelineRun(KEY_A, 3, { agent: 'web-01', format });
  const d1 = pipelineRun(KEY_B, 3, { agent: 'db-01', format });
  const w2 = pipelineRun(KEY_A, 3, { agent: 'web-01', format }, after(w1));
  const d2 = pipelineRun(KEY_B, 3, { agent: 'db-01', format }, after(d1));
  return { web: [w1, w2], db: [d1, d2] };
}

const lines = (f: { web: Run[]; db: Run[] }, d2: string[] = text(f.db[1] as Run)): string[] => [
  ...text(f.web[0] as Run),
  ...text(f.db[0] as Run),
  ...text(f.web[1] as Run),
  ...d2,
];

for (const format of ['ecs', 'cef'] as const) {
  const renamedIn = (start: string, to: string): string => {
    const out = start.replace(/"id":"db-01"|deviceExternalId=db-01/, (m) => m.replace('db-01', to));
    assert.notEqual(out, start);
    return out;
  };

  test(`${format}: a start event under a key not in the file whose message names another agent than its label fails in every mode`, async () => {
    const f = sharedFile(format);
    const d2 = text(f.db[1] as Run);
    const edited = lines(f, [renamedIn(d2[0] as string, 'web-01'), ...d2.slice(1)]);
    const line = new RegExp(
      `^ALTERED START line 13 \\(session=${(f.db[1] as Run).sealer.session}, labelled "db-01"\\): its message names agent "web-01"; ` +
        `the agent writes its own id in both, so the label or the message was edited in the stored file \\(its key id "${KID_B}" is not in the key file, so which one cannot be told\\)$`,
      'm',
    );
    for (const agent of ['web-01', 'db-01', undefined]) {
      const r = await verify(edited, [KEY_A], agent !== undefined ? { agent } : {});
      assert.equal(r.code, 1, `${agent}: ${r.out}`);
      assert.match(r.out, line);
      assert.match(r.out, /1 altered start event of unknown agent/);
    }
    // The whole run moved by its label, the message left: the same.
    const moved = lines(f, d2.map((l) => l.replace('agent="db-01"', 'agent="web-01"')));
    const r = await verify(moved, [KEY_A], { agent: 'web-01' });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /^ALTERED START line 13 \(session=\S+, labelled "web-01"\): its message names agent "db-01"; /m);
  });

  test(`${format}: with every agent's key (a ring) the same edit is an altered start event, checked by its MAC`, async () => {
    const f = sharedFile(format);
    const d2 = text(f.db[1] as Run);
    const edited = lines(f, [renamedIn(d2[0] as string, 'web-01'), ...d2.slice(1)]);
    const web = await verify(edited, [KEY_A, KEY_B], { agent: 'web-01' });
    assert.equal(web.code, 1, web.out);
    assert.match(web.out, /^ALTERED START line 13 \(session=\S+, labelled "db-01"\): its seal does not verify on the chain it declares/m);
    const all = await verify(edited, [KEY_A, KEY_B]);
    assert.equal(all.code, 1, all.out);
    assert.match(all.out, new RegExp(`^ALTERED session=${(f.db[1] as Run).sealer.session} seq=4 `, 'm'));
  });

  test(`${format}: another agent's unedited records under its own key: skipped by --agent, FORGED per agent with one line naming the missing key`, async () => {
    const f = sharedFile(format);
    const r = await verify(lines(f), [KEY_A], { agent: 'web-01' });
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /ALTERED|FORGED|UNKNOWN KEY/);
    const all = await verify(lines(f), [KEY_A]);
    assert.equal(all.code, 1, all.out);
    assert.equal(all.out.match(/^FORGED /gm)?.length, 8);
    assert.match(
      all.out,
      new RegExp(
        `^UNKNOWN KEY id "${KID_B}": 8 records \\(2 sessions, lines 5\\.\\.16\\) name a key that is not in the key file, so they are not checked: ` +
          `made without the key, or sealed with a key the file lacks \\(an old key removed from it, or another host sending as this agent with its own key\\); ` +
          `add that key to the key file \\(a key ring\\) to check them$`,
        'm',
      ),
    );
    assert.doesNotMatch(all.out, /ALTERED START/);
    assert.equal((await verify(lines(f), [KEY_A, KEY_B])).code, 0);
  });
}
