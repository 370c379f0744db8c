/**
 * `logward verify --key FILE RECEIVED`: reads what a receiver stored (lines in
 * any supported template, or a capture of raw octet-counted frames), checks
 * sessions, sequences and the HMAC chain (src/seal/verify.ts) and prints one
 * line per finding, then one summary line.
 *
 * Exit: 0 intact (replays, declared restarts and declared lost ranges are
 * information), 1 on any gap, edit, forgery, reorder, undeclared restart, a
 * lost-range declaration that does not fit the stream, a record of ours that
 * does not parse, unreadable frames, no sealed record at all, or (several
 * files) a file that adds no record to the stream; 2 on bad arguments (one
 * file given twice, stdin among them), an unreadable RECEIVED, or a refused
 * key file (the same permission checks as the agent's).
 *
 * Lines without our SD element are "foreign" (a receiver file may hold other
 * hosts' messages): counted in the summary, listed with --verbose. Every
 * other line that cannot be read is reported with its line number.
 *
 * Several agents in one file (a SIEM's daily file) each number their records
 * from 0, so their streams are checked one at a time: `--agent ID` keeps the
 * records whose SD names that agent. The label is outside the MAC, and that is
 * why the choice is the operator's and never automatic: a record moved out of
 * an agent's stream by editing its label is, for that stream, a deleted record
 * (a gap, or a missing start), and a record moved in is a foreign session
 * (an undeclared restart). Grouping by label on its own would let an editor
 * turn a deleted run in the middle into "another agent" that begins there.
 * A start event goes by the agent id in its sealed MSG (ECS agent.id, CEF
 * deviceExternalId) once its own MAC holds, and one whose label disagrees
 * fails (RELABELLED): the run after a deleted one cannot be relabelled away
 * with its declaration of the deleted run. One sealed by a key of the file
 * whose MAC no longer holds fails every check (ALTERED START). A start event
 * is the agent's own (src/seal/received.ts startDeclaration): a log line
 * holding a start text is an ordinary record, in every stream. A start that
 * declares a rename (renamed from agent OLD) is held against OLD's records in
 * the same file (src/seal/README.md "Renamed agents").
 * Without --agent, a file holding several agents' records checks each agent's
 * stream on its own, exactly as `--agent ID` for each would (a NOTE says so),
 * prints each agent's findings under `AGENT ID` and its own summary line, and
 * fails when any agent's stream or the file fails; the last line names the
 * agents that failed. (Checked as one stream, as earlier versions did, every
 * file that begins inside two agents' sessions, a SIEM's daily file, failed,
 * and one agent's restart was held against another agent's session.) The
 * agents are those the records name: the sealed id of a start event whose
 * MAC holds, else the SD label; an agent the operator does not know of
 * stands out in the list (a run relabelled away at the end of a stream
 * shows as an agent that begins there, as with --agent). Two checks do not
 * depend on the label, in every mode: a session whose records fall to two
 * agents is SPLIT (one session is one agent's: agent.id cannot change while
 * it runs), and an ECS record whose MAC holds on the record before it names
 * its agent inside the MAC (RELABELLED when the label says another), so a
 * run deleted in the middle with the rest relabelled away fails, as it did
 * checked as one stream. Left: a whole CEF run relabelled without its start
 * event (CEF names the agent on start events only).
 *
 * A start event declaring no previous session after the head of an agent's
 * stream is a FRESH START: the agent started over, so the end of its stream
 * before that point cannot be checked. A failure unless accepted
 * (`acceptFreshStarts`: a state directory the operator knows was rebuilt).
 * Which sessions come before it is what the seal proves (src/seal/verify.ts
 * streamOrder), not where the file stores them (`cat day2 day1`).
 *
 * Under a key not in the key file nothing of a record can be checked: its
 * records are FORGED in the stream they are checked in, and one UNKNOWN KEY
 * line per key id says so once. A start event under such a key whose message
 * names another agent than its label was edited all the same (the agent
 * writes its own id in both): ALTERED START, in every mode.
 *
 * Several files (`verify --key K day1 day2 day3`, a receiver's daily files)
 * are read one after the other, in the order given (oldest first: received
 * order is what REORDERED is judged by), and checked as one stream: records
 * that continue from one file into the next are no gap, and a file left out
 * between two is the GAP it is. Each finding names the file and the line
 * (or frame) in it, numbered from 1 in each file; a GAP says after and
 * before which records. The order of the files is the operator's word, not
 * sealed: it decides nothing that the seal does not (src/seal/README.md
 * "Verifier"). A file whose records of the stream are all replays of records
 * received before adds nothing to it: NOTHING NEW, a failure (nothingNew). A
 * file given twice, under any name, is refused, and so is stdin when it is a
 * regular file given too (`day1.log - < day1.log`: fd 0's device and inode);
 * a pipe on stdin cannot be compared (a copy on it is NOTHING NEW). With one
 * file the output is what it always was.
 */
import { constants, fstatSync } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';

import { checkSdId } from '../encode/rfc5424.js';
import { replaceUnsafe, token } from '../encode/unsafe-chars.js';
import { ConfigError } from '../errors.js';
import { computeChain } from '../seal/chain.js';
import { KeyFileError, loadHmacKeyRing, type HmacKeyRing } from '../seal/key.js';
import { looksUnsealedLogward, parseSealedRecord, RecordSplitter, sealedAgentOf, type RecordPlace, type StoredForm, type StoredRecord } from '../seal/received.js';
import {
  AgentSessions,
  verifyStream,
  type Declaration,
  type Finding,
  type SameTime,
  type SealedEntry,
  type SessionSummary,
  type VerifyContext,
  type VerifyReport,
} from '../seal/verify.js';

export const EXIT_INTACT = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const DEFAULT_VERIFY_SD_ID = 'logward@32473';

export type VerifyFormat = 'auto' | 'lines' | 'frames';

export interface VerifyOptions {
  keyFile: string;
  /**
   * A path, or '-' for stdin; or several (stdin at most once), read in the order given and checked
   * as one stream: a receiver's daily files, oldest first.
   */
  file: string | readonly string[];
  sdId?: string;
  format?: VerifyFormat;
  /** Also list foreign lines (no SD element of ours). */
  verbose?: boolean;
  /** Check only the records whose SD names this agent. */
  agent?: string;
  /** Fresh starts (a stream started over) to report as information: 'all', or session ids. */
  acceptFreshStarts?: 'all' | readonly string[];
}

export interface VerifyIo {
  stdout: Writable;
  stderr: Writable;
  stdin?: Readable;
  /**
   * The descriptor `stdin` reads (the CLI's 0). When it is a regular file, it is compared with the
   * files given by device and inode, as they are with each other; without it, stdin is compared with nothing.
   */
  stdinFd?: number;
}

