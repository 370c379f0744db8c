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
 * global), not by where the file stores them; across a fresh start (below) by
 * what proves the order (streamOrder). When the declared previous session was not received
 * at all, the received session right before (by seq) is held to the
 * declaration instead: deleting a whole run is a gap. A start that declares
 * the stream was sealed under another agent id before (a rename) and whose
 * previous session is not in this stream is held against that agent's
 * sessions in the same file (`context.otherAgents`; `renamed`, information),
 * or this stream's own session when one comes later by seq.
 * A record right after a gap cannot be checked (its predecessor's chain is
 * unknown); the gap is the finding. A stream that starts mid-session cannot
 * anchor its first record: `unanchored` (information, not a failure).
 * Different records with one session and seq (not identical copies, which are
 * replays) are an edit wherever they are, the head of the data and after a gap
 * too: the agent seals one record per seq, so at most one is on the chain. The
 * copy the next record is chained on stands, the others are `altered`
 * (`copyOf`); at a session's head, a start event whose MAC holds on the chain
 * it declares stands for the session, wherever the file stores it.
 *
 * A start that declares no previous session is the first start of a stream
 * ever. Anywhere but at the head of the stream it is `fresh_start`:
 * the agent started over (its state directory was lost or reset, or a second
 * sender uses this agent id and key), so nothing declares where the stream
 * before it ended, and records deleted at that end cannot be told from an
 * end. A failure unless the operator accepts it (`acceptFreshStarts`: then
 * `accepted_fresh_start`, information). Its seqs start from 0 again, so seqs
 * order nothing across it: the fresh starts' streams are put in the order of
 * their start events' sealed times, and a run without its start in the data
 * goes before them (the old stream a file begins inside) only when its
 * records' sealed read times put it there (streamOrder). Two sessions whose
 * sealed times overlap are said to be two senders (`sameTime`), with the
 * failure they cause.
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
 *
 * Time: O(n log n) in records and sessions, whatever the data holds. What a
 * session is compared with across the stream (FreshStartPlaces, OtherSessions,
 * OwnPrefix, AgentSessions) is looked up in indexes, never by scanning every
 * session for each: a file stuffed with one-record sessions, which needs no
 * key, made those scans quadratic (minutes for 20,000 sessions).
 */
import { computeChain, ZERO_CHAIN_HEX } from './chain.js';
import type { DeclaredLoss, DeclaredStart } from './declaration.js';
import { sealedTimeOf } from './received.js';

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
  /** Instead of otherAgents: every agent's sessions in the file, this stream's own (`self`) among them, which are left out. */
  agents?: { all: AgentSessions; self: string };
  /**
   * Fresh starts after the head of the stream that the operator knows of (a state directory
   * rebuilt): `true` for all, or the sessions accepted. Reported as `accepted_fresh_start`, not a failure.
   */
  acceptFreshStarts?: true | ReadonlySet<string>;
  /**
   * The file each entry was read from (by index), when the data is several files: only within one file
   * is the stored order the received order. Without it, the data is one file.
   */
  inputOf?: readonly number[];
}

export type Finding =
  | { kind: 'gap'; session: string; from: bigint; to: bigint; missing: bigint }
  | { kind: 'reorder'; session: string; seq: bigint; index: number }
  /**
   * `copyOf`: a second, different record with this session and seq, where nothing received before them
   * checks either (the head of the data, after a gap): the agent seals one record per seq, so at most one
   * is on the chain. The copy at `copyOf` stands, proven so when `byNext` (the next record is chained on it).
   */
  | { kind: 'altered'; session: string; seq: bigint; index: number; copyOf?: number; byNext?: boolean }
  /** `kid`: the key id the record names (outside the MAC), when no key of the file has it. */
  | { kind: 'forged'; session: string; seq: bigint; index: number; reason: string; kid?: string }
  | { kind: 'replay'; session: string; seq: bigint; index: number }
  /**
   * Information: a record below the first one the data holds of its session, stored after it in the same
   * file: a resend (after a reconnect) of a record whose first copy went before the data begins, as when
   * one daily file is checked without the day before it. Its chain is checked in seq order like any other.
   * In a later file than that first record it stays a `reorder`: the files were given out of order.
   */
  | { kind: 'resent'; session: string; seq: bigint; index: number }
  | { kind: 'restart'; session: string; previousSession?: string; lastSeq: bigint | null; firstSeq: bigint }
  /**
   * `undatedBefore`: a fresh start of this stream that the session may have come before (the data
   * beginning inside it), had anything sealed dated it (streamOrder).
   */
  | { kind: 'undeclared_restart'; session: string; previousSession: string; undatedBefore?: string; sameTime?: SameTime }
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
   * records of `from` were there to hold the declaration against. `undeclared`: the start event does not
   * declare that rename; its previous session was found among `from`'s records by its id.
   */
  | { kind: 'renamed'; session: string; from: string; previousSession?: string; lastSeq: bigint | null; held: boolean; undeclared?: true }
  /**
   * A start declaring no previous session, after `after` (the session before it by seq, or the one at the
   * head when this one sorts first): the stream started over, its end before this point is unprovable.
   * `overlaps`: a session of this stream whose seqs this one's range shares (seqs are never reused
   * by one state directory: the state was lost, or two senders share the id). `accepted_*`: accepted by the operator.
   */
  | {
      kind: 'fresh_start' | 'accepted_fresh_start';
      session: string;
      seq: bigint;
      index: number;
      after: string;
      overlaps?: string;
      sameTime?: SameTime;
    };

