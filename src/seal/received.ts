/**
 * Reads what a receiver stored back into sealed entries for the verifier.
 *
 * Stored forms (README.md "Receiver formats" lists the receiver templates):
 * - lines: one record per LF-terminated line. The seal is found by scanning
 *   for our SD element, `[<sd-id> ` (SD-ID, then a space: our element always
 *   has params), wherever the receiver's template put it: at the start of an
 *   RFC 5424 line (`logward receive`, rsyslog %rawmsg%), after the header that
 *   RSYSLOG_SyslogProtocol23Format or syslog-ng's `flags(syslog-protocol)`
 *   re-render, or after `TIMESTAMP HOST APP[PID]: ` when a template writes the
 *   structured data before the message (syslog-ng `$MSGHDR$SDATA $MSG`). From
 *   our element on, every following SD element is skipped and the MSG is
 *   everything after the structured data and ONE space (none: empty MSG).
 * - frames: a capture of the TLS plaintext, `LEN SP MSG` back to back
 *   (RFC 5425), decoded by the sink's FrameDecoder; each frame is a record.
 * - auto: frames when the first bytes are a frame header whose payload is a
 *   syslog message (`<`), lines otherwise.
 *
 * Traps
 * - The MSG is kept as bytes, never decoded: a changed byte that is not valid
 *   UTF-8 would decode to U+FFFD, re-encode to different bytes, and a record
 *   that held a literal U+FFFD could be altered unseen.
 * - The first occurrence of the marker is the real SD: the header fields that
 *   precede it cannot contain a space, and a marker inside MSG comes after it.
 *   Our encoders escape `"` in MSG (JSON, CEF), so a fake SD inside a genuine
 *   MSG never parses as ours anyway.
 * - Templates that drop the structured data (rsyslog's RSYSLOG_FileFormat,
 *   RSYSLOG_TraditionalFileFormat and its omfile default; syslog-ng's default
 *   file template) leave nothing to verify: such lines are `foreign`, and
 *   `looksUnsealedLogward` lets the command say why.
 * - The start declaration, and a lost-range declaration (declaration.ts),
 *   are read from MSG (which the chain covers), never from SD (which it does
 *   not), and only when their text names this record's own session and seq.
 *   A start declaration only from the agent's start event (its event.module
 *   and action, CEF class id), at the head of its message: a log line can
 *   hold the same text and is sealed as an ordinary record.
 *   A start event's agent id (ECS agent.id, CEF deviceExternalId) and the
 *   agent it was renamed from are read from the decoded payload: an id may
 *   hold a quote, a backslash or "=", escaped on the wire.
 * - A line may end in CR (a receiver writing CRLF); one trailing CR is not
 *   part of the record. A leading UTF-8 BOM of MSG is dropped, as RFC 5424
 *   parsing does (our sender never writes one).
 */
import { CefDecodeError, decodeCef, type CefEvent } from '../encode/cef.js';
import { AGENT_PARSER } from '../event/classify.js';
import { FrameDecoder } from '../sink/framing.js';
import { declarationBytes, readLossText, readStartText, START_HINT as START_HINT_TEXT } from './declaration.js';
import type { Declaration, SealedEntry } from './verify.js';

const START_HINT = Buffer.from(START_HINT_TEXT);

const LB = 0x5b;
const RB = 0x5d;
const SP = 0x20;
const EQ = 0x3d;
const QUOTE = 0x22;
const BSL = 0x5c;
const LF = 0x0a;
const CR = 0x0d;

const CHAIN_RE = /^[0-9a-f]{64}$/;
const SEQ_RE = /^\d{1,20}$/;
const TOKEN_RE = /^[\x21-\x7e]{1,128}$/;

export type RecordParse =
  | { ok: true; entry: SealedEntry }
  /** foreign: no SD element of ours at all (another host's line, or a template that dropped the SD). */
  | { ok: false; foreign: boolean; reason: string; session?: string; seq?: string };

export type ReceivedLine = { ok: true; entry: SealedEntry } | { ok: false; reason: string };

interface SdScan {
  params: Map<string, string> | undefined;
  end: number;
  error?: string;
}

/** SD-NAME: printable ASCII except = SP ] ", 1..32 characters. */
function nameEnd(b: Buffer, i: number): number {
  let j = i;
  while (j < b.length) {
    const c = b[j] as number;
    if (c < 33 || c > 126 || c === EQ || c === RB || c === QUOTE) break;
    j++;
  }
  return j - i >= 1 && j - i <= 32 ? j : -1;
}