const CHUNK = 1024 * 1024;

/** One input read (a file, or stdin): its name as given, and the form its records were stored in. */
interface InputFile {
  name: string;
  form: StoredForm;
}

/** Entries and where each was read: its record number (line or frame) in its input, and which input. */
interface Places {
  entries: readonly SealedEntry[];
  where: readonly number[];
  input: readonly number[];
  inputs: readonly InputFile[];
}

/** What was read from the stored data, before verification. */
interface Collected extends Places {
  entries: SealedEntry[];
  /** Record number (line or frame) of each entry, counted from 1 in each input. */
  where: number[];
  /** The input (an index into inputs) of each entry. */
  input: number[];
  inputs: InputFile[];
  foreign: number;
  /** Sealed records of other agents, left out by --agent. */
  otherAgents: number;
  /** Their sessions, by owner and session id: where a renamed agent's stream came from. */
  others: Map<string, Map<string, SessionSummary>>;
  /** Agent labels seen among sealed records ('' for none), with their counts. */
  agents: Map<string, number>;
  unsealedLogward: number;
  malformed: number;
  unreadable: number;
  /** Start events whose SD label names another agent than their sealed agent.id: an edit. */
  relabelled: number;
  /** Start events left out of the stream checked whose seal, by a key of ours, does not verify: an edit. */
  alteredStarts: number;
  /**
   * Without --agent: per entry, the agent whose stream it belongs to (the sealed id of a start
   * event whose MAC holds, else the label) and whether it is such a start event.
   */
  owners: string[];
  verifiedStarts: boolean[];
  /**
   * Per session, the agents its records belong to (owner as above, in every mode), with the place of the first
   * record of each. One session is one agent's (agent.id cannot change while it runs), so two are an edit.
   */
  sessionOwners: Map<string, Map<string, string>>;
  /** Sessions whose records were found under two agents: labels edited in the stored file. */
  splitSessions: number;
  /** Sessions labelled as another agent than the one an ECS record of theirs, MAC checked, was sealed by. */
  relabelledRuns: number;
}

export async function runVerify(opts: VerifyOptions, io: VerifyIo): Promise<number> {
  const sdId = opts.sdId ?? DEFAULT_VERIFY_SD_ID;
  const format = opts.format ?? 'auto';
  const usage = (msg: string): number => {
    io.stderr.write(`logward verify: ${msg}\n`);
    return EXIT_USAGE;
  };
  try {
    checkSdId(sdId);
  } catch (err) {
    if (err instanceof ConfigError) return usage(`--sd-id: ${err.problem}`);
    throw err;
  }
  if (!['auto', 'lines', 'frames'].includes(format)) return usage(`--format must be auto, lines or frames, not "${format}"`);
  const files = typeof opts.file === 'string' ? [opts.file] : [...opts.file];
  if (files.length === 0) return usage('no file to verify');
  if (files.filter((f) => f === '-').length > 1) return usage('stdin (-) can be read once');
  // The same file twice would pass as one long replay of itself.
  const twice = files.find((f, i) => f !== '-' && files.findIndex((g) => g !== '-' && resolve(g) === resolve(f)) !== i);
  if (twice !== undefined) return usage(`${twice} is given twice`);
  let ring: HmacKeyRing;
  try {
    ring = loadHmacKeyRing(opts.keyFile);
  } catch (err) {
    if (err instanceof KeyFileError) return usage(err.message);
    throw err;
  }

  const out = (line: string): void => {
    io.stdout.write(line + '\n');
  };
  /** The input being read, for an error reading it. */
  const reading = { file: files[0] as string };
  const readError = (err: unknown): number => {
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === 'string' && e.syscall !== undefined) return usage(`${reading.file}: ${e.message}`);
    throw err;
  };
  if (files.length > 1) {
    // Every file readable before any is read: a typo in the last name is not found after pages of findings.
    // Twice is the same file, not the same spelling: a symlink or a hard link to a file given before (a daily
    // file replaced by a link to the day before) would read as that day's replays (found by review).
    // Stdin too, when it is a regular file: `verify day1.log - < day1.log` (or stdin a link to a file given)
    // read day 1 twice, the second time as replays. A pipe has no file to compare: what it carries is unknown.
    const identities = new Map<string, string>();
    try {
      for (const f of files) {
        reading.file = f;
        let identity: string;
        if (f === '-') {
          const st = io.stdinFd === undefined ? undefined : fstatSync(io.stdinFd, { bigint: true });
          // Node reads a directory on fd 0 as an empty stream: it would pass as an empty file, where a directory given by name is refused.
          if (st?.isDirectory() === true) return usage('stdin: EISDIR: illegal operation on a directory, read');
          if (st === undefined || !st.isFile()) continue;
          identity = `${st.dev}:${st.ino}`;
        } else {
          await access(f, constants.R_OK);
          const st = await stat(f, { bigint: true });
          identity = `${st.dev}:${st.ino}`;
        }
        const first = identities.get(identity);
        if (first !== undefined) {
          return usage(
            f === '-' || first === '-'
              ? `${inputName(f)} is given twice (the same file as ${inputName(first)}, given before it)`
              : `${f} is given twice (the same file as one given before it)`,
          );
        }
        identities.set(identity, f);
      }
    } catch (err) {
      return readError(err);
    }
    out(`NOTE: ${files.length} files checked as one stream, in the order given (oldest first): ${files.map(inputName).join(', ')}`);
  }
  let collected: Collected;
  try {
    collected = await collect(files, reading, opts, io, sdId, format, ring.all, out);
  } catch (err) {
    return readError(err);
  }

  const c = collected;
  if (c.unsealedLogward > 0) {
    out(
      `HINT: ${plural(c.unsealedLogward, 'line')} look like logward events without their structured data: the receiver's template ` +
        `dropped the seal (rsyslog RSYSLOG_FileFormat / RSYSLOG_TraditionalFileFormat, syslog-ng's default file template). ` +
        `Store %rawmsg% or RSYSLOG_SyslogProtocol23Format (syslog-ng: flags(syslog-protocol)); see src/seal/README.md`,
    );
  }
  const names = [...c.agents.keys()].map(agentName).sort();
  if (c.entries.length === 0) {
    const whose = opts.agent !== undefined ? ` for agent "${opts.agent}"` : '';
    const seen = opts.agent !== undefined && names.length > 0 ? `; agents in the file: ${names.join(', ')}` : '';
    out(`FAILED: no record sealed with ${sdId}${whose} in ${files.map(inputName).join(', ')}${c.foreign > 0 ? ` (${plural(c.foreign, 'foreign line')})` : ''}${seen}`);
    return EXIT_FAILED;
  }
  for (const line of orderHints(c)) out(line);
  const accept = opts.acceptFreshStarts;
  // Several files: a record resent before a session's first is told from a file given out of order.
  const context: VerifyContext = c.inputs.length > 1 ? { inputOf: c.input } : {};
  if (accept !== undefined) context.acceptFreshStarts = accept === 'all' ? true : new Set(accept);
  const problems = c.malformed + c.unreadable + c.relabelled + c.alteredStarts + c.splitSessions + c.relabelledRuns;
  if (opts.agent === undefined && new Set(c.owners).size > 1) return perAgent(c, ring.all, context, problems, out);

  context.otherAgents = new Map([...c.others].map(([owner, sessions]) => [owner, [...sessions.values()]] as const));
  const report = verifyStream(c.entries, ring.all, context);
  for (const line of describe(report.findings, c)) out(line);
  const copies = nothingNew(report, c);
  for (const line of copies) out(line);
  out(summary(report, c, problems, copies.length));
  return report.ok && problems === 0 && copies.length === 0 ? EXIT_INTACT : EXIT_FAILED;
}