/**
 * Two sessions of one stream that sealed records at the same time, by the agent's clock (the
 * sealed times of their first and last records, MAC checked: ECS event.created, a CEF start event's
 * rt). One state directory runs one session at a time (its run lock), so two senders use this
 * agent id: another host with the same agent.id, or a copy of the state directory. Said with an
 * undeclared restart or a fresh start, the failure it explains (a clock stepped back at a restart
 * could show the same; the verdict does not depend on it).
 */
export interface SameTime {
  /** The other session, and when each sealed records (epoch ms, first and last). */
  other: string;
  otherSpan: readonly [number, number];
  span: readonly [number, number];
}

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
  /** The seq of the first record received of the session (in the order the data stores them), and its index. */
  firstSeq: bigint;
  firstIndex: number;
  /** The highest seq found `resent` so far: a resend sends its window in seq order. */
  resentTop?: bigint;
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
  ownSessions: OwnPrefix,
  others: OtherSessions,
  findings: Finding[],
): Predecessor | undefined {
  let from = decl.renamedFrom;
  let p: SessionSummary | undefined = from !== undefined && decl.previousSession !== undefined ? others.find(from, decl.previousSession) : undefined;
  if (!p && decl.previousSession !== undefined) {
    // Session ids are unique: the session named, under whichever name its records are, is the run before.
    // So a rename left undeclared (agent-name.json not saved: a stop or crash right after the start event, a
    // failed write; or lost) is no false gap when both names are in the file.
    const owner = others.ownerOf(decl.previousSession);
    if (owner !== undefined) {
      p = others.find(owner, decl.previousSession);
      from = owner;
    }
  }
  if (from === undefined) return undefined;
  if (!p) {
    p = others.latestBefore(from, s.minSeq);
    // A later session of this stream's own comes between: the boundary with the old name is further back.
    if (ownBefore && (!p || ownBefore.minSeq > p.minSeq)) return undefined;
  }
  const info: Finding = { kind: 'renamed', session: s.name, from, lastSeq: decl.lastSeq, held: p !== undefined };
  if (decl.renamedFrom !== from) info.undeclared = true;
  if (decl.previousSession !== undefined) info.previousSession = decl.previousSession;
  findings.push(info);
  if (p && !p.anchored) {
    // Its head is not a start event that verifies: only its first record in the data may be so (the data
    // starts inside it). With a session before it of this stream, of the name it was found under or of the
    // name the start declares (the label is outside the MAC: an editor chooses the name it is found under),
    // its start was deleted (or it is forged).
    const earlier = sessionBefore(p.minSeq, ownSessions.latestBefore(p.minSeq), [others.latestBefore(from, p.minSeq), declaredOld(decl, others, p.minSeq)]);
    if (earlier) findings.push({ kind: 'undeclared_restart', session: p.session, previousSession: earlier });
  }
  return p && otherPredecessor(p);
}

/** The latest session of the old name a start declares it was renamed from that begins before `head` (none without a rename). */
function declaredOld(decl: Declaration, others: OtherSessions, head: bigint): SessionSummary | undefined {
  return decl.renamedFrom !== undefined ? others.latestBefore(decl.renamedFrom, head) : undefined;
}

/**
 * Of the latest session of this stream's own that begins before `head` and those of the lists
 * (latestBefore of each), the one that begins last (the first given of those that begin together); its name.
 */
function sessionBefore(head: bigint, own: SessionView | undefined, others: readonly (SessionSummary | undefined)[]): string | undefined {
  let earlier: { name: string; minSeq: bigint } | undefined = own && own.minSeq < head ? own : undefined;
  for (const x of others) if (x && x.minSeq < head && (!earlier || x.minSeq > earlier.minSeq)) earlier = { name: x.session, minSeq: x.minSeq };
  return earlier?.name;
}

/** The index of the last of the sorted `values` below `v` (-1: none). */
function lastBelow<T>(values: readonly T[], v: bigint, key: (x: T) => bigint): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(values[mid] as T) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** One agent's sessions, indexed: by id (the first of each), and by minSeq (stable: list order among equals). */
interface IndexedList {
  byId: Map<string, SessionSummary>;
  byMinSeq: SessionSummary[];
}

/**
 * Every agent's sessions in a file, by agent id, for checking each agent's stream against the
 * others' (`VerifyContext.agents`: verify without --agent). The same as giving each agent's check
 * `otherAgents` without its own entry, indexed once for all: built per agent, that map was
 * quadratic in the number of agents (a file of 20,000 labels, which any sender to the SIEM can
 * write, took over a minute).
 */