/**
 * Parses consecutive SD elements starting at b[i] === '['. Returns the params
 * of the element named `sdId` (the first element, by construction) and the
 * offset after the last element.
 */
function scanSd(b: Buffer, i: number, sdId: string): SdScan {
  let ours: Map<string, string> | undefined;
  while (b[i] === LB) {
    const idEnd = nameEnd(b, i + 1);
    if (idEnd === -1) return { params: ours, end: i, error: `bad SD-ID at byte ${i + 1}` };
    const id = b.toString('latin1', i + 1, idEnd);
    const mine = id === sdId;
    if (mine && ours) return { params: ours, end: i, error: `a second ${sdId} element at byte ${i}` };
    const params = new Map<string, string>();
    i = idEnd;
    while (b[i] === SP) {
      const ne = nameEnd(b, i + 1);
      if (ne === -1) return { params: ours, end: i, error: `bad PARAM-NAME at byte ${i + 1}` };
      const name = b.toString('latin1', i + 1, ne);
      if (b[ne] !== EQ || b[ne + 1] !== QUOTE) return { params: ours, end: ne, error: `expected =" after ${name} at byte ${ne}` };
      i = ne + 2;
      let value = '';
      let from = i;
      for (;;) {
        if (i >= b.length) return { params: ours, end: i, error: `unterminated value of ${name}` };
        const c = b[i] as number;
        if (c === QUOTE) break;
        if (c === RB) return { params: ours, end: i, error: `unescaped "]" in the value of ${name} at byte ${i}` };
        if (c === BSL) {
          const d = b[i + 1];
          if (d === QUOTE || d === BSL || d === RB) {
            if (mine) value += b.toString('utf8', from, i);
            i += 2;
            from = i - 1;
            continue;
          }
        }
        i++;
      }
      if (mine) {
        value += b.toString('utf8', from, i);
        if (params.has(name)) return { params: ours, end: i, error: `${name} given twice in ${sdId}` };
        params.set(name, value);
      }
      i++;
    }
    if (b[i] !== RB) return { params: ours, end: i, error: `expected "]" or a parameter at byte ${i}` };
    i++;
    if (mine) ours = params;
  }
  return { params: ours, end: i };
}

/** The marker searched for: `[<sd-id> `. Cached: verify reads one SD-ID per run. */
let markerFor = '';
let marker = Buffer.alloc(0);

/** One stored record (a line without its LF, or a frame's payload) -> a sealed entry. Pure. */
export function parseSealedRecord(record: Buffer, sdId: string): RecordParse {
  if (sdId !== markerFor) {
    markerFor = sdId;
    marker = Buffer.from(`[${sdId} `, 'latin1');
  }
  const at = record.indexOf(marker);
  if (at === -1) {
    const bare = record.indexOf(`[${sdId}]`, 0, 'latin1');
    return bare === -1
      ? { ok: false, foreign: true, reason: `no ${sdId} structured data` }
      : { ok: false, foreign: false, reason: `${sdId} element carries no seal (no parameters)` };
  }
  const sd = scanSd(record, at, sdId);
  const p = sd.params;
  const session = p?.get('session');
  const seq = p?.get('seq');
  const partial = { ...(session !== undefined ? { session } : {}), ...(seq !== undefined ? { seq } : {}) };
  if (sd.error !== undefined) return { ok: false, foreign: false, reason: `structured data: ${sd.error}`, ...partial };
  if (!p) return { ok: false, foreign: false, reason: `no ${sdId} element`, ...partial };
  const chain = p.get('chain');
  const kid = p.get('kid');
  const missing = (['session', 'seq', 'kid', 'chain'] as const).filter((k) => !p.has(k));
  if (missing.length > 0) return { ok: false, foreign: false, reason: `not sealed (${missing.join(', ')} missing)`, ...partial };
  if (!TOKEN_RE.test(session as string)) return { ok: false, foreign: false, reason: 'session is not a token', ...partial };
  if (!SEQ_RE.test(seq as string)) return { ok: false, foreign: false, reason: `seq "${seq}" is not a number`, ...partial };
  if (!TOKEN_RE.test(kid as string)) return { ok: false, foreign: false, reason: 'kid is not a token', ...partial };
  if (!CHAIN_RE.test(chain as string)) return { ok: false, foreign: false, reason: 'chain is not 64 lowercase hex characters', ...partial };
  let end = sd.end;
  let msg: Buffer;
  if (end === record.length) {
    msg = record.subarray(end);
  } else if (record[end] === SP) {
    end++;
    if (record[end] === 0xef && record[end + 1] === 0xbb && record[end + 2] === 0xbf) end += 3;
    msg = record.subarray(end);
  } else {
    return { ok: false, foreign: false, reason: `expected a space between the structured data and MSG at byte ${end}`, ...partial };
  }
  const entry: SealedEntry = { session: session as string, seq: BigInt(seq as string), chain: chain as string, kid: kid as string, msg };
  const agent = p.get('agent');
  if (agent !== undefined) entry.agent = agent;
  const declares = startDeclaration(msg, entry);
  if (declares) entry.declares = declares;
  const lost = readLossText(msg, entry.session, entry.seq);
  if (lost) entry.declaresLost = lost;
  return { ok: true, entry };
}