/**
 * An input as named in the output: the path as given, stdin for '-'. Neutralized as agent names are: a
 * glob over a SIEM's directory passes names that whoever can write there chose (an ESC in one could
 * repaint the lines printed before it).
 */
function inputName(file: string): string {
  return file === '-' ? 'stdin' : printable(file);
}

/**
 * Several files given newest first: a session whose records in one file all come before, by seq,
 * its records in the file given before it. Received order is what REORDERED is judged by, so each
 * such record is REORDERED; one line says why.
 */
function orderHints(c: Collected): string[] {
  if (c.inputs.length < 2) return [];
  const spans = c.inputs.map(() => new Map<string, { min: bigint; max: bigint }>());
  c.entries.forEach((e, i) => {
    const m = spans[c.input[i] as number] as Map<string, { min: bigint; max: bigint }>;
    const x = m.get(e.session);
    if (!x) m.set(e.session, { min: e.seq, max: e.seq });
    else {
      if (e.seq < x.min) x.min = e.seq;
      if (e.seq > x.max) x.max = e.seq;
    }
  });
  const hints: string[] = [];
  for (let k = 1; k < spans.length; k++) {
    const before = spans[k - 1] as Map<string, { min: bigint; max: bigint }>;
    for (const [session, x] of spans[k] as Map<string, { min: bigint; max: bigint }>) {
      const y = before.get(session);
      if (!y || x.max >= y.min) continue;
      hints.push(
        `HINT: session ${session}'s records in ${(c.inputs[k] as InputFile).name} come before its records in ${(c.inputs[k - 1] as InputFile).name} by seq: ` +
          `give the files oldest first (records are checked in the order received, so each of them is REORDERED)`,
      );
      break;
    }
  }
  return hints;
}

/**
 * Several files: one line for each file that holds records of the stream and not one new to it,
 * every one an identical replay of a record received before. A replay is no failure (at-least-once
 * delivery resends a window after each reconnect, often at the start of a receiver's new file), but a
 * whole file of them is a copy of what came before, not a part of the stream: a daily file replaced
 * by a copy of an earlier one looks exactly so, and covers the records deleted with it. A failure:
 * a running agent seals a heartbeat every monitoring.heartbeat (a minute by default), so honestly such
 * a file holds a resend the agent died right after; and a file known to be one can be left out of the
 * run without leaving anything unchecked (each of its records was checked where it was first received).
 * A file with no record of the stream at all is not one: an agent's quiet day, another host's file
 * (src/seal/README.md "Several files").
 */
function nothingNew(r: VerifyReport, c: Places): string[] {
  if (c.inputs.length < 2) return [];
  const records = c.inputs.map(() => 0);
  const replays = c.inputs.map(() => 0);
  for (const k of c.input) records[k] = (records[k] as number) + 1;
  const replayAt = new Set<number>();
  for (const f of r.findings) {
    if (f.kind !== 'replay') continue;
    replayAt.add(f.index);
    const k = c.input[f.index] as number;
    replays[k] = (replays[k] as number) + 1;
  }
  // The file's last record of the stream and the stream's next one after it, received later.
  const last = c.inputs.map(() => -1);
  c.input.forEach((k, i) => (last[k] = i));
  // A resend that the stream takes up again right after it is at-least-once delivery, not a copy: a
  // receiver that splits files by size cuts a resend window (at least resend_window.bytes, 4 MiB by default:
  // on a quiet host hours of records) into files of nothing but replays, and a connection that drops again
  // during its resend sends the window once more into the next file; so does a host quieter than its
  // heartbeat between two time-split files. Taken up means the resend goes on to a record new to the
  // stream: replays of that session in seq order (the rest of the window, the window again) up to its next
  // new record, or a new start declaring that session (a restart). A replay alone proves nothing: anyone
  // can copy a record of the session to the head of the next file (found by review: one replay of seq 0
  // before an accepted fresh start passed the copy of a deleted day). Anything else after it (a jump, a
  // fresh start) is not a resend's shape, and a file that is last has nothing after it (a resend the agent
  // died right after, or a copy). What was deleted in its place shows as the GAP it is either way.
  // goesOn[i]: what follows entry i takes its session up; one pass from the end.
  const goesOn: boolean[] = c.entries.map(() => false);
  for (let i = c.entries.length - 2; i >= 0; i--) {
    const e = c.entries[i] as SealedEntry;
    const next = c.entries[i + 1] as SealedEntry;
    if (next.session === e.session && next.seq <= e.seq + 1n) goesOn[i] = !replayAt.has(i + 1) || (goesOn[i + 1] as boolean);
    else goesOn[i] = next.declares?.previousSession === e.session && !replayAt.has(i + 1);
  }
  const takenUp = (k: number): boolean => goesOn[last[k] as number] as boolean;
  const flagged = records.map((n, k) => n > 0 && replays[k] === n && !takenUp(k));
  if (!flagged.includes(true)) return [];
  // Where the records each such file copies were first received: what it repeats. One pass, however many files.
  const firsts = new Map<string, number>();
  const spans = c.inputs.map(() => ({ from: Infinity, to: -1 }));
  c.entries.forEach((e, i) => {
    const id = `${e.session}\u0000${e.seq}`;
    if (!firsts.has(id)) firsts.set(id, i);
    const k = c.input[i] as number;
    if (!flagged[k]) return;
    const span = spans[k] as { from: number; to: number };
    const j = firsts.get(id) as number;
    span.from = Math.min(span.from, j);
    span.to = Math.max(span.to, j);
  });
  const lines: string[] = [];
  records.forEach((n, k) => {
    if (!flagged[k]) return;
    const { from, to } = spans[k] as { from: number; to: number };
    lines.push(
      `NOTHING NEW in ${(c.inputs[k] as InputFile).name}: its ${plural(n, 'record')} of the stream ${n === 1 ? 'was' : 'were all'} received before ` +
        `(identical replays of ${placeRange(c, from, to)}): a file that adds no record to the stream is a copy of what came before it, ` +
        `as a daily file replaced by a copy of an earlier one is, covering the records deleted with it; ` +
        `a file known to hold only a resend can be left out of the run (each of its records was checked where it was first received)`,
    );
  });
  return lines;
}

