/**
 * The two declarations a record can make about the stream, written here and
 * read back here (received.ts), so writer and reader cannot drift apart:
 *
 * - the agent-start declaration (`startText`): where the previous run ended,
 *   so a restart is a declared boundary and not a gap (README.md "Sequence
 *   numbers");
 * - the lost-range declaration (`lossText`): what a record says when the
 *   queue sealed records and then failed to write them (a write or fsync
 *   error other than ENOSPC; see src/queue/README.md "Lost ranges"). Those
 *   seqs and chain steps are spent, so the receiver would see a gap and a
 *   chain that does not link; the record the queue seals right after them
 *   declares the range instead, the way the agent-start event declares a
 *   restart.
 *
 * Both live in MSG, which the chain covers (never in SD, which it does not),
 * and count only when they name the record's own session and seq. The loss
 * declaration carries the chain after the last lost seq: the declaring record
 * is chained on that value, so a verifier can check the declaration's own MAC
 * and go on from there, although the lost records themselves are unknown to it.
 */
import type { StartDeclaration } from './session.js';

/**
 * The agent-start event's message (src/pipeline.ts). `renamedFrom`: the agent
 * id the stream was sealed under before this one (agent-name.ts), written only
 * when there is a previous session to continue; without it the text is what
 * every earlier version wrote, byte for byte.
 */
export function startText(d: StartDeclaration, version: string, renamedFrom?: string): string {
  const head = `logward ${version} started; session ${d.session} first_seq ${d.firstSeq}; `;
  if (d.previousSession === undefined) return head + 'no previous session';
  const prev = `previous session ${d.previousSession} last_seq ${d.lastSeq ?? 'none'} last_chain ${d.lastChain}`;
  return head + prev + (renamedFrom !== undefined ? `; renamed from agent ${renamedFrom}` : '');
}

/** What a verifier reads from a start event (the session and first seq are the record's own). */
export interface DeclaredStart {
  /** Undefined at the first start ever ("no previous session"). */
  previousSession?: string;
  lastSeq: bigint | null;
  lastChain: string;
  /** The agent id the previous session was sealed under, when the agent was renamed. */
  renamedFrom?: string;
}

/** startText's declaration right after the session and first seq (one match, never two pieces). */
const START =
  /logward \S+ started; session ([0-9a-f]{8,64}) first_seq (\d+); (?:previous session ([0-9a-f]{8,64}) last_seq (none|\d+) last_chain ([0-9a-f]{64})(?:; renamed from agent ([!-~]{1,255})(?=$| ))?|no previous session)/;
/** Cheap test before decoding a record's MSG: every start text holds it. */
export const START_HINT = 'started; session ';

/**
 * The start declaration in `text`, or undefined. Only a text naming this
 * record's own session and seq counts (the same text inside another record
 * declares nothing). The renamed agent id is exact only in a decoded message
 * (the JSON string or the CEF value: received.ts): in raw MSG bytes a quote,
 * a backslash or `=` in it would still be escaped, and the JSON or CEF text
 * after it could be taken for part of it.
 */
export function readStartText(text: string, session: string, seq: bigint): DeclaredStart | undefined {
  const m = START.exec(text);
  if (!m || m[1] !== session || m[2] !== String(seq)) return undefined;
  if (m[3] === undefined) return { lastSeq: null, lastChain: '0'.repeat(64) };
  const d: DeclaredStart = { previousSession: m[3], lastSeq: m[4] === 'none' ? null : BigInt(m[4] as string), lastChain: m[5] as string };
  if (m[6] !== undefined) d.renamedFrom = m[6];
  return d;
}

const START_AT_HEAD = new RegExp(`^(?:${START.source})`);

/**
 * How many UTF-8 bytes at the start of an internal event's message are its
 * declaration (a start text, the rename included, or a lost-range text), or 0.
 * A cut to output.max_message_bytes (src/pipeline.ts fit) must keep them:
 * `logward verify` reads the declaration there, and a start event that lost
 * its rename (the end of its text) or its chain declares nothing it can use.
 * Measured with the reader's own patterns, so the part kept is the part read.
 */
export function declarationBytes(message: string): number {
  const m = START_AT_HEAD.exec(message) ?? LOSS_AT_HEAD.exec(message);
  return m ? Buffer.byteLength(m[0]) : 0;
}

/** The lost seqs, as the queue reports them (src/queue/disk-queue.ts LostRange has this shape). */
export interface LostSeqs {
  /** First and last seq sealed and never written (inclusive; consecutive seqs of one session). */
  firstSeq: bigint;
  lastSeq: bigint;
  /** The chain after lastSeq (hex): the declaring record is chained on it. */
  lastChain: string;
  /** Why: the errno code of the failure (EIO, ...), or "error" when it had none. */
  cause: string;
}

/** What the declaring record states (Sealer.lossDeclaration). */
export interface LossDeclaration extends LostSeqs {
  session: string;
  /** The declaring record's own seq: lastSeq + 1 (it is sealed right after the range). */
  seq: bigint;
}

/** What a verifier reads from a declaring record (the session and seq are the record's own). */
export type DeclaredLoss = LostSeqs;

const CAUSE_RE = /^[A-Z][A-Z0-9_]{0,31}$/;

/** The declaration as text (the start of the event's message; the chain covers it). */
export function lossText(d: LossDeclaration, version: string): string {
  const cause = CAUSE_RE.test(d.cause) ? d.cause : 'error';
  return (
    `logward ${version} lost records; session ${d.session} seq ${d.seq} declares seq ${d.firstSeq}..${d.lastSeq} ` +
    `sealed but never written, last_chain ${d.lastChain}; cause ${cause}`
  );
}

const LOSS =
  /logward \S+ lost records; session ([0-9a-f]{8,64}) seq (\d{1,20}) declares seq (\d{1,20})\.\.(\d{1,20}) sealed but never written, last_chain ([0-9a-f]{64}); cause ([A-Z][A-Z0-9_]{0,31}|error)/;
const LOSS_AT_HEAD = new RegExp(`^(?:${LOSS.source})`);
const LOSS_HINT = Buffer.from(' lost records; session ');

/**
 * The declaration in a record's MSG, or undefined. Only a text naming this
 * record's own session and seq counts (the same text inside another record —
 * a log line quoting one — declares nothing). Whether the range and chain fit
 * the stream is the verifier's business (src/seal/verify.ts).
 */
export function readLossText(msg: Buffer | string, session: string, seq: bigint): DeclaredLoss | undefined {
  if (typeof msg === 'string' ? !msg.includes(' lost records; session ') : msg.indexOf(LOSS_HINT) === -1) return undefined;
  const m = LOSS.exec(typeof msg === 'string' ? msg : msg.toString('utf8'));
  if (!m || m[1] !== session || m[2] !== String(seq)) return undefined;
  return { firstSeq: BigInt(m[3] as string), lastSeq: BigInt(m[4] as string), lastChain: m[5] as string, cause: m[6] as string };
}
