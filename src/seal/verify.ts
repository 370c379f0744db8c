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
 * `undeclared_restart`. Sessions are ordered by their lowest seq (seqs are
 * global), not by where the file stores them. When the declared previous session was not received
 * at all, the received session right before (by seq) is held to the
 * declaration instead: deleting a whole run is a gap. A start that declares
 * the stream was sealed under another agent id before (a rename) and whose
 * previous session is not in this stream is held against that agent's
 * sessions in the same file (`context.otherAgents`; `renamed`, information),
 * or this stream's own session when one comes later by seq.
 * A record right after a gap cannot be checked (its predecessor's chain is
 * unknown); the gap is the finding. A stream that starts mid-session cannot
 * anchor its first record: `unanchored` (information, not a failure).
 *
 * A start that declares no previous session is the first start of a stream
 * ever. Anywhere but at the head of the stream (by seq) it is `fresh_start`:
 * the agent started over (its state directory was lost or reset, or a second
 * sender uses this agent id and key), so nothing declares where the stream
 * before it ended, and records deleted at that end cannot be told from an
 * end. A failure unless the operator accepts it (`acceptFreshStarts`: then
 * `accepted_fresh_start`, information).
 *
 * Inside a session, a record may declare that the seqs right before it were
 * sealed and never written (src/seal/declaration.ts): `lost` (information)
 * when its own MAC verifies on the chain it declares, its range ends right
 * before it and the record received before it is the one right before the
 * range. Seqs missing before the declared range are still a `gap`; records
 * received inside it, or a range that does not end at the declaring record,
 * are `lost_mismatch`. A declaration whose MAC does not verify on the chain
 * it declares excuses nothing: the record is checked like any other (a
 * log line quoting a declaration is an ordinary record), so the missing seqs
 * stay a gap and the record, if nothing else anchors it, is `altered`.
 */
import { computeChain, ZERO_CHAIN_HEX } from './chain.js';
import type { DeclaredLoss, DeclaredStart } from './declaration.js';

/** What an agent-start event declares about the previous run (declaration.ts readStartText). */
export type Declaration = DeclaredStart;

export interface SealedEntry {
  session: string;
  seq: bigint;
  chain: string;
  kid: string;
  /** The MSG part exactly as received. */
  msg: Buffer | string;
  /** Present on an agent-start event: what it declares about the previous run. */
  declares?: Declaration;
  /** Present on a lost-range declaration (src/seal/declaration.ts): the seqs right before it that were never written. */
  declaresLost?: DeclaredLoss;
  /** The agent id the record's SD names: outside the MAC, used only to pick one agent's records (verify --agent). */
  agent?: string;
  /** On a start event: the agent id sealed in its MSG (ECS agent.id, CEF deviceExternalId), inside the MAC. */
  sealedAgent?: string;
}

/**
 * One session of another agent's records in the same file, as far as a start
 * declaration needs it: a stream whose agent was renamed continues the old
 * name's records (`Declaration.renamedFrom`).
 */
export interface SessionSummary {
  session: string;
  minSeq: bigint;
  maxSeq: bigint;
  /** The chain of the record at maxSeq, as received (the first copy). */
  lastChain: string;
  /**
   * Whether the record at minSeq is a start event whose own MAC holds on the
   * chain it declares. Nothing else of the summary is checked: a session
   * without it may be a run deleted but for its last record (or one forged
   * line carrying the public chain a start declares).
   */
  anchored: boolean;
}