/**
 * An agent id as printed. Labels are outside the MAC and a start event's id under an unknown key is
 * unchecked: whoever edited the file chose them, so no control character (ESC, CR, LF in a frame, C1,
 * bidi) reaches the operator's terminal raw: each is shown as {U+XXXX}, as the neutralizer does.
 */
function agentName(owner: string): string {
  return owner === '' ? '(none)' : printable(owner);
}

/** Text from outside the MAC or the operator's control as printed: each control character as {U+XXXX}, as the neutralizer does. */
function printable(s: string): string {
  return replaceUnsafe(s.replace(/[\t\n\r]/g, (ch) => token(ch.charCodeAt(0))));
}

/**
 * Without --agent, a file of several agents: each agent's stream checked on its own, as
 * `--agent ID` checks it (the other agents' sessions are where a renamed agent's stream came
 * from), its findings under `AGENT ID` and its own summary line; then one line for the file.
 */
function perAgent(c: Collected, keys: ReadonlyMap<string, Buffer>, base: VerifyContext, problems: number, out: (l: string) => void): number {
  const summaries = new Map<string, Map<string, SessionSummary>>();
  const indices = new Map<string, number[]>();
  c.entries.forEach((e, i) => {
    const owner = c.owners[i] as string;
    // In file order, as --agent builds them from the records it skips.
    summarize(summaries, owner, e, c.verifiedStarts[i] === true);
    const list = indices.get(owner);
    if (list) list.push(i);
    else indices.set(owner, [i]);
  });
  const nameOf = new Map([...indices.keys()].map((o) => [o, agentName(o)] as const));
  const name = (o: string): string => nameOf.get(o) as string;
  const owners = [...indices.keys()].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  // Each agent is checked against the others' sessions: one index for all, not a map per agent (quadratic in agents).
  const agentSessions = new AgentSessions(new Map([...summaries].map(([owner, sessions]) => [owner, [...sessions.values()]] as const)));
  const shown = owners.map(agentName);
  out(
    `NOTE: records of ${owners.length} agents (${shown.slice(0, 10).join(', ')}${shown.length > 10 ? ', …' : ''}): each agent numbers its own, ` +
      `so each agent's stream is checked on its own, as --agent ID checks it; results per agent`,
  );
  const failed: string[] = [];
  const intact: string[] = [];
  const total = { records: 0, sessions: 0, restarts: 0, replays: 0 };
  for (const owner of owners) {
    const idx = indices.get(owner) as number[];
    const one: Places = {
      entries: idx.map((i) => c.entries[i] as SealedEntry),
      where: idx.map((i) => c.where[i] as number),
      input: idx.map((i) => c.input[i] as number),
      inputs: c.inputs,
    };
    const report = verifyStream(one.entries, keys, { ...base, agents: { all: agentSessions, self: owner }, ...(c.inputs.length > 1 ? { inputOf: one.input } : {}) });
    const name = nameOf.get(owner) as string;
    out(`AGENT ${name}`);
    for (const line of describe(report.findings, one)) out(line);
    const copies = nothingNew(report, one);
    for (const line of copies) out(line);
    const f = facts(report, 0, 0);
    total.records += report.records;
    total.sessions += report.sessions;
    total.restarts += declaredRestarts(report);
    total.replays += report.replays;
    if (report.ok && copies.length === 0) {
      intact.push(name);
      out(`agent ${name}: intact: ${f}`);
    } else {
      const parts = [...failureParts(report), ...copyParts(copies.length)];
      failed.push(`agent ${name}: ${parts.join(', ')}`);
      out(`agent ${name}: FAILED: ${parts.join(', ')}; ${f}`);
    }
  }
  const file = fileProblems(c);
  let all =
    `${plural(owners.length, 'agent')}, ${plural(total.records, 'record')} in ${plural(total.sessions, 'session')}, ` +
    `${plural(total.restarts, 'declared restart')}, ${plural(total.replays, 'replay')}`;
  if (c.foreign > 0) all += `, ${plural(c.foreign, 'foreign line')} skipped`;
  if (failed.length === 0 && problems === 0) {
    out(`intact: each agent's stream intact (${shown.slice(0, 10).join(', ')}${shown.length > 10 ? ', …' : ''}); ${all}`);
    return EXIT_INTACT;
  }
  const rest = intact.length === 0 ? '' : `; intact: ${intact.slice(0, 10).join(', ')}${intact.length > 10 ? `, … (${intact.length})` : ''}`;
  out(`FAILED: ${[...failed, ...file].join('; ')}${rest}; ${all}`);
  return EXIT_FAILED;
}

