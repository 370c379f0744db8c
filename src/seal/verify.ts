/**
 * The verifier core (pure): given sealed records in the order they were
 * received and the keys by key id, it tells what happened to the stream.
 *
 * Two passes. In received order: unknown keys (forged), identical replays
 * (same session + seq + chain + MSG: counted, not a failure), and reorders (a seq
 * below one already received in its session). Then per session in seq order:
 * each chain is recomputed from its predecessor's chain (a changed byte shows
 * as `altered` at that record only, since the next record chains on the chain
 * value as received), a missing seq is a `gap`, and a session's first record
 * is anchored by its start declaration (or the zero chain at the first event
 * ever). Across sessions, a declaration says where the previous session ended:
 * fewer records received than declared is a gap (a lost tail), more is
 * `undeclared_records`, a new session without a declaration is
 * `undeclared_restart`.
 * A record right after a gap cannot be checked (its predecessor's chain is
 * unknown); the gap is the finding. A stream that starts mid-session cannot
 * anchor its first record: `unanchored` (information, not a failure).
 */
import { computeChain, ZERO_CHAIN_HEX } from './chain.js';

export interface Declaration {
  previousSession?: string;
  lastSeq: bigint | null;
  lastChain: string;
}

export interface SealedEntry {
  session: string;
  seq: bigint;
  chain: string;
  kid: string;
  /** The MSG part exactly as received. */
  msg: Buffer | string;
  /** Present on an agent-start event: what it declares about the previous run. */
  declares?: Declaration;
}

export type Finding =
  | { kind: 'gap'; session: string; from: bigint; to: bigint; missing: bigint }
  | { kind: 'reorder'; session: string; seq: bigint; index: number }
  | { kind: 'altered'; session: string; seq: bigint; index: number }
  | { kind: 'forged'; session: string; seq: bigint; index: number; reason: string }
  | { kind: 'replay'; session: string; seq: bigint; index: number }
  | { kind: 'restart'; session: string; previousSession?: string; lastSeq: bigint | null; firstSeq: bigint }
  | { kind: 'undeclared_restart'; session: string; previousSession: string }
  | { kind: 'undeclared_records'; session: string; from: bigint; to: bigint }
  | { kind: 'seq_reused'; session: string; seq: bigint; previousSession: string }
  | { kind: 'unanchored'; session: string; seq: bigint };

/** Kinds that mean the stream is not intact (`logward verify` exits 1). */
export const FAILURES: ReadonlySet<Finding['kind']> = new Set([
  'gap',
  'reorder',
  'altered',
  'forged',
  'undeclared_restart',
  'undeclared_records',
  'seq_reused',
]);

export interface VerifyReport {
  ok: boolean;
  findings: Finding[];
  records: number;
  replays: number;
  sessions: number;
  restarts: number;
}

interface Candidate {
  e: SealedEntry;
  index: number;
  key: Buffer;
}

interface SessionView {
  name: string;
  bySeq: Map<bigint, Candidate[]>;
  maxSeq: bigint;
  /** Accepted chain per seq, after pass 2. */
  chains: Map<bigint, string>;
  minSeq: bigint;
}

function sameMsg(a: Buffer | string, b: Buffer | string): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}

