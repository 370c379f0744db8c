/**
 * The agent id the state directory's stream was sealed under, kept across
 * runs so that the first start after a rename (agent.id changed in the config
 * between runs) can say so: "renamed from agent OLD" in its start declaration
 * (declaration.ts startText). Seqs and chain belong to the state directory,
 * not to the name: without this, `logward verify --agent NEW` sees a stream
 * that begins with NEW's first run, `--agent OLD` one that ends with OLD's
 * last, and a whole run deleted at the rename is in neither (README.md
 * "Verifier").
 *
 * One small JSON file in the state directory, `{"agent":"NEW","renamedFrom":"OLD"}`,
 * replaced atomically. The rename stays declared by every later start of NEW
 * (a SIEM file that begins after NEW's first run must still link back), until
 * the next rename, or a start with no previous session (a new stream).
 *
 * Order at start: read, seal the start event, then save. A crash between the
 * two leaves the old name in the file, and the next start declares the rename
 * again: still true. Saving first could name a run that never sealed a record.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { writeFileAtomic } from '../state/atomic-file.js';

export const AGENT_NAME_FILE = 'agent-name.json';

/** Agent ids are printable ASCII without spaces, 1..255 (config.schema.json agent.id). */
const AGENT_ID_RE = /^[!-~]{1,255}$/;

interface Saved {
  agent: string;
  renamedFrom?: string;
}

export class AgentNames {
  private constructor(
    private readonly file: string,
    private readonly saved: Saved | undefined,
    /** Why the file was not used (unparsable, wrong shape): the start goes on as if it were absent. */
    readonly problem?: string,
  ) {}

  /**
   * Reads the file in `stateDir`; absent or unusable, no name is known
   * (`problem` says why when unusable). Never fails the start: a rename that
   * goes undeclared is the limit README.md "Verifier" describes, no worse.
   */
  static async load(stateDir: string): Promise<AgentNames> {
    const file = join(stateDir, AGENT_NAME_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') return new AgentNames(file, undefined);
      if (typeof e.code === 'string') return new AgentNames(file, undefined, `${file}: ${e.message}`);
      throw err;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      if (err instanceof SyntaxError) return new AgentNames(file, undefined, `${file}: not JSON (${err.message})`);
      throw err;
    }
    const d = doc as { agent?: unknown; renamedFrom?: unknown } | null;
    const ok = (v: unknown): v is string => typeof v === 'string' && AGENT_ID_RE.test(v);
    if (typeof d !== 'object' || d === null || !ok(d.agent) || (d.renamedFrom !== undefined && !ok(d.renamedFrom))) {
      return new AgentNames(file, undefined, `${file}: not {"agent": ID, "renamedFrom"?: ID}`);
    }
    return new AgentNames(file, ok(d.renamedFrom) ? { agent: d.agent, renamedFrom: d.renamedFrom } : { agent: d.agent });
  }

  /**
   * The agent id the stream was sealed under before `current`: the saved name
   * when it differs (a rename now), else the rename the saved name declared.
   * Undefined when the agent was never renamed (or nothing is known).
   */
  renamedFrom(current: string): string | undefined {
    if (!this.saved) return undefined;
    return this.saved.agent !== current ? this.saved.agent : this.saved.renamedFrom;
  }

  /**
   * After the start event is sealed: `current`, and the rename it declared
   * (undefined: none, e.g. a new stream). Writes only when that changed.
   */
  async save(current: string, renamedFrom: string | undefined): Promise<void> {
    if (this.saved?.agent === current && this.saved.renamedFrom === renamedFrom) return;
    const next: Saved = renamedFrom !== undefined ? { agent: current, renamedFrom } : { agent: current };
    await writeFileAtomic(this.file, JSON.stringify(next) + '\n');
  }
}