export interface VerifyContext {
  /** Other agents' sessions in the same file, by agent id (verify --agent): where a renamed agent's stream came from. */
  otherAgents?: ReadonlyMap<string, readonly SessionSummary[]>;
  /**
   * Fresh starts after the head of the stream that the operator knows of (a state directory
   * rebuilt): `true` for all, or the sessions accepted. Reported as `accepted_fresh_start`, not a failure.
   */
  acceptFreshStarts?: true | ReadonlySet<string>;
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
  | { kind: 'unanchored'; session: string; seq: bigint }
  /** Declared by the record at `seq`: seqs from..to were sealed and never written. Information. */
  | { kind: 'lost'; session: string; from: bigint; to: bigint; seq: bigint; cause: string; index: number }
  /** A declaration (its MAC verifies) that does not fit the stream around it. */
  | { kind: 'lost_mismatch'; session: string; seq: bigint; from: bigint; to: bigint; index: number; problem: string }
  /**
   * Information: the session's start event declares that the stream it continues was sealed under
   * agent id `from` (a rename), and the previous session is not in this stream. `held` says whether
   * records of `from` were there to hold the declaration against.
   */
  | { kind: 'renamed'; session: string; from: string; previousSession?: string; lastSeq: bigint | null; held: boolean }
  /**
   * A start declaring no previous session, after `after` (the session before it by seq, or the one at the
   * head when this one sorts first): the stream started over, its end before this point is unprovable.
   * `overlaps`: a session of this stream whose seqs this one's range shares (seqs are never reused
   * by one state directory: the state was lost, or two senders share the id). `accepted_*`: accepted by the operator.
   */
  | { kind: 'fresh_start' | 'accepted_fresh_start'; session: string; seq: bigint; index: number; after: string; overlaps?: string };

/** Kinds that mean the stream is not intact (`logward verify` exits 1). */
export const FAILURES: ReadonlySet<Finding['kind']> = new Set([
  'gap',
  'reorder',
  'altered',
  'forged',
  'undeclared_restart',
  'undeclared_records',
  'seq_reused',
  'lost_mismatch',
  'fresh_start',
]);

export interface VerifyReport {
  ok: boolean;
  findings: Finding[];
  records: number;
  replays: number;
  sessions: number;
  restarts: number;
  /** Declared lost ranges (`lost` findings), and the seqs they cover. */
  losses: number;
  lostSeqs: bigint;
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

/**
 * A record at `seq` that declares a lost range right before it. Returns the
 * candidate whose declaration holds (its MAC verifies on the declared chain),
 * after pushing what it finds; undefined when none does (the record is then
 * checked like any other).
 */
function declaredLoss(s: SessionView, seq: bigint, cands: Candidate[], prevSeq: bigint | null, findings: Finding[]): Candidate | undefined {
  for (const c of cands) {
    const d = c.e.declaresLost;
    if (!d) continue;
    // Only the key holder can MAC a record as a declaration. The role matters: an ordinary record (a log
    // line quoting or forging a declaration, chained on a public chain value) never verifies as one.
    if (computeChain(c.key, d.lastChain, c.e.session, c.e.seq, c.e.msg, 'loss_declaration') !== c.e.chain) continue;
    const base = { session: s.name, seq, from: d.firstSeq, to: d.lastSeq, index: c.index };
    if (d.firstSeq > d.lastSeq || d.lastSeq + 1n !== seq) {
      findings.push({ kind: 'lost_mismatch', ...base, problem: 'that range does not end right before it' });
    } else if (prevSeq !== null && prevSeq >= d.firstSeq) {
      findings.push({ kind: 'lost_mismatch', ...base, problem: `seq ${prevSeq}, inside it, was received` });
    } else {
      // The part of the gap before the declared range is not covered by it.
      if (prevSeq !== null && prevSeq + 1n < d.firstSeq) {
        findings.push({ kind: 'gap', session: s.name, from: prevSeq + 1n, to: d.firstSeq - 1n, missing: d.firstSeq - 1n - prevSeq });
      }
      findings.push({ kind: 'lost', ...base, cause: d.cause });
    }
    for (const o of cands) if (o !== c) findings.push({ kind: 'altered', session: s.name, seq, index: o.index });
    return c;
  }
  return undefined;
}

/** The session a start declaration is held against: its last seq and the chain there. */
interface Predecessor {
  name: string;
  maxSeq: bigint;
  chainAt(seq: bigint): string | undefined;
  /** Where the record at seq was received (-1: not known, another agent's summary). */
  indexAt(seq: bigint): number;
}

function ownPredecessor(s: SessionView): Predecessor {
  return { name: s.name, maxSeq: s.maxSeq, chainAt: (q) => s.chains.get(q), indexAt: (q) => s.bySeq.get(q)?.[0]?.index ?? -1 };
}

function otherPredecessor(x: SessionSummary): Predecessor {
  return { name: x.session, maxSeq: x.maxSeq, chainAt: (q) => (q === x.maxSeq ? x.lastChain : undefined), indexAt: () => -1 };
}

/**
 * A session whose start declares that its stream was sealed under another
 * agent id before (a rename), and whose previous session is not in this
 * stream: the run before it is that agent's. Held against the session named,
 * when that agent's records hold it; else against whichever received session
 * comes right before by seq, this stream's own or the old name's, so a run
 * deleted at the rename is a gap and not the end of one name's stream and the
 * start of another's. Pushes the `renamed` information.
 */
function renamedPredecessor(
  s: SessionView,
  decl: Declaration,
  ownBefore: SessionView | undefined,
  ownSessions: readonly SessionView[],
  context: VerifyContext,
  findings: Finding[],
): Predecessor | undefined {
  const owners = context.otherAgents ?? new Map<string, readonly SessionSummary[]>();
  let from = decl.renamedFrom;
  let theirs = from !== undefined ? (owners.get(from) ?? []) : [];
  let p: SessionSummary | undefined = theirs.find((x) => x.session === decl.previousSession);
  if (!p && decl.previousSession !== undefined) {
    // Session ids are unique: the session named, under whichever name its records are, is the run before.
    // So a rename left undeclared (agent-name.json not saved: a stop or crash right after the start event, a
    // failed write; or lost) is no false gap when both names are in the file.
    for (const [owner, list] of owners) {
      const x = list.find((y) => y.session === decl.previousSession);
      if (x) {
        p = x;
        from = owner;
        theirs = list;
        break;
      }
    }
  }
  if (from === undefined) return undefined;
  if (!p) {
    for (const x of theirs) if (x.minSeq < s.minSeq && (!p || x.minSeq > p.minSeq)) p = x;
    // A later session of this stream's own comes between: the boundary with the old name is further back.
    if (ownBefore && (!p || ownBefore.minSeq > p.minSeq)) return undefined;
  }
  const info: Finding = { kind: 'renamed', session: s.name, from, lastSeq: decl.lastSeq, held: p !== undefined };
  if (decl.previousSession !== undefined) info.previousSession = decl.previousSession;
  findings.push(info);
  if (p && !p.anchored) {
    // Its head is not a start event that verifies: only its first record in the data may be so (the data
    // starts inside it). With a session before it of this stream, of the name it was found under or of the
    // name the start declares (the label is outside the MAC: an editor chooses the name it is found under),
    // its start was deleted (or it is forged).
    const earlier = sessionBefore(p.minSeq, ownSessions, [theirs, declaredOld(decl, owners)]);
    if (earlier) findings.push({ kind: 'undeclared_restart', session: p.session, previousSession: earlier });
  }
  return p && otherPredecessor(p);
}

/** The sessions of the old name a start declares it was renamed from (none when it declares no rename). */
function declaredOld(decl: Declaration, owners: ReadonlyMap<string, readonly SessionSummary[]>): readonly SessionSummary[] {
  return decl.renamedFrom !== undefined ? (owners.get(decl.renamedFrom) ?? []) : [];
}

/** The latest session, of this stream's own or of the lists given, that begins before `head`; its name. */
function sessionBefore(head: bigint, own: readonly SessionView[], others: readonly (readonly SessionSummary[])[]): string | undefined {
  let earlier: { name: string; minSeq: bigint } | undefined;
  for (const o of own) if (o.minSeq < head && (!earlier || o.minSeq > earlier.minSeq)) earlier = o;
  for (const list of others) for (const x of list) if (x.minSeq < head && (!earlier || x.minSeq > earlier.minSeq)) earlier = { name: x.session, minSeq: x.minSeq };
  return earlier?.name;
}

/** Whether the session's first record declares no previous session: the first start of a stream ever. */
function startsFresh(s: SessionView): boolean {
  const decl = s.bySeq.get(s.minSeq)?.[0]?.e.declares;
  return decl !== undefined && decl.previousSession === undefined;
}

/**
 * A start that declares no previous session (the first start of a stream ever), in a stream that
 * holds other sessions. Two first starts in one stream prove that it started over. Reported after
 * the session before it by seq; at the head of the stream only when a session that is not a first
 * start shares its seqs (with two first starts at the same seqs, after a state directory was lost,
 * the later by seq or, on a tie, by place in the file is the one reported). Else the sessions after
 * it are its own later runs, or sessions without a start (undeclared restarts already).
 */
function freshStart(s: SessionView, i: number, ordered: readonly SessionView[], context: VerifyContext): Finding | undefined {
  const overlap = ordered.find((o) => o !== s && o.minSeq <= s.maxSeq && s.minSeq <= o.maxSeq);
  const before = ordered[i - 1];
  const after = before ?? (overlap && !startsFresh(overlap) ? overlap : undefined);
  if (!after) return undefined;
  const accept = context.acceptFreshStarts;
  const accepted = accept === true || (accept !== undefined && accept.has(s.name));
  const head = (s.bySeq.get(s.minSeq) as Candidate[])[0] as Candidate;
  const f: Finding = { kind: accepted ? 'accepted_fresh_start' : 'fresh_start', session: s.name, seq: s.minSeq, index: head.index, after: after.name };
  if (overlap) f.overlaps = overlap.name;
  return f;
}

function sameMsg(a: Buffer | string, b: Buffer | string): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}

export function verifyStream(entries: readonly SealedEntry[], keys: ReadonlyMap<string, Buffer>, context: VerifyContext = {}): VerifyReport {
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

  // Pass 2: per session, in seq order; sessions by their lowest seq, never by where their
  // records sit in the file: seqs are global, so only the earliest session may start without
  // a declaration (a stream that begins mid-session), whatever order the file was stored in.
  const ordered = [...sessions.values()].sort((a, b) => (a.minSeq < b.minSeq ? -1 : a.minSeq > b.minSeq ? 1 : 0));
  let first = true;
  let restarts = 0;
  for (const s of ordered) {
    const seqs = [...s.bySeq.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let prevSeq: bigint | null = null;
    let prevChain: string | null = null;
    for (const seq of seqs) {
      const cands = s.bySeq.get(seq) as Candidate[];
      const declaring = cands.some((c) => c.e.declaresLost !== undefined) ? declaredLoss(s, seq, cands, prevSeq, findings) : undefined;
      if (declaring) {
        s.chains.set(seq, declaring.e.chain);
        prevSeq = seq;
        prevChain = declaring.e.chain;
        continue;
      }
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
        // After a gap nothing anchors this record; conflicting copies are still a finding, and so
        // is a declaration that does not verify on its own declared chain (it would excuse the gap).
        const one = cands[0] as Candidate;
        if (one.e.declaresLost && prevSeq !== null) findings.push({ kind: 'altered', session: s.name, seq, index: one.index });
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
  ordered.forEach((s, i) => {
    const head = s.bySeq.get(s.minSeq)?.[0]?.e;
    const decl = head?.declares;
    if (!decl) {
      const before = ordered[i - 1];
      if (before) findings.push({ kind: 'undeclared_restart', session: s.name, previousSession: before.name });
      return;
    }
    restarts++;
    const r: Finding = { kind: 'restart', session: s.name, lastSeq: decl.lastSeq, firstSeq: s.minSeq };
    if (decl.previousSession !== undefined) r.previousSession = decl.previousSession;
    findings.push(r);
    if (decl.previousSession === undefined && ordered.length > 1) {
      const fresh = freshStart(s, i, ordered, context);
      if (fresh) findings.push(fresh);
    }
    if (decl.lastSeq !== null && s.minSeq <= decl.lastSeq) {
      findings.push({ kind: 'seq_reused', session: s.name, seq: s.minSeq, previousSession: decl.previousSession ?? '' });
    }
    if (decl.lastSeq === null) return;
    // The run that ended at the declared seq: the one named or, when none of its records was
    // received, whichever received session comes right before this one (seqs are global). Without
    // that, deleting every record of one whole run would go unnoticed. No earlier session at all:
    // the stream starts here, and there is nothing to compare.
    const named = decl.previousSession === undefined ? undefined : sessions.get(decl.previousSession);
    let p: Predecessor | undefined = named ? ownPredecessor(named) : undefined;
    // A renamed start held against this stream's own first session, one that has no start event (the data
    // would begin inside it): with a session of the old name before it, its start was deleted and its last
    // record relabelled to the new name (the label is outside the MAC), which would hide a run deleted at
    // the rename. A later own session without a start is an undeclared restart already.
    if (named && decl.renamedFrom !== undefined && named === ordered[0] && !named.bySeq.get(named.minSeq)?.[0]?.e.declares) {
      const earlier = sessionBefore(named.minSeq, [], [declaredOld(decl, context.otherAgents ?? new Map())]);
      if (earlier) findings.push({ kind: 'undeclared_restart', session: named.name, previousSession: earlier });
    }
    if (!p && (decl.renamedFrom !== undefined || decl.previousSession !== undefined)) p = renamedPredecessor(s, decl, ordered[i - 1], ordered, context, findings);
    const before = ordered[i - 1];
    if (!p && before) p = ownPredecessor(before);
    if (!p) return;
    if (p.maxSeq < decl.lastSeq) {
      findings.push({
        kind: 'gap',
        session: decl.previousSession ?? p.name,
        from: p.maxSeq + 1n,
        to: decl.lastSeq,
        missing: decl.lastSeq - p.maxSeq,
      });
    } else if (p.maxSeq > decl.lastSeq) {
      findings.push({ kind: 'undeclared_records', session: p.name, from: decl.lastSeq + 1n, to: p.maxSeq });
    } else if (p.chainAt(decl.lastSeq) !== decl.lastChain) {
      findings.push({ kind: 'altered', session: p.name, seq: decl.lastSeq, index: p.indexAt(decl.lastSeq) });
    }
  });

  let losses = 0;
  let lostSeqs = 0n;
  for (const f of findings) {
    if (f.kind !== 'lost') continue;
    losses++;
    lostSeqs += f.to - f.from + 1n;
  }
  return {
    ok: !findings.some((f) => FAILURES.has(f.kind)),
    findings,
    records: entries.length,
    replays,
    sessions: sessions.size,
    restarts,
    losses,
    lostSeqs,
  };
}
