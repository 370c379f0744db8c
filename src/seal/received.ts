/**
 * Reads what a receiver stored back into sealed entries for the verifier: one
 * RFC 5424 message per line (rsyslog's %rawmsg%, `logward receive`), the seal
 * in the agent's SD element, and, on an agent-start event, the declaration of
 * where the previous session ended. The declaration is read from MSG (which
 * the chain covers), never from SD (which it does not).
 */
import { parseRfc5424 } from '../encode/rfc5424.js';
import type { Declaration, SealedEntry } from './verify.js';

const DECLARATION = /previous session ([0-9a-f]{8,64}) last_seq (none|\d+) last_chain ([0-9a-f]{64})/;
const START = /logward \S+ started; session ([0-9a-f]{8,64}) first_seq (\d+); /;

export type ReceivedLine = { ok: true; entry: SealedEntry } | { ok: false; reason: string };

export function parseReceivedLine(line: string, sdId: string): ReceivedLine {
  let msg;
  try {
    msg = parseRfc5424(line);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const el = msg.sd.find((e) => e.id === sdId);
  if (!el) return { ok: false, reason: `no ${sdId} structured data` };
  const p = new Map(el.params);
  const session = p.get('session');
  const seq = p.get('seq');
  const chain = p.get('chain');
  const kid = p.get('kid');
  if (!session || !seq || !/^\d+$/.test(seq) || !chain || !kid) return { ok: false, reason: 'not sealed (session/seq/kid/chain missing)' };
  const body = msg.msg ?? '';
  const entry: SealedEntry = { session, seq: BigInt(seq), chain, kid, msg: body };
  const start = START.exec(body);
  if (start && start[1] === session) {
    const d = DECLARATION.exec(body);
    const declares: Declaration = d ? { previousSession: d[1]!, lastSeq: d[2] === 'none' ? null : BigInt(d[2]!), lastChain: d[3]! } : { lastSeq: null, lastChain: '0'.repeat(64) };
    entry.declares = declares;
  }
  return { ok: true, entry };
}