export class AgentSessions {
  /** Per session id, the first two owners (in the map's order) with a session of that id. */
  private owners: Map<string, string[]> | undefined;
  /** Each owner's list, indexed when first asked for: once for every stream checked against it. */
  private readonly indexes = new Map<string, IndexedList>();

  constructor(private readonly lists: ReadonlyMap<string, readonly SessionSummary[]>) {}

  /** `owner`'s sessions, indexed; undefined when the file holds none. */
  of(owner: string): IndexedList | undefined {
    let x = this.indexes.get(owner);
    if (x) return x;
    const list = this.lists.get(owner);
    if (!list) return undefined;
    const byId = new Map<string, SessionSummary>();
    for (const y of list) if (!byId.has(y.session)) byId.set(y.session, y);
    // Array.prototype.sort is stable: sessions that begin together stay in list order.
    x = { byId, byMinSeq: [...list].sort((a, b) => (a.minSeq < b.minSeq ? -1 : a.minSeq > b.minSeq ? 1 : 0)) };
    this.indexes.set(owner, x);
    return x;
  }

  /** The first owner other than `self` holding a session with this id. */
  ownerOf(session: string, self: string | undefined): string | undefined {
    if (!this.owners) {
      this.owners = new Map();
      for (const [owner, list] of this.lists) {
        for (const x of list) {
          const at = this.owners.get(x.session);
          if (!at) this.owners.set(x.session, [owner]);
          else if (at.length < 2 && at[0] !== owner) at.push(owner);
        }
      }
    }
    return this.owners.get(session)?.find((o) => o !== self);
  }
}

/**
 * The other agents' sessions (context.otherAgents, or context.agents without this stream's own),
 * indexed. A start declaring a rename, or a previous session that is not in this stream, scanned
 * all of them, so a file stuffed with such starts (no key needed: they are read from the text)
 * took time in starts times sessions. The answers are the scans': the first in each list.
 */
class OtherSessions {
  private readonly all: AgentSessions;
  private readonly self: string | undefined;

  constructor(context: VerifyContext) {
    if (context.agents) {
      this.all = context.agents.all;
      this.self = context.agents.self;
    } else {
      this.all = new AgentSessions(context.otherAgents ?? new Map());
      this.self = undefined;
    }
  }

  /** The first session of `owner` with this id. */
  find(owner: string, session: string): SessionSummary | undefined {
    return this.of(owner)?.byId.get(session);
  }

  /** The first other owner (in the map's order) holding a session with this id. */
  ownerOf(session: string): string | undefined {
    return this.all.ownerOf(session, this.self);
  }

  /** Of `owner`'s sessions that begin before `head`, the one that begins last (the first in its list of those that begin together). */
  latestBefore(owner: string, head: bigint): SessionSummary | undefined {
    const sorted = this.of(owner)?.byMinSeq;
    if (!sorted) return undefined;
    const i = lastBelow(sorted, head, (x) => x.minSeq);
    if (i < 0) return undefined;
    // The first of those beginning at that seq: sorted stably, it is the first in the list.
    return sorted[lastBelow(sorted, (sorted[i] as SessionSummary).minSeq, (x) => x.minSeq) + 1];
  }

  private of(owner: string): IndexedList | undefined {
    return owner === this.self ? undefined : this.all.of(owner);
  }
}

/**
 * The sessions before the i-th in the order, growing with i (`upTo`): of those that begin
 * before a seq, the one that begins last, the first in the order of those that begin together.
 * It scanned them all for each start that needed it.
 */
class OwnPrefix {
  private readonly seqs: bigint[];
  private readonly rank: Map<bigint, number>;
  private readonly best: Extremes;
  private added = 0;

  constructor(private readonly ordered: readonly SessionView[]) {
    this.rank = ranks(ordered.map((s) => s.minSeq));
    this.seqs = [...this.rank.keys()];
    this.best = new Extremes(this.seqs.length, Math.max, -Infinity);
  }

  /** Takes in the sessions before the i-th. */
  upTo(i: number): void {
    const n = this.ordered.length;
    // rank * n + (n - 1 - j): the highest seq first, then the lowest place in the order.
    for (; this.added < i; this.added++) {
      const r = this.rank.get((this.ordered[this.added] as SessionView).minSeq) as number;
      this.best.put(r, r * n + (n - 1 - this.added));
    }
  }

  latestBefore(head: bigint): SessionView | undefined {
    const below = lastBelow(this.seqs, head, (x) => x);
    if (below < 0) return undefined;
    const v = this.best.over(0, below);
    const n = this.ordered.length;
    return v === -Infinity ? undefined : this.ordered[n - 1 - (v % n)];
  }
}

/** The order sessions are checked in, and what it could not prove. */
interface StreamOrder {
  sessions: SessionView[];
  /**
   * Sessions of a run without its start event, left after the fresh starts because nothing sealed
   * dates them (CEF; a session of one record): the first fresh start, which they may have come before.
   */
  undated: Map<SessionView, SessionView>;
}