export function verifyStream(entries: readonly SealedEntry[], keys: ReadonlyMap<string, Buffer>): VerifyReport {
  const findings: Finding[] = [];
  const sessions = new Map<string, SessionView>();
  const seen = new Map<string, SealedEntry>();
  let replays = 0;

  // Pass 1: received order.
  entries.forEach((e, index) => {
    const key = keys.get(e.kid);
    if (!key) {
      findings.push({ kind: 'forged', session: e.session, seq: e.seq, index, reason: `unknown key id "${e.kid}"` });
      return;
    }
    const id = `${e.session}\u0000${e.seq}`;
    const prior = seen.get(id);
    if (prior !== undefined && prior.chain === e.chain && sameMsg(prior.msg, e.msg)) {
      replays++;
      findings.push({ kind: 'replay', session: e.session, seq: e.seq, index });
      return;
    }
    if (prior === undefined) seen.set(id, e);
    let s = sessions.get(e.session);
    if (!s) {
      s = { name: e.session, bySeq: new Map(), maxSeq: e.seq, minSeq: e.seq, chains: new Map() };
      sessions.set(e.session, s);
    } else if (e.seq < s.maxSeq && prior === undefined) {
      findings.push({ kind: 'reorder', session: e.session, seq: e.seq, index });
    }
    if (e.seq > s.maxSeq) s.maxSeq = e.seq;
    if (e.seq < s.minSeq) s.minSeq = e.seq;
    const list = s.bySeq.get(e.seq);
    if (list) list.push({ e, index, key });
    else s.bySeq.set(e.seq, [{ e, index, key }]);
  });

  // Pass 2: per session, in seq order.
  let first = true;
  let restarts = 0;
  for (const s of sessions.values()) {
    const seqs = [...s.bySeq.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let prevSeq: bigint | null = null;
    let prevChain: string | null = null;
    for (const seq of seqs) {
      const cands = s.bySeq.get(seq) as Candidate[];
      let anchor: string | null = null;
      if (prevSeq === null) {
        const decl = cands[0]?.e.declares;
        if (decl) anchor = decl.lastChain;
        else if (first) anchor = ZERO_CHAIN_HEX;
      } else if (seq === prevSeq + 1n) {
        anchor = prevChain;
      } else {
        findings.push({ kind: 'gap', session: s.name, from: prevSeq + 1n, to: seq - 1n, missing: seq - prevSeq - 1n });
      }
      let accepted: Candidate | undefined;
      if (anchor !== null) {
        const a: string = anchor;
        accepted = cands.find((c) => computeChain(c.key, a, c.e.session, c.e.seq, c.e.msg) === c.e.chain);
        for (const c of cands) {
          if (c === accepted) continue;
          if (prevSeq === null && !cands[0]?.e.declares) findings.push({ kind: 'unanchored', session: s.name, seq });
          else findings.push({ kind: 'altered', session: s.name, seq, index: c.index });
        }
      } else {
        if (prevSeq === null) findings.push({ kind: 'unanchored', session: s.name, seq });
        // After a gap nothing anchors this record; conflicting copies are still a finding.
        for (const c of cands.slice(1)) findings.push({ kind: 'altered', session: s.name, seq, index: c.index });
      }
      const chosen: Candidate = accepted ?? (cands[0] as Candidate);
      s.chains.set(seq, chosen.e.chain);
      prevSeq = seq;
      prevChain = chosen.e.chain;
    }
    first = false;
  }

  // Across sessions: declared restarts.
  const order = [...sessions.values()];
  order.forEach((s, i) => {
    const head = s.bySeq.get(s.minSeq)?.[0]?.e;
    const decl = head?.declares;
    if (!decl) {
      const before = order[i - 1];
      if (before) findings.push({ kind: 'undeclared_restart', session: s.name, previousSession: before.name });
      return;
    }
    restarts++;
    const r: Finding = { kind: 'restart', session: s.name, lastSeq: decl.lastSeq, firstSeq: s.minSeq };
    if (decl.previousSession !== undefined) r.previousSession = decl.previousSession;
    findings.push(r);
    const p = decl.previousSession === undefined ? undefined : sessions.get(decl.previousSession);
    if (decl.lastSeq !== null && s.minSeq <= decl.lastSeq) {
      findings.push({ kind: 'seq_reused', session: s.name, seq: s.minSeq, previousSession: decl.previousSession ?? '' });
    }
    if (!p || decl.lastSeq === null) return;
    if (p.maxSeq < decl.lastSeq) {
      findings.push({
        kind: 'gap',
        session: p.name,
        from: p.maxSeq + 1n,
        to: decl.lastSeq,
        missing: decl.lastSeq - p.maxSeq,
      });
    } else if (p.maxSeq > decl.lastSeq) {
      findings.push({ kind: 'undeclared_records', session: p.name, from: decl.lastSeq + 1n, to: p.maxSeq });
    } else if (p.chains.get(decl.lastSeq) !== decl.lastChain) {
      const c = p.bySeq.get(decl.lastSeq)?.[0];
      findings.push({ kind: 'altered', session: p.name, seq: decl.lastSeq, index: c?.index ?? -1 });
    }
  });

  return {
    ok: !findings.some((f) => FAILURES.has(f.kind)),
    findings,
    records: entries.length,
    replays,
    sessions: sessions.size,
    restarts,
  };
}