/**
 * The declaration of an agent-start event, read from its MSG; undefined for
 * any other record. Sets `e.sealedAgent` from the same MSG.
 *
 * Only the agent's own start event declares (src/event/internal.ts startSpec):
 * ECS `event.module` "logward" and `event.action` "agent_started", CEF class id
 * "logward:agent_started", its message beginning with the declaration. A log
 * line may hold the same text for its own session and seq (whoever writes a
 * line the agent reads can read both off the SIEM), and the agent seals it as
 * an ordinary record: its event.module is its parser's name, never "logward"
 * (a line cannot set it: src/parse/reserved-fields.ts; parsers are named in
 * config.schema.json), and so is its CEF class id's prefix (classify.ts). All
 * of it is inside the MAC. Taken for a start event, such a line failed intact
 * files: ALTERED START under `verify --agent` for another agent (its seal does
 * not verify on the chain its text declares), ALTERED at the head of the data
 * (found by review). An edited record that no longer looks like a start event
 * is one whose start text was edited away, as before: a session without its
 * start. A payload that does not decode (edited, or another format than the
 * agent's) is read as raw text, as before.
 */
function startDeclaration(msg: Buffer, e: SealedEntry): Declaration | undefined {
  if (msg.indexOf(START_HINT) === -1) return undefined;
  const payload = payloadOf(msg);
  // Session, seqs and chains are hex and digits: the raw bytes hold them as written, in any format.
  if (payload === undefined) return readStartText(msg.toString('utf8'), e.session, e.seq);
  if (!payload.start || payload.message === undefined) return undefined;
  // The declaration at the head of the decoded message (ASCII: its bytes are its characters). The renamed
  // agent id is any printable ASCII: read from the decoded message, never from escaped bytes.
  const declared = readStartText(payload.message.slice(0, declarationBytes(payload.message)), e.session, e.seq);
  if (!declared) return undefined;
  if (payload.agent !== undefined) e.sealedAgent = payload.agent;
  return declared;
}

/** What decodedPayload reads of an ECS or CEF payload (all of it inside the MAC). */
interface Payload {
  agent?: string;
  message?: string;
  /** The agent's own start event (ECS event.module "logward" and event.action "agent_started"; CEF class id "logward:agent_started"). */
  start: boolean;
  /** The agent's clock at the event (epoch ms): sealedTimeOf. */
  time?: number;
}

/** An internal event's class id (src/event/classify.ts: "logward:<action>"). */
const START_CLASS_ID = `${AGENT_PARSER}:agent_started`;
/** The class ids of the agent's own events: a line's begins with its parser's name, never this. */
const AGENT_CLASS_PREFIX = `${AGENT_PARSER}:`;

/** The formats decodedPayload reads, by the MSG's first bytes. */
function payloadFormat(msg: Buffer | string): 'ecs' | 'cef' | undefined {
  if (typeof msg === 'string') return msg.startsWith('{') ? 'ecs' : msg.startsWith('CEF:') ? 'cef' : undefined;
  return msg[0] === 0x7b ? 'ecs' : msg.length >= 4 && msg.toString('latin1', 0, 4) === 'CEF:' ? 'cef' : undefined;
}

/**
 * Each MSG's decoded payload, decoded once: a start event's is read when it is parsed (its declaration
 * and agent id), again for its agent's sealed id (the command's owner check) and for its time (the
 * verifier orders sessions by it). Keyed by the MSG buffer a SealedEntry holds (a view of the data read,
 * never written to afterwards); a MSG held as a string is decoded each time.
 */