/** The first copy of a session's first record. */
function headOf(s: SessionView): Candidate {
  return (s.bySeq.get(s.minSeq) as Candidate[])[0] as Candidate;
}

/**
 * The copy of the record at `seq` whose MAC holds: on a copy of the record before it, or (a start
 * event, a lost-range declaration) on the chain it declares. Undefined when none does, or when
 * nothing before it was received: its content is then not proven.
 */
/** Whether `c` is a start event whose MAC holds on the chain it declares (it can be checked alone). */
function holdsAsStart(c: Candidate): boolean {
  const { e } = c;
  return e.declares !== undefined && computeChain(c.key, e.declares.lastChain, e.session, e.seq, e.msg) === e.chain;
}

function checkedAt(s: SessionView, seq: bigint): Candidate | undefined {
  const before = s.bySeq.get(seq - 1n) ?? [];
  return (s.bySeq.get(seq) ?? []).find((c) => {
    const { e } = c;
    if (seq === s.minSeq && holdsAsStart(c)) return true;
    if (e.declaresLost && computeChain(c.key, e.declaresLost.lastChain, e.session, e.seq, e.msg, 'loss_declaration') === e.chain) return true;
    return before.some((p) => computeChain(c.key, p.e.chain, e.session, e.seq, e.msg) === e.chain);
  });
}

/** The agent's clock (sealed, MAC checked) at the record at `seq`, or undefined. */
function timeAt(s: SessionView, seq: bigint): number | undefined {
  // sealedTimeOf reads only what the agent wrote as its clock: ECS event.created, CEF rt of its own events (class
  // id "logward:…", which no log line has). A log line holding a start text for its own session and seq is an
  // ordinary record, checked on the record before it: its CEF rt is the time the line states (found by review).
  const c = checkedAt(s, seq);
  return c ? sealedTimeOf(c.e.msg) : undefined;
}

const spans = new WeakMap<SessionView, { span: [number, number] | undefined }>();

/** When a session sealed records, by its first and last records that can be dated (MAC checked), or undefined. */
function spanOf(s: SessionView): [number, number] | undefined {
  const known = spans.get(s);
  if (known) return known.span;
  const first = timeAt(s, s.minSeq) ?? timeAt(s, s.minSeq + 1n);
  const last = timeAt(s, s.maxSeq);
  const span: [number, number] | undefined = first !== undefined && last !== undefined && first <= last ? [first, last] : undefined;
  spans.set(s, { span });
  return span;
}

/** Whether `s` and `other` sealed records at the same time (SameTime). */
function sameTime(s: SessionView, other: SessionView): SameTime | undefined {
  const span = spanOf(s);
  const otherSpan = span && spanOf(other);
  if (!span || !otherSpan || !(span[0] < otherSpan[1] && otherSpan[0] < span[1])) return undefined;
  return { other: other.name, otherSpan, span };
}

/**
 * Sessions in the order they ran, as far as the data proves it. Seqs are global to one state
 * directory, so without a fresh start (a start declaring no previous session) that is the order
 * of their lowest seq. A fresh start begins a new stream, its seqs from 0 again: seqs then order
 * nothing across the two. What does:
 * - a start event's declared previous session: a session comes after the one it declares
 *   (lineages: a fresh start and the sessions that declare it, then theirs);
 * - the start events' sealed times (ECS event.created, CEF rt: the agent's clock, inside the MAC):
 *   the fresh starts' lineages in that order (without a time on each: by seq, then by place in the
 *   file, the first taken for the head);
 * - a lineage without a first start (the data begins inside one of its runs, or a run's start event
 *   was deleted) goes before every fresh start only when the last record of each of its sessions
 *   is dated before the first fresh start (MAC checked: ECS event.created, CEF rt of the agent's own
 *   events, such as agent_stopped at a clean stop; sealedTimeOf). That is the old
 *   stream of a file that begins before the state directory was wiped. Else it is checked after
 *   the last fresh start, by seq, where a session without its start is an undeclared restart: the
 *   place a run's records are stored in proves nothing, and a run whose start was deleted with the
 *   run before it must not pass as the old stream. A lineage that begins with its start event (its
 *   MAC holds on the chain it declares; the session it declares is not in this stream: a file that
 *   begins at a restart, a renamed agent's first run) goes there too when that start event's sealed
 *   time (ECS event.created, CEF rt) is before the first fresh start's: it began before the stream
 *   started over, and the fresh start is reported after it.
 */
