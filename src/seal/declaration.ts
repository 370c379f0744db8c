/**
 * The lost-range declaration: what a record says when the queue sealed records
 * and then failed to write them (a write or fsync error other than ENOSPC; see
 * src/queue/README.md "Lost ranges"). Those seqs and chain steps are spent, so
 * the receiver would see a gap and a chain that does not link; the record the
 * queue seals right after them declares the range instead, the way the
 * agent-start event declares a restart.
 *
 * The text is written here and read back here (received.ts), so writer and
 * reader cannot drift apart. Like the start declaration it lives in MSG, which
 * the chain covers (never in SD, which it does not), and it counts only when
 * it names the record's own session and seq. It carries the chain after the
 * last lost seq: the declaring record is chained on that value, so a verifier
 * can check the declaration's own MAC and go on from there, although the lost
 * records themselves are unknown to it.
 */

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