async function* chunks(file: string, io: VerifyIo): AsyncGenerator<Buffer> {
  if (file === '-') {
    if (!io.stdin) throw new Error('no stdin to read from');
    // Copied: records are kept as views of their chunk, and a stream may reuse its buffers.
    for await (const chunk of io.stdin) yield Buffer.from(chunk as Buffer);
    return;
  }
  const fh = await open(file, 'r');
  try {
    for (;;) {
      // A fresh buffer per read: records are views into it and outlive the loop.
      const buf = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

async function collect(
  files: readonly string[],
  reading: { file: string },
  opts: VerifyOptions,
  io: VerifyIo,
  sdId: string,
  format: VerifyFormat,
  keys: ReadonlyMap<string, Buffer>,
  out: (l: string) => void,
): Promise<Collected> {
  const c: Collected = {
    entries: [],
    where: [],
    input: [],
    inputs: [],
    foreign: 0,
    otherAgents: 0,
    others: new Map(),
    agents: new Map(),
    unsealedLogward: 0,
    malformed: 0,
    unreadable: 0,
    relabelled: 0,
    alteredStarts: 0,
    owners: [],
    verifiedStarts: [],
    sessionOwners: new Map(),
    splitSessions: 0,
    relabelledRuns: 0,
  };
  const sealedOwner = new SealedOwnerCheck(keys, (line) => {
    c.relabelledRuns++;
    out(line);
  });
  // With several files, a place names its file ("day2.log line 14"); with one, it is as it always was.
  let file = 0;
  let prefix = '';
  const place = (at: RecordPlace): string => prefix + recordPlace(at);
  const take = (records: StoredRecord[]): void => {
    for (const r of records) {
      if (r.bytes.length === 0) continue;
      const p = parseSealedRecord(r.bytes, sdId);
      if (p.ok) {
        const label = p.entry.agent ?? '';
        // A start event's agent id (ECS agent.id, CEF deviceExternalId) is inside the MAC, its SD label
        // is not: the sealed id says whose stream it opens. Relabelled, a deleted run's successor would
        // otherwise leave the agent's stream unseen, its declaration of the deleted run with it (found by review).
        // Trusted only once the start event's own MAC holds: an edited id would otherwise move it just the same.
        const seal = p.entry.declares !== undefined ? startSeal(p.entry, keys) : 'unknown';
        const sealed = seal === 'verified' ? p.entry.sealedAgent : undefined;
        if (sealed !== undefined && sealed !== label) {
          c.relabelled++;
          out(`RELABELLED ${place(r.at)} (session=${p.entry.session}): a start event sealed by agent "${agentName(sealed)}" labelled "${agentName(label)}"`);
        }
        const owner = sealed ?? label;
        // Under a key not in the file the MAC cannot be checked, so the id in the message is not believed
        // (the label places it, as for another agent's own key). But the agent writes the same id in both:
        // a message and a label that disagree prove one of them was edited, whatever the key, in every mode.
        if (seal === 'unknown' && p.entry.sealedAgent !== undefined && p.entry.sealedAgent !== label) {
          c.alteredStarts++;
          out(
            `ALTERED START ${place(r.at)} (session=${p.entry.session}, labelled "${agentName(label)}"): its message names agent "${agentName(p.entry.sealedAgent)}"; ` +
              `the agent writes its own id in both, so the label or the message was edited in the stored file ` +
              `(its key id "${p.entry.kid}" is not in the key file, so which one cannot be told)`,
          );
        }
        c.agents.set(label, (c.agents.get(label) ?? 0) + 1);
        // The label is outside the MAC: what holds a session to one agent is checked on every record,
        // whichever agent is checked (a run deleted in the middle and the rest relabelled as an agent
        // nobody runs would otherwise leave two intact streams: found by review).
        let owners = c.sessionOwners.get(p.entry.session);
        if (!owners) c.sessionOwners.set(p.entry.session, (owners = new Map()));
        if (!owners.has(owner)) owners.set(owner, place(r.at));
        sealedOwner.add(p.entry, label, r.at, prefix);
        if (opts.agent !== undefined && owner !== opts.agent) {
          c.otherAgents++;
          summarize(c.others, owner, p.entry, seal === 'verified');
          // Sealed with a key of ours and edited: whose stream it opened is unknown, so it fails every
          // check, not only its label's (in the stream checked, the verifier reports it as altered).
          if (seal === 'altered') {
            c.alteredStarts++;
            out(`ALTERED START ${place(r.at)} (session=${p.entry.session}, labelled "${agentName(label)}"): its seal does not verify on the chain it declares, so the agent it names is unknown`);
          }
          continue;
        }
        c.entries.push(p.entry);
        c.where.push(r.at.n);
        c.input.push(file);
        if (opts.agent === undefined) {
          c.owners.push(owner);
          c.verifiedStarts.push(seal === 'verified');
        }
      } else if (p.foreign) {
        c.foreign++;
        const unsealed = looksUnsealedLogward(r.bytes);
        if (unsealed) c.unsealedLogward++;
        if (opts.verbose) out(`FOREIGN ${place(r.at)}: ${p.reason}${unsealed ? ' (a logward event whose structured data was dropped)' : ''}`);
      } else {
        c.malformed++;
        const who = [p.session !== undefined ? `session=${p.session}` : '', p.seq !== undefined ? `seq=${p.seq}` : ''].filter(Boolean).join(' ');
        out(`MALFORMED ${place(r.at)}${who ? ` (${who})` : ''}: ${p.reason}`);
      }
    }
  };
  for (; file < files.length; file++) {
    const name = files[file] as string;
    reading.file = name;
    prefix = files.length > 1 ? `${inputName(name)} ` : '';
    // Each file on its own: its own form (auto-detected), its records numbered from 1.
    const splitter = new RecordSplitter(format);
    for await (const chunk of chunks(name, io)) take(splitter.push(chunk));
    take(splitter.end());
    for (const p of splitter.problems) {
      c.unreadable++;
      out(`UNREADABLE ${place(p.at)}: ${p.reason}`);
    }
    c.inputs.push({ name: inputName(name), form: splitter.detected ?? 'lines' });
  }
  for (const [session, owners] of c.sessionOwners) {
    if (owners.size < 2) continue;
    c.splitSessions++;
    const which = [...owners].map(([o, at]) => `"${agentName(o)}" (from ${at})`).join(', ');
    out(`SPLIT session=${session}: its records are labelled as agents ${which}; one session is one agent's, so the labels were edited in the stored file`);
  }
  return c;
}

/** Records of one session whose MAC holds and that name no agent, before it is left unchecked. */
const MAX_UNNAMED = 8;

/**
 * Which agent sealed each session, from inside the MAC: an ECS record whose MAC holds on the
 * received record right before it (same session, seq - 1) carries its agent.id authenticated.
 * One such record per session is enough (a session's records all belong to one agent: SPLIT
 * checks the rest). Only the first record of a run received can be edited unseen, so a run
 * relabelled as a whole (its start event deleted) still names its agent. CEF names the agent on
 * start events only: nothing to check there. Records are kept only until their session is settled.
 */
class SealedOwnerCheck {
  private readonly pending = new Map<string, Map<bigint, { e: SealedEntry; label: string; at: RecordPlace; file: string }>>();
  private readonly settled = new Set<string>();
  /** Records whose MAC held but that name no agent (ECS stand-ins for lines that could not be built), per session. */
  private readonly unnamed = new Map<string, number>();

  constructor(
    private readonly keys: ReadonlyMap<string, Buffer>,
    private readonly report: (line: string) => void,
  ) {}

  /** `file`: what names the record's file before its place ("day2.log "), or '' with one file. */
  add(e: SealedEntry, label: string, at: RecordPlace, file: string): void {
    // Another agent's key: its MAC cannot be checked here.
    if (this.settled.has(e.session) || !this.keys.has(e.kid)) return;
    let held = this.pending.get(e.session);
    if (!held) this.pending.set(e.session, (held = new Map()));
    // A replay: the first copy stands.
    if (held.has(e.seq)) return;
    const x = { e, label, at, file };
    held.set(e.seq, x);
    const before = held.get(e.seq - 1n);
    if (before && this.settle(before.e.chain, x)) return;
    const next = held.get(e.seq + 1n);
    if (next) this.settle(e.chain, next);
  }

  private settle(previousChain: string, x: { e: SealedEntry; label: string; at: RecordPlace; file: string }): boolean {
    const { e } = x;
    if (computeChain(this.keys.get(e.kid) as Buffer, previousChain, e.session, e.seq, e.msg) !== e.chain) return false;
    const sealed = sealedAgentOf(e.msg);
    if (sealed === 'unnamed') {
      const n = (this.unnamed.get(e.session) ?? 0) + 1;
      this.unnamed.set(e.session, n);
      // A stream whose events carry no agent.id (not one the agent writes): give up on it, not per record.
      if (n < MAX_UNNAMED) return false;
    }
    this.settled.add(e.session);
    this.pending.delete(e.session);
    this.unnamed.delete(e.session);
    if (sealed === 'unnamed') return true;
    if (sealed !== 'none' && sealed.agent !== x.label) {
      this.report(
        `RELABELLED ${x.file}${recordPlace(x.at)} (session=${e.session}): a record sealed by agent "${agentName(sealed.agent)}" (its MAC holds on the record before it) ` +
          `labelled "${agentName(x.label)}": its session was moved to another agent in the stored file`,
      );
    }
    return true;
  }
}

/**
 * Whether a start event's own MAC holds. It is the first record of its
 * session, sealed on the chain it declares, so it can be checked alone:
 * `verified` (by its key, or by another key of the file when the key id, which
 * is outside the MAC, was edited), `altered` (its key is known and nothing
 * verifies it), `unknown` (another agent's key: nothing can be said).
 */
function startSeal(e: SealedEntry, keys: ReadonlyMap<string, Buffer>): 'verified' | 'altered' | 'unknown' {
  const d = e.declares as Declaration;
  const holds = (key: Buffer): boolean => computeChain(key, d.lastChain, e.session, e.seq, e.msg) === e.chain;
  const own = keys.get(e.kid);
  if (own && holds(own)) return 'verified';
  for (const [kid, key] of keys) if (kid !== e.kid && holds(key)) return 'verified';
  return own ? 'altered' : 'unknown';
}

/** Keeps what a start declaration needs of another agent's record: its session's seq range and last chain. */
function summarize(others: Map<string, Map<string, SessionSummary>>, owner: string, e: SealedEntry, verifiedStart: boolean): void {
  let sessions = others.get(owner);
  if (!sessions) {
    sessions = new Map();
    others.set(owner, sessions);
  }
  const x = sessions.get(e.session);
  if (!x) sessions.set(e.session, { session: e.session, minSeq: e.seq, maxSeq: e.seq, lastChain: e.chain, anchored: verifiedStart });
  else {
    if (e.seq < x.minSeq) {
      x.minSeq = e.seq;
      x.anchored = verifiedStart;
    } else if (e.seq === x.minSeq && verifiedStart) x.anchored = true;
    if (e.seq > x.maxSeq) {
      x.maxSeq = e.seq;
      x.lastChain = e.chain;
    }
  }
}

function recordPlace(at: RecordPlace): string {
  return `${at.form === 'lines' ? 'line' : 'frame'} ${at.n}`;
}

/** Where the entry at `index` was read: "line 14", or "day2.log line 14" with several files; '' when unknown. */
function placeOf(c: Places, index: number): string {
  const n = index >= 0 ? c.where[index] : undefined;
  if (n === undefined) return '';
  const input = c.inputs[c.input[index] as number] as InputFile;
  const at = `${input.form === 'lines' ? 'line' : 'frame'} ${n}`;
  return c.inputs.length > 1 ? `${input.name} ${at}` : at;
}

/** The places of two entries as a range: "lines 3..7", "day2.log lines 3..7", or "day1.log line 90..day2.log line 2". */
function placeRange(c: Places, from: number, to: number): string {
  if (from === to) return placeOf(c, from);
  const a = c.input[from] as number;
  const b = c.input[to] as number;
  if (a !== b) return `${placeOf(c, from)}..${placeOf(c, to)}`;
  const input = c.inputs[a] as InputFile;
  const units = `${input.form === 'lines' ? 'line' : 'frame'}s ${c.where[from]}..${c.where[to]}`;
  return c.inputs.length > 1 ? `${input.name} ${units}` : units;
}

function plural(n: number | bigint, word: string): string {
  return `${n} ${word}${n === 1 || n === 1n ? '' : 's'}`;
}

function range(from: bigint, to: bigint): string {
  return from === to ? `seq=${from}` : `seq ${from}..${to}`;
}

/** One line per finding, replays of consecutive seqs folded into one line. */
export function describe(findings: readonly Finding[], c: Places): string[] {
  const at = (index: number): string => placeOf(c, index);
  const several = c.inputs.length > 1;
  /** With several files, the first entry of each session and seq: where gaps are (built at the first one asked for). */
  let firsts: Map<string, number> | undefined;
  const firstAt = (session: string, seq: bigint | undefined): number => {
    if (!firsts) {
      firsts = new Map();
      for (let i = 0; i < c.entries.length; i++) {
        const e = c.entries[i] as SealedEntry;
        const id = `${e.session}\u0000${e.seq}`;
        if (!firsts.has(id)) firsts.set(id, i);
      }
    }
    return seq === undefined ? -1 : (firsts.get(`${session}\u0000${seq}`) ?? -1);
  };
  const gapPlaces = (session: string, from: bigint, to: bigint): string => {
    // After the record right before it and before the one right after it, when they were received: a file
    // left out between two shows as "between day1.log line 90 and day3.log line 1".
    const before = firstAt(session, from - 1n);
    const after = firstAt(session, to + 1n);
    if (before >= 0 && after >= 0) return `, between ${at(before)} and ${at(after)}`;
    if (before >= 0) return `, after ${at(before)}`;
    if (after >= 0) return `, before ${at(after)}`;
    return '';
  };
  const bounds = new Map<string, { min: bigint; max: bigint }>();
  for (const e of c.entries) {
    const b = bounds.get(e.session);
    if (!b) bounds.set(e.session, { min: e.seq, max: e.seq });
    else {
      if (e.seq < b.min) b.min = e.seq;
      if (e.seq > b.max) b.max = e.seq;
    }
  }
  const lines: string[] = [];
  for (let i = 0; i < findings.length; i++) {
    const f = findings[i] as Finding;
    switch (f.kind) {
      case 'gap':
        lines.push(`GAP session=${f.session} ${range(f.from, f.to)} (${f.missing} missing${several ? gapPlaces(f.session, f.from, f.to) : ''})`);
        break;
      case 'reorder':
        lines.push(`REORDERED session=${f.session} seq=${f.seq} (${at(f.index)}: arrived after a later seq of its session)`);
        break;
      case 'altered':
        lines.push(
          f.copyOf !== undefined
            ? `ALTERED session=${f.session} seq=${f.seq} (${at(f.index)}: a second, different record with the session and seq of ${at(f.copyOf)}; ` +
                `the agent seals one record per seq, so ` +
                (f.byNext
                  ? `this one was inserted or edited (the next record is chained on ${at(f.copyOf)})`
                  : `one of the two was inserted or edited (nothing received before them tells which)`) +
                ')'
            : f.index >= 0
              ? `ALTERED session=${f.session} seq=${f.seq} (${at(f.index)}: its chain does not match its content and predecessor)`
              : `ALTERED session=${f.session} seq=${f.seq} (the next session's start event declares a different chain for it)`,
        );
        break;
      case 'forged':
        lines.push(`FORGED session=${f.session} seq=${f.seq} (${at(f.index)}: ${f.reason} not in the key file)`);
        break;
      case 'replay': {
        // Fold a run of consecutive seqs of one session (a resend window replayed after a reconnect).
        let j = i;
        while (j + 1 < findings.length) {
          const n = findings[j + 1] as Finding;
          const p = findings[j] as Finding & { kind: 'replay' };
          if (n.kind !== 'replay' || n.session !== f.session || n.seq !== p.seq + 1n) break;
          j++;
        }
        const last = findings[j] as Finding & { kind: 'replay' };
        const where = placeRange(c, f.index, last.index);
        const count = j - i + 1;
        lines.push(`REPLAY session=${f.session} ${range(f.seq, last.seq)} (${count === 1 ? '' : `${count} records `}identical, at-least-once delivery; ${where})`);
        i = j;
        break;
      }
      case 'resent': {
        // A run of consecutive seqs, as replays are: one resend window.
        let j = i;
        while (j + 1 < findings.length) {
          const n = findings[j + 1] as Finding;
          const p = findings[j] as Finding & { kind: 'resent' };
          if (n.kind !== 'resent' || n.session !== f.session || n.seq !== p.seq + 1n) break;
          j++;
        }
        const last = findings[j] as Finding & { kind: 'resent' };
        const count = j - i + 1;
        lines.push(
          `RESENT session=${f.session} ${range(f.seq, last.seq)} (${count === 1 ? '' : `${count} records `}${placeRange(c, f.index, last.index)}: ` +
            `below the first record the data holds of the session and stored after it: resent after a reconnect, ` +
            `their first copies before the data begins (the previous file); chained in seq order)`,
        );
        i = j;
        break;
      }
      case 'restart':
        lines.push(
          f.previousSession !== undefined
            ? `RESTART declared: session ${f.previousSession} ended at seq ${f.lastSeq ?? 'none'}, session ${f.session} starts at ${f.firstSeq}`
            : `START declared: session ${f.session} starts at ${f.firstSeq} (no previous session)`,
        );
        break;
      case 'undeclared_restart': {
        const now = bounds.get(f.session);
        const before = bounds.get(f.previousSession);
        // With several files, where: a file left out between two often holds a run's start event.
        const nowAt = several ? at(firstAt(f.session, now?.min)) : '';
        const beforeAt = several ? at(firstAt(f.previousSession, before?.max)) : '';
        lines.push(
          `UNDECLARED RESTART session=${f.session} (first seq received ${now?.min ?? '?'}${nowAt ? `, ${nowAt}` : ''}) after session=${f.previousSession} ` +
            `(last seq received ${before?.max ?? '?'}${beforeAt ? `, ${beforeAt}` : ''}): no start event declares the boundary` +
            (f.sameTime ? `; ${sameTimeText(f.sameTime, f.session)}` : '') +
            (f.undatedBefore === undefined
              ? ''
              : several
                ? `; nothing sealed dates it before the fresh start of session ${f.undatedBefore} (ECS records carry the time the agent read them, ` +
                  `CEF only the agent's own events, such as agent_stopped at a clean stop; a session's first record in the data cannot be checked): ` +
                  `if the first file begins inside it, check the records from that fresh start on in a separate verify run (the files of one run are one stream, ` +
                  `and their order is not sealed)`
                : `; nothing sealed dates it before the fresh start of session ${f.undatedBefore} (only ECS records carry the time the agent read them, ` +
                  `and a session's first record in the data cannot be checked): if the file begins inside it, check the part from that fresh start on separately`),
        );
        break;
      }
      case 'undeclared_records':
        lines.push(`UNDECLARED RECORDS session=${f.session} ${range(f.from, f.to)}: received after the end the next session's start event declares`);
        break;
      case 'seq_reused':
        lines.push(`SEQ REUSED session=${f.session} seq=${f.seq}: not above the last seq of session ${f.previousSession}`);
        break;
      case 'unanchored':
        lines.push(`UNANCHORED session=${f.session} seq=${f.seq}: the data starts inside this session; its first record has no predecessor to check against`);
        break;
      case 'lost':
        lines.push(
          `LOST declared: session ${f.session} ${range(f.from, f.to)} (${plural(f.to - f.from + 1n, 'seq')}) sealed but never written ` +
            `(cause ${f.cause}; declared by seq ${f.seq}${at(f.index) ? `, ${at(f.index)}` : ''})`,
        );
        break;
      case 'lost_mismatch':
        lines.push(`LOST MISMATCH session=${f.session} seq=${f.seq} (${at(f.index)}: declares ${range(f.from, f.to)} lost, but ${f.problem})`);
        break;
      case 'fresh_start':
      case 'accepted_fresh_start':
        lines.push(
          `FRESH START${f.kind === 'accepted_fresh_start' ? ' (accepted)' : ''} session=${f.session} seq=${f.seq} (${at(f.index)}): ` +
            `its start event declares no previous session, but this stream holds session ${f.after} before it` +
            (f.overlaps !== undefined ? ` and shares seqs with session ${f.overlaps}` : '') +
            `: the agent started over (its state directory lost or reset, or a second sender with this agent id and key), ` +
            `so the end of the stream before it cannot be checked` +
            (f.sameTime ? `; ${sameTimeText(f.sameTime, f.session)}` : ''),
        );
        break;
      case 'renamed':
        lines.push(
          `RENAMED ${f.undeclared ? 'undeclared' : 'declared'}: session ${f.session} continues the stream of agent "${agentName(f.from)}" ` +
            `(session ${f.previousSession ?? '?'} ended at seq ${f.lastSeq ?? 'none'})` +
            (f.held ? '' : `; no record of agent "${agentName(f.from)}" before it in this file to hold that against`) +
            (f.undeclared
              ? `; its start event names that session but not the rename (agent-name.json in the state directory lost, or not saved before the agent stopped), ` +
                `so a whole run deleted at such a rename would not be seen`
              : ''),
        );
        break;
    }
  }
  for (const line of unknownKeys(findings, c)) lines.push(line);
  return lines;
}

/**
 * One line per key id that records of the stream name and the key file lacks, after their FORGED
 * lines: a whole agent sealed with its own key (another host using this agent id, an old key left
 * out of the file) gives one FORGED line per record, which says what but not why.
 */
function unknownKeys(findings: readonly Finding[], c: Places): string[] {
  // First and last by the entries' order, which is the order read (files in the order given, records in each file).
  const byKid = new Map<string, { records: number; sessions: Set<string>; first: number; last: number }>();
  for (const f of findings) {
    if (f.kind !== 'forged' || f.kid === undefined) continue;
    const k = byKid.get(f.kid);
    if (!k) byKid.set(f.kid, { records: 1, sessions: new Set([f.session]), first: f.index, last: f.index });
    else {
      k.records++;
      k.sessions.add(f.session);
      k.first = Math.min(k.first, f.index);
      k.last = Math.max(k.last, f.index);
    }
  }
  return [...byKid].map(
    ([kid, k]) =>
      `UNKNOWN KEY id "${kid}": ${plural(k.records, 'record')} (${plural(k.sessions.size, 'session')}, ` +
      `${placeRange(c, k.first, k.last)}) name a key that is not in the key file, so they are not checked: ` +
      `made without the key, or sealed with a key the file lacks (an old key removed from it, or another host sending as this agent with its own key); ` +
      `add that key to the key file (a key ring) to check them`,
  );
}

/** Two sessions that sealed records at the same time, said in one clause (SameTime in src/seal/verify.ts). */
function sameTimeText(t: SameTime, session: string): string {
  const iso = (ms: number): string => new Date(ms).toISOString();
  return (
    `sessions ${t.other} (records sealed ${iso(t.otherSpan[0])} to ${iso(t.otherSpan[1])}) and ${session} (${iso(t.span[0])} to ${iso(t.span[1])}) ` +
    `ran at the same time by the agent's clock, which one agent never does: two senders use this agent id ` +
    `(another host with the same agent.id, or a copy of its state directory); give each its own agent.id`
  );
}

function declaredRestarts(r: VerifyReport): number {
  return r.findings.filter((f) => f.kind === 'restart' && f.previousSession !== undefined).length;
}

/** What a stream holds: records, sessions, declared restarts and losses, replays, and what was skipped. */
function facts(r: VerifyReport, otherAgents: number, foreign: number): string {
  let line = `${plural(r.records, 'record')} in ${plural(r.sessions, 'session')}, ${plural(declaredRestarts(r), 'declared restart')}`;
  // Only when there are any: the line stays as it was for streams without a loss or a fresh start (scripts read it).
  if (r.losses > 0) line += `, ${r.losses} declared loss${r.losses === 1 ? '' : 'es'} (${plural(r.lostSeqs, 'seq')})`;
  const accepted = r.findings.filter((f) => f.kind === 'accepted_fresh_start').length;
  if (accepted > 0) line += `, ${plural(accepted, 'accepted fresh start')}`;
  line += `, ${plural(r.replays, 'replay')}`;
  // Only when there are any, as above.
  const resent = r.findings.filter((f) => f.kind === 'resent').length;
  if (resent > 0) line += `, ${resent} resent from before the data`;
  if (otherAgents > 0) line += `, ${plural(otherAgents, 'record')} of other agents skipped`;
  if (foreign > 0) line += `, ${plural(foreign, 'foreign line')} skipped`;
  return line;
}

/** The failures a stream's findings hold, counted by kind. */
function failureParts(r: VerifyReport): string[] {
  const count = (k: Finding['kind']): number => r.findings.filter((f) => f.kind === k).length;
  const missing = r.findings.reduce((n, f) => (f.kind === 'gap' ? n + f.missing : n), 0n);
  const parts: string[] = [];
  const add = (n: number, what: string): void => {
    if (n > 0) parts.push(what);
  };
  add(count('gap'), `${plural(count('gap'), 'gap')} (${missing} missing)`);
  add(count('altered'), `${count('altered')} altered`);
  add(count('reorder'), `${count('reorder')} reordered`);
  add(count('forged'), `${count('forged')} forged`);
  add(count('undeclared_restart'), plural(count('undeclared_restart'), 'undeclared restart'));
  add(count('undeclared_records'), `${count('undeclared_records')} undeclared record ranges`);
  add(count('seq_reused'), plural(count('seq_reused'), 'reused seq'));
  add(count('lost_mismatch'), plural(count('lost_mismatch'), 'lost-range declaration') + ' not matching the stream');
  add(count('fresh_start'), plural(count('fresh_start'), 'fresh start') + ' (the stream started over)');
  return parts;
}

/** The file's own problems, outside any stream: records that do not parse, edited start events. */
function fileProblems(c: Collected): string[] {
  const parts: string[] = [];
  if (c.malformed > 0) parts.push(`${c.malformed} malformed`);
  if (c.unreadable > 0) parts.push(`${c.unreadable} unreadable`);
  if (c.relabelled > 0) parts.push(plural(c.relabelled, 'relabelled start event'));
  if (c.alteredStarts > 0) parts.push(plural(c.alteredStarts, 'altered start event') + ' of unknown agent');
  if (c.splitSessions > 0) parts.push(plural(c.splitSessions, 'session') + ' split between agents');
  if (c.relabelledRuns > 0) parts.push(plural(c.relabelledRuns, 'relabelled session'));
  return parts;
}

/** The summary's part for files that added nothing new to the stream (nothingNew). */
function copyParts(files: number): string[] {
  return files > 0 ? [`${plural(files, 'file')} with nothing new`] : [];
}

function summary(r: VerifyReport, c: Collected, problems: number, copies: number): string {
  const f = facts(r, c.otherAgents, c.foreign);
  if (r.ok && problems === 0 && copies === 0) return `intact: ${f}`;
  return `FAILED: ${[...failureParts(r), ...copyParts(copies), ...fileProblems(c)].join(', ')}; ${f}`;
}