function streamOrder(all: readonly SessionView[]): StreamOrder {
  const place = new Map(all.map((s, i) => [s, i] as const));
  const seqOrder = (a: SessionView, b: SessionView): number =>
    a.minSeq < b.minSeq ? -1 : a.minSeq > b.minSeq ? 1 : (place.get(a) as number) - (place.get(b) as number);
  const fresh = all.filter(startsFresh);
  if (fresh.length === 0) return { sessions: [...all].sort(seqOrder), undated: new Map() };
  const byName = new Map(all.map((s) => [s.name, s] as const));
  const lineages = new Map<SessionView, SessionView[]>();
  const rootOf = new Map<SessionView, SessionView>();
  for (const s of all) {
    // Back along declared previous sessions that were received, to a root already known or one that
    // declares none received (a loop of edited declarations ends where it closes).
    const path = new Set<SessionView>();
    let at = s;
    let root = rootOf.get(at);
    while (root === undefined) {
      path.add(at);
      const prev = headOf(at).e.declares?.previousSession;
      const p = prev === undefined ? undefined : byName.get(prev);
      if (!p || path.has(p)) root = at;
      else {
        at = p;
        root = rootOf.get(at);
      }
    }
    for (const x of path) rootOf.set(x, root);
    const members = lineages.get(root);
    if (members) members.push(s);
    else lineages.set(root, [s]);
  }
  const starts = new Map(fresh.map((f) => [f, timeAt(f, f.minSeq)] as const));
  const times = [...starts.values()];
  const dated = times.every((t) => t !== undefined);
  const time = (f: SessionView): number => starts.get(f) as number;
  const roots = [...fresh].sort((a, b) => (dated ? time(a) - time(b) : 0) || seqOrder(a, b));
  const firstStart = dated ? time(roots[0] as SessionView) : undefined;
  const head: SessionView[] = [];
  const late: SessionView[] = [];
  const undated = new Map<SessionView, SessionView>();
  for (const [root, members] of lineages) {
    if (starts.has(root)) continue;
    const ends = members.map((m) => timeAt(m, m.maxSeq));
    // A lineage that begins with its start event (its MAC holds on the chain it declares; its previous session is
    // not in this stream: a daily file that begins at a restart, a rename) began, by the agent's clock sealed in
    // that event (CEF too: rt of a start event), before the first fresh start: the stream started over after it.
    // Put after the fresh starts (CEF log events date nothing), it was held against a session of the new stream
    // (a false ALTERED or UNDECLARED RECORDS of an intact file), and the fresh start after a renamed run went
    // unreported: the end of that run was unchecked without --accept-fresh-start (found by review).
    const begun = headOf(root).e.declares !== undefined ? timeAt(root, root.minSeq) : undefined;
    if (firstStart !== undefined && ((begun !== undefined && begun < firstStart) || ends.every((t) => t !== undefined && t < firstStart))) {
      // One by one: spread as arguments, a lineage of some 100,000 sessions overflows the call stack.
      for (const m of members) head.push(m);
      continue;
    }
    for (const m of members) late.push(m);
    if (firstStart === undefined || ends.some((t) => t === undefined)) for (const m of members) undated.set(m, roots[0] as SessionView);
  }
  const groups = roots.map((r) => {
    const rest = (lineages.get(r) as SessionView[]).filter((s) => s !== r);
    if (r === roots[roots.length - 1]) for (const m of late) rest.push(m);
    return [r, ...rest.sort(seqOrder)];
  });
  return { sessions: [...head.sort(seqOrder), ...groups.flat()], undated };
}

/** Whether the session's first record declares no previous session: the first start of a stream ever. */
function startsFresh(s: SessionView): boolean {
  const decl = s.bySeq.get(s.minSeq)?.[0]?.e.declares;
  return decl !== undefined && decl.previousSession === undefined;
}

/**
 * A start that declares no previous session (the first start of a stream ever), in a stream that
 * holds other sessions. Two first starts in one stream prove that it started over. Reported after
 * the sessions before it in streamOrder's order (the later of two first starts by their sealed
 * times, or by seq and place in the file without them); at the head of the stream only when a
 * session that is not a first start shares its seqs. Else the sessions after it are its own later
 * runs, or sessions without a start (undeclared restarts already). With a session before it that
 * sealed records at the same time, it says so (`sameTime`: a second sender, not a state directory
 * rebuilt). What it looks up among the other sessions comes from `places` (FreshStartPlaces).
 */
function freshStart(s: SessionView, i: number, ordered: readonly SessionView[], places: FreshStartPlaces, context: VerifyContext): Finding | undefined {
  const overlap = places.overlap(i);
  // Of the sessions before it, the one right before it by seq (the stream it shares seqs with, after a
  // state directory was lost), else the last one (a new stream's seqs below the old one's).
  const before = places.before(i) ?? ordered[i - 1];
  const after = before ?? (overlap && !startsFresh(overlap) ? overlap : undefined);
  if (!after) return undefined;
  const accept = context.acceptFreshStarts;
  const accepted = accept === true || (accept !== undefined && accept.has(s.name));
  const head = (s.bySeq.get(s.minSeq) as Candidate[])[0] as Candidate;
  const f: Finding = { kind: accepted ? 'accepted_fresh_start' : 'fresh_start', session: s.name, seq: s.minSeq, index: head.index, after: after.name };
  if (overlap) f.overlaps = overlap.name;
  // The latest session before it in the order that sealed records at the same time (at the head: the one it is reported after).
  const same = i > 0 ? places.sameTime(i) : sameTime(s, after);
  if (same) f.sameTime = same;
  return f;
}