const payloads = new WeakMap<Buffer, Payload | null>();

function payloadOf(msg: Buffer | string): Payload | undefined {
  if (typeof msg === 'string') return decodedPayload(msg);
  const known = payloads.get(msg);
  if (known !== undefined) return known ?? undefined;
  const p = payloadFormat(msg) === undefined ? undefined : decodedPayload(msg.toString('utf8'));
  payloads.set(msg, p ?? null);
  return p;
}

/**
 * The agent id, message and time an ECS or CEF payload carries, decoded (inside the MAC): ECS
 * `agent.id`, `message` and `event.created`; CEF `deviceExternalId` (every event since 2026-11-23,
 * the start event before: src/encode/cef.ts), `msg`, and `rt` of the agent's own events; and
 * whether it is the agent's start event. Undefined when the MSG is neither (another format, or
 * not one that parses).
 */
function decodedPayload(text: string): Payload | undefined {
  if (text.startsWith('{')) {
    let doc: { agent?: { id?: unknown }; message?: unknown; event?: { module?: unknown; action?: unknown; created?: unknown } };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch (err) {
      // A cut or altered payload: nothing sealed names an agent (the chain check says the rest).
      if (err instanceof SyntaxError) return undefined;
      throw err;
    }
    const out: Payload = { start: doc.event?.module === AGENT_PARSER && doc.event.action === 'agent_started' };
    if (typeof doc.agent?.id === 'string') out.agent = doc.agent.id;
    if (typeof doc.message === 'string') out.message = doc.message;
    const created = doc.event?.created;
    const ms = typeof created === 'string' ? Date.parse(created) : NaN;
    if (Number.isFinite(ms)) out.time = ms;
    return out;
  }
  if (text.startsWith('CEF:')) {
    let cef: CefEvent;
    try {
      cef = decodeCef(text);
    } catch (err) {
      if (err instanceof CefDecodeError) return undefined;
      throw err;
    }
    const ext = cef.extension;
    const out: Payload = { start: cef.classId === START_CLASS_ID };
    if (ext['deviceExternalId'] !== undefined) out.agent = ext['deviceExternalId'];
    if (ext['msg'] !== undefined) out.message = ext['msg'];
    // rt is the event's @timestamp: for the agent's own events (src/event/internal.ts make) its clock when
    // it made them, the same as event.created; for a log event, the time its line states, which whoever
    // writes the line chooses (a review showed a line stating an old time passing a deleted run).
    const rt = cef.classId.startsWith(AGENT_CLASS_PREFIX) ? ext['rt'] : undefined;
    const ms = rt !== undefined && /^\d{1,15}$/.test(rt) ? Number(rt) : NaN;
    if (Number.isFinite(ms)) out.time = ms;
    return out;
  }
  return undefined;
}

/**
 * The agent id an ordinary record's MSG carries (inside the MAC): ECS `agent.id`
 * and CEF `deviceExternalId`, which every event holds (src/event/build.ts,
 * internal.ts, src/encode/cef.ts). `none`: another format; `unnamed`: an event
 * without one (a stand-in for a line that could not be built, or CEF written
 * before every event named its agent), so another record of the session may say.
 */
export function sealedAgentOf(msg: Buffer | string): { agent: string } | 'none' | 'unnamed' {
  if (payloadFormat(msg) === undefined) return 'none';
  const agent = payloadOf(msg)?.agent;
  return agent !== undefined ? { agent } : 'unnamed';
}

/**
 * The agent's clock at a record, read from inside the MAC (epoch ms), or
 * undefined: ECS `event.created`, which the agent sets on every event when it
 * reads the line or makes the event (src/event/build.ts, internal.ts; parsers
 * cannot set it: src/parse/reserved-fields.ts); CEF `rt` of the agent's own
 * events (class id "logward:<action>": its start and stop events, heartbeats,
 * alerts), which is the time it made them. A CEF log event's `rt` is the time
 * the log line states, which says nothing about when the agent sealed it (and
 * a log line holding a start text is no start event: its class id is its
 * parser's). Whether the MAC holds is the caller's business
 * (src/seal/verify.ts asks only of records it checked).
 */
export function sealedTimeOf(msg: Buffer | string): number | undefined {
  return payloadOf(msg)?.time;
}

/** One RFC 5424 (or templated) line as a string; kept for callers that hold strings. */
export function parseReceivedLine(line: string, sdId: string): ReceivedLine {
  const r = parseSealedRecord(Buffer.from(line, 'utf8'), sdId);
  return r.ok ? r : { ok: false, reason: r.reason };
}