/**
 * Max or min of integers over coordinates 0..size-1 (an iterative segment tree), two ways:
 * `cover(lo, hi, v)` marks the coordinates lo..hi and `covering(p)` combines the marks on p
 * (intervals stabbed by a point); `put(p, v)` and `over(lo, hi)` combine what was put at the
 * coordinates lo..hi. O(log size) each; an empty range (lo > hi) gives `none`.
 */
class Extremes {
  private readonly marks: Float64Array;
  private readonly tree: Float64Array;

  constructor(
    private readonly size: number,
    private readonly pick: (a: number, b: number) => number,
    private readonly none: number,
  ) {
    this.marks = new Float64Array(2 * size).fill(none);
    this.tree = new Float64Array(2 * size).fill(none);
  }

  cover(lo: number, hi: number, v: number): void {
    for (let l = lo + this.size, r = hi + this.size + 1; l < r; l >>= 1, r >>= 1) {
      if (l & 1) this.marks[l] = this.pick(this.marks[l++] as number, v);
      if (r & 1) this.marks[--r] = this.pick(this.marks[r] as number, v);
    }
  }

  covering(p: number): number {
    let v = this.none;
    for (let i = p + this.size; i >= 1; i >>= 1) v = this.pick(v, this.marks[i] as number);
    return v;
  }

  put(p: number, v: number): void {
    for (let i = p + this.size; i >= 1; i >>= 1) this.tree[i] = this.pick(this.tree[i] as number, v);
  }

  over(lo: number, hi: number): number {
    let v = this.none;
    for (let l = lo + this.size, r = hi + this.size + 1; l < r; l >>= 1, r >>= 1) {
      if (l & 1) v = this.pick(v, this.tree[l++] as number);
      if (r & 1) v = this.pick(v, this.tree[--r] as number);
    }
    return v;
  }
}

/** Sorted distinct values and each one's rank: coordinates for Extremes. */
function ranks<T extends number | bigint>(values: Iterable<T>): Map<T, number> {
  const sorted = [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return new Map(sorted.map((v, i) => [v, i] as const));
}

/**
 * What freshStart looks up among the other sessions, for every fresh start of the stream, in
 * O(n log n) for n sessions: it scanned every session before each fresh start, so a file stuffed
 * with one-record fresh starts (no key needed: a start event that does not verify is still a
 * session) took quadratic time. The answers are those scans' exactly:
 * - `overlap(i)`: the first session in the order, other than the i-th, whose seqs (minSeq..maxSeq)
 *   share one with its;
 * - `before(i)`: of the sessions before the i-th in the order, the one with the highest minSeq not
 *   above its (the last one of those in the order);
 * - `sameTime(i)`: the last session before the i-th in the order that sealed records at the same
 *   time (sameTime), or undefined.
 * Built on first use: a stream without a fresh start after its head never pays for it.
 */
class FreshStartPlaces {
  private overlaps: ((i: number) => number) | undefined;
  private swept: Map<number, { before: number; same: number }> | undefined;

  constructor(private readonly ordered: readonly SessionView[]) {}

  overlap(i: number): SessionView | undefined {
    this.overlaps ??= this.overlapIndex();
    const j = this.overlaps(i);
    return j === Infinity ? undefined : this.ordered[j];
  }

  before(i: number): SessionView | undefined {
    const j = this.sweep().get(i)?.before ?? -1;
    return j < 0 ? undefined : this.ordered[j];
  }

  sameTime(i: number): SameTime | undefined {
    const j = this.sweep().get(i)?.same ?? -1;
    const s = this.ordered[i];
    const o = j < 0 ? undefined : this.ordered[j];
    return s && o ? sameTime(s, o) : undefined;
  }

  /**
   * Closed ranges [a, b] (a session's seqs) meeting [S, E] (the i-th's): those with a < S <= b
   * (stabbed at S), those with a = S, and those with S < a <= E. The first in the order of each.
   */
  private overlapIndex(): (i: number) => number {
    const list = this.ordered;
    const rank = ranks(list.flatMap((s) => [s.minSeq, s.maxSeq]));
    const pos = (q: bigint): number => rank.get(q) as number;
    const t = new Extremes(rank.size, Math.min, Infinity);
    /** Per minSeq, the first two sessions in the order that begin there (one of them may be the i-th itself). */
    const starting = new Map<number, number[]>();
    list.forEach((s, j) => {
      const a = pos(s.minSeq);
      const b = pos(s.maxSeq);
      if (a + 1 <= b) t.cover(a + 1, b, j);
      t.put(a, j);
      const at = starting.get(a);
      if (!at) starting.set(a, [j]);
      else if (at.length < 2) at.push(j);
    });
    return (i) => {
      const s = list[i] as SessionView;
      const a = pos(s.minSeq);
      const same = (starting.get(a) ?? []).find((j) => j !== i) ?? Infinity;
      return Math.min(t.covering(a), same, t.over(a + 1, pos(s.maxSeq)));
    };
  }

  /** before and sameTime of every fresh start after the head, in one pass over the order. */
  private sweep(): Map<number, { before: number; same: number }> {
    if (this.swept) return this.swept;
    const list = this.ordered;
    const n = list.length;
    const queries = list.flatMap((s, i) => (i > 0 && startsFresh(s) ? [i] : []));
    const seqRank = ranks(list.map((s) => s.minSeq));
    // The highest minSeq not above the i-th's, the last such in the order: max of rank * n + index.
    const bySeq = new Extremes(seqRank.size, Math.max, -Infinity);
    // Sessions sealing records at the same time: their spans (epoch ms, first..last) meet, a < E and S < b,
    // for [a, b] before it and [S, E] its own. Only when a fresh start has a span: spans cost MAC checks.
    const timed = queries.some((i) => spanOf(list[i] as SessionView) !== undefined);
    const spanList = timed ? list.map(spanOf) : [];
    const timeRank = ranks(spanList.flatMap((x) => x ?? []));
    const tpos = (ms: number): number => timeRank.get(ms) as number;
    const byTime = new Extremes(timeRank.size, Math.max, -Infinity);
    /** Per start time, the last session in the order that begins there and ends later. */
    const lasting = new Map<number, number>();
    const out = new Map<number, { before: number; same: number }>();
    let q = 0;
    for (let j = 0; j < n; j++) {
      const s = list[j] as SessionView;
      const sp = spanList[j];
      if (queries[q] === j) {
        q++;
        const top = bySeq.over(0, seqRank.get(s.minSeq) as number);
        let same = -1;
        if (sp) {
          const [a, b] = [tpos(sp[0]), tpos(sp[1])];
          // Spans stabbed at S (a' < S < b'); then, for a span of its own length, those beginning at S that end
          // later, and those beginning inside it (S < a' < E).
          same = byTime.covering(a);
          if (a < b) same = Math.max(same, lasting.get(a) ?? -1, byTime.over(a + 1, b - 1));
        }
        out.set(j, { before: top === -Infinity ? -1 : top % n, same: same === -Infinity ? -1 : same });
      }
      bySeq.put(seqRank.get(s.minSeq) as number, (seqRank.get(s.minSeq) as number) * n + j);
      if (sp) {
        const [a, b] = [tpos(sp[0]), tpos(sp[1])];
        if (a + 1 <= b - 1) byTime.cover(a + 1, b - 1, j);
        byTime.put(a, j);
        if (a < b) lasting.set(a, j);
      }
    }
    this.swept = out;
    return out;
  }
}

/** Whether a copy received of the next record (`next`) is chained on `c`: its MAC holds on c's chain. */
function chainedOn(c: Candidate, next: readonly Candidate[] | undefined): boolean {
  return next !== undefined && next.some((n) => computeChain(n.key, c.e.chain, n.e.session, n.e.seq, n.e.msg) === n.e.chain);
}

function sameMsg(a: Buffer | string, b: Buffer | string): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}