/**
 * A foreign line that is one of our events stored by a template that dropped
 * the structured data: the app name "logward" as a syslog tag, then an ECS
 * JSON or CEF payload. Only a hint for the operator, never a verdict.
 */
export function looksUnsealedLogward(record: Buffer): boolean {
  const tag = record.indexOf(' logward');
  if (tag === -1) return false;
  const rest = record.toString('latin1', tag, Math.min(record.length, tag + 64));
  return /^ logward(\[[^\]\s]*\])?:? +(\{|CEF:)/.test(rest);
}

export type StoredForm = 'lines' | 'frames';

/** Frames when the data starts with `LEN SP <`, the start of an octet-counted syslog message. */
export function detectForm(head: Buffer): StoredForm {
  let i = 0;
  if (head[0] === undefined || head[0] < 0x31 || head[0] > 0x39) return 'lines';
  while (i < head.length && i < 10 && (head[i] as number) >= 0x30 && (head[i] as number) <= 0x39) i++;
  return head[i] === SP && head[i + 1] === 0x3c ? 'frames' : 'lines';
}

/** Where a record sits in the stored data: line number (lines) or frame number (frames), 1-based. */
export interface RecordPlace {
  form: StoredForm;
  n: number;
}

export interface StoredRecord {
  at: RecordPlace;
  bytes: Buffer;
}

/** A problem with the stored data as a whole (a broken or truncated frame stream). */
export interface StorageProblem {
  at: RecordPlace;
  reason: string;
}

/**
 * Splits stored data into records, chunk by chunk (files of any size are read
 * as a stream). Records are views of the chunks, not copies.
 */
export class RecordSplitter {
  private form: StoredForm | undefined;
  private head: Buffer[] = [];
  private headBytes = 0;
  private partial: Buffer[] = [];
  private n = 0;
  private decoder: FrameDecoder | undefined;
  private broken = false;
  readonly problems: StorageProblem[] = [];

  constructor(form: StoredForm | 'auto', private readonly maxFrameBytes = 16 * 1024 * 1024) {
    if (form !== 'auto') this.form = form;
  }

  /** The form in use (after enough bytes to tell, or end()). */
  get detected(): StoredForm | undefined {
    return this.form;
  }

  push(chunk: Buffer): StoredRecord[] {
    if (this.form === undefined) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes < 16) return [];
      return this.decide();
    }
    return this.split(chunk);
  }

  end(): StoredRecord[] {
    const out = this.form === undefined ? this.decide() : [];
    if (this.form === 'lines') {
      if (this.partial.length > 0) out.push(this.line(Buffer.concat(this.partial)));
      this.partial = [];
    } else if (this.decoder && !this.broken && !this.decoder.atBoundary) {
      this.problems.push({ at: { form: 'frames', n: this.n + 1 }, reason: 'the data ends inside this frame (truncated capture)' });
    }
    return out;
  }

  private decide(): StoredRecord[] {
    const all = Buffer.concat(this.head, this.headBytes);
    this.head = [];
    this.form = detectForm(all);
    return all.length > 0 ? this.split(all) : [];
  }

  private split(chunk: Buffer): StoredRecord[] {
    const out: StoredRecord[] = [];
    if (this.form === 'frames') {
      if (this.broken) return out;
      this.decoder ??= new FrameDecoder({ maxFrameBytes: this.maxFrameBytes });
      for (const m of this.decoder.push(chunk)) out.push({ at: { form: 'frames', n: ++this.n }, bytes: m });
      const err = this.decoder.error;
      if (err) {
        this.broken = true;
        this.problems.push({ at: { form: 'frames', n: this.n + 1 }, reason: `${err.message}; nothing after it can be read` });
      }
      return out;
    }
    let from = 0;
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, from)) {
      let line = chunk.subarray(from, lf);
      if (this.partial.length > 0) {
        this.partial.push(line);
        line = Buffer.concat(this.partial);
        this.partial = [];
      }
      out.push(this.line(line));
      from = lf + 1;
    }
    if (from < chunk.length) this.partial.push(chunk.subarray(from));
    return out;
  }

  private line(bytes: Buffer): StoredRecord {
    const b = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.subarray(0, bytes.length - 1) : bytes;
    return { at: { form: 'lines', n: ++this.n }, bytes: b };
  }
}