export function verifyStream(entries: readonly SealedEntry[], keys: ReadonlyMap<string, Buffer>, context: VerifyContext = {}): VerifyReport {
  const findings: Finding[] = [];
  const sessions = new Map<string, SessionView>();
  /** The different copies received of each session and seq (`session\0seq`). */
  const seen = new Map<string, SealedEntry[]>();
  let replays = 0;
  const inputOf = context.inputOf;
  /** The session of the data's first record: only its records can have first copies before the data begins. */
  let head: SessionView | undefined;

  // Pass 1: received order.
  entries.forEach((e, index) => {
    const key = keys.get(e.kid);
    if (!key) {
      findings.push({ kind: 'forged', session: e.session, seq: e.seq, index, reason: `unknown key id "${e.kid}"`, kid: e.kid });
      return;
    }
    const id = `${e.session}\u0000${e.seq}`;
    const copies = seen.get(id);
    // Identical to any copy received before (not only the first): a replay of an inserted copy is no second finding.
    if (copies?.some((prior) => prior.chain === e.chain && sameMsg(prior.msg, e.msg))) {
      replays++;
      findings.push({ kind: 'replay', session: e.session, seq: e.seq, index });
      return;
    }
    if (copies === undefined) seen.set(id, [e]);
    else copies.push(e);
    let s = sessions.get(e.session);
    if (!s) {
      s = { name: e.session, bySeq: new Map(), maxSeq: e.seq, firstSeq: e.seq, firstIndex: index, minSeq: e.seq, chains: new Map() };
      sessions.set(e.session, s);
      head ??= s;
    } else if (e.seq < s.maxSeq && copies === undefined) {
      // Below everything received of its session so far, in the file that began with it: the agent resent
      // it after a reconnect, and its first copy is in what came before the data (the previous day's file,
      // checked alone). That proves nothing and hides nothing: a record missing where it was is still a gap
      // in seq order. Between two seqs already received, or in a later file, it is out of place. So is one
      // below a record resent before it (a resend sends its window in seq order; a window sent again is
      // replays up to where the last one stopped), and one of a session after the data's first: its first
      // copies came after the records before it in the data, so they are in the data (found by review:
      // a session's record moved to the front made a shuffle of all the rest RESENT).
      const resent =
        s === head &&
        e.seq < s.firstSeq &&
        (s.resentTop === undefined || e.seq > s.resentTop) &&
        (inputOf === undefined || inputOf[index] === inputOf[s.firstIndex]);
      if (resent) s.resentTop = e.seq;
      findings.push({ kind: resent ? 'resent' : 'reorder', session: e.session, seq: e.seq, index });
    }
    if (e.seq > s.maxSeq) s.maxSeq = e.seq;
    if (e.seq < s.minSeq) s.minSeq = e.seq;
    const list = s.bySeq.get(e.seq);
    if (list) list.push({ e, index, key });
    else s.bySeq.set(e.seq, [{ e, index, key }]);
  });

  // A session's head: of different copies, a start event whose MAC holds on the chain it declares stands for
  // it (in the order, the declarations and pass 2), wherever it is stored: a record stored before it with its
  // session and seq is the edit (pass 2), not the head.
  for (const s of sessions.values()) {
    const cands = s.bySeq.get(s.minSeq) as Candidate[];
    if (cands.length < 2) continue;
    const i = cands.findIndex(holdsAsStart);
    if (i > 0) cands.unshift(...cands.splice(i, 1));
  }

  // Pass 2: per session, in seq order; sessions in the order streamOrder proves, never by where
  // their records sit in the file: only the head of the stream may start without a declaration
  // (a stream that begins mid-session), whatever order the file was stored in.
  const order = streamOrder([...sessions.values()]);
  const ordered = order.sessions;
  const places = new FreshStartPlaces(ordered);
  const others = new OtherSessions(context);
  const ownPrefix = new OwnPrefix(ordered);
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
      // A session's first record received that is no start event: only the zero chain of the first event ever
      // (at the head of the stream) could anchor it.
      const unanchoredHead = prevSeq === null && !cands[0]?.e.declares;
      if (anchor !== null) {
        const a: string = anchor;
        accepted = cands.find((c) => computeChain(c.key, a, c.e.session, c.e.seq, c.e.msg) === c.e.chain);
      }
      if (anchor === null || (unanchoredHead && !accepted)) {
        if (prevSeq === null) findings.push({ kind: 'unanchored', session: s.name, seq });
        // Nothing received before this record checks it (the head of the data, or after a gap). Different
        // copies are still an edit: the agent seals one record per seq, so at most one is on the chain (each
        // was reported UNANCHORED at the head and the file passed: found by review). So is a declaration that
        // does not verify on its own declared chain (it would excuse the gap).
        const next = s.bySeq.get(seq + 1n);
        const kept = cands.length > 1 ? (cands.find((c) => chainedOn(c, next)) ?? (cands[0] as Candidate)) : (cands[0] as Candidate);
        if (kept.e.declaresLost && prevSeq !== null) findings.push({ kind: 'altered', session: s.name, seq, index: kept.index });
        if (cands.length > 1) {
          // Proven by the next record when it is chained on the copy kept and on no other (a copy with the same
          // chain and another MSG is not told apart by it).
          const byNext = cands.every((c) => chainedOn(c, next) === (c === kept));
          for (const c of cands) {
            if (c !== kept) findings.push({ kind: 'altered', session: s.name, seq, index: c.index, copyOf: kept.index, ...(byNext ? { byNext } : {}) });
          }
        }
        accepted = kept;
      } else {
        for (const c of cands) if (c !== accepted) findings.push({ kind: 'altered', session: s.name, seq, index: c.index });
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
      if (!before) return;
      const f: Finding = { kind: 'undeclared_restart', session: s.name, previousSession: before.name };
      const fresh = order.undated.get(s);
      if (fresh) f.undatedBefore = fresh.name;
      const same = sameTime(s, before);
      if (same) f.sameTime = same;
      findings.push(f);
      return;
    }
    restarts++;
    const r: Finding = { kind: 'restart', session: s.name, lastSeq: decl.lastSeq, firstSeq: s.minSeq };
    if (decl.previousSession !== undefined) r.previousSession = decl.previousSession;
    findings.push(r);
    if (decl.previousSession === undefined && ordered.length > 1) {
      const fresh = freshStart(s, i, ordered, places, context);
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
      const earlier = sessionBefore(named.minSeq, undefined, [declaredOld(decl, others, named.minSeq)]);
      if (earlier) findings.push({ kind: 'undeclared_restart', session: named.name, previousSession: earlier });
    }
    // The sessions before it in the order proven, not all of them by seq: after a fresh start the new stream's
    // seqs are below the old name's, and its sessions, sealed later, would pass for sessions before that one.
    if (!p && (decl.renamedFrom !== undefined || decl.previousSession !== undefined)) {
      ownPrefix.upTo(i);
      p = renamedPredecessor(s, decl, ordered[i - 1], ownPrefix, others, findings);
    }
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
