/**
 * Loading a configuration: read, parse YAML (JSON is YAML too), fill defaults
 * and validate with the schema, semantic checks, optionally file checks, then
 * normalize. Every stage runs even when an earlier one found problems, so the
 * operator sees all of them at once; a stage only skips the parts an earlier
 * stage already reported (see semantic.ts).
 *
 * Each finding names its config path in the user's terms and, when the key is
 * in the document, the line it is on ("(line 12)"), so that a config merged
 * from a template can still be fixed from the message alone.
 */

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, ConfigErrors } from '../errors.js';
import { currentAccount, resolveAccount, type Account } from './account.js';
import { fileChecks } from './files.js';
import { error, formatPath, type ConfigPath, type Finding } from './finding.js';
import { normalizeConfig } from './normalize.js';
import { validateSchema } from './schema.js';
import type { RawConfig } from './schema-types.js';
import { semanticChecks } from './semantic.js';
import type { Config } from './types.js';

export interface LoadOptions {
  /** Check files (certificates, keys, permissions, directories): what `logward check` does. Default false. */
  readonly checkFiles?: boolean;
  /** With checkFiles: judge readability and ownership for this user instead of the current process. */
  readonly asUser?: string;
  /** "Now" for certificate expiry (tests). */
  readonly now?: Date;
}

/** Everything known about a configuration file: the config if it is valid, and all problems and warnings. */
export interface ConfigReport {
  readonly file: string;
  readonly config?: Config;
  /** Errors: the config must not be used. */
  readonly problems: readonly ConfigError[];
  /** Worth fixing, but the config works. */
  readonly warnings: readonly ConfigError[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** 1-based line of the deepest node of `p` present in the document (the key itself for a mapping entry); undefined if none is. */
function lineOf(doc: Document, counter: LineCounter, p: ConfigPath): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const seg of p) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
      if (pair === undefined) break;
      if (isScalar(pair.key) && pair.key.range !== undefined && pair.key.range !== null) offset = pair.key.range[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      node = item;
      const range = (item as { range?: [number, number, number] | null }).range;
      if (range !== undefined && range !== null) offset = range[0];
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : counter.linePos(offset).line;
}

function toConfigError(f: Finding, where?: number): ConfigError {
  return new ConfigError(formatPath(f.path), where === undefined ? f.problem : `${f.problem} (line ${where})`);
}

/** Inspects configuration text. `file` is used for messages and to resolve relative paths ('' = none). */
export async function inspectConfigText(text: string, file: string, opts: LoadOptions = {}): Promise<ConfigReport> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: true });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const pos = syntax.linePos?.[0];
    const msg = (syntax.message.split('\n')[0] ?? syntax.message).replace(/ at line \d+, column \d+:?$/, '');
    const where = pos === undefined ? '' : ` at line ${pos.line}, column ${pos.col}`;
    return { file, problems: [new ConfigError('', `YAML syntax error${where}: ${msg}`)], warnings: [] };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // Alias bombs and similar: a document that cannot be turned into data.
    return { file, problems: [new ConfigError('', `YAML cannot be read: ${e instanceof Error ? e.message : String(e)}`)], warnings: [] };
  }
  data ??= {};
  const written: unknown = structuredClone(data);

  const findings: Finding[] = validateSchema(data);
  if (isRecord(data)) findings.push(...semanticChecks(data as unknown as RawConfig, written, findings));

  if (opts.checkFiles === true && isRecord(data)) {
    const self = currentAccount();
    let account: Account | undefined;
    let usable = true;
    if (opts.asUser !== undefined) {
      account = await resolveAccount(opts.asUser);
      if (account === undefined) {
        findings.push(error([], `--as-user ${opts.asUser}: no such user`));
        usable = false;
      }
    }
    if (usable) {
      const baseDir = file === '' ? process.cwd() : path.dirname(path.resolve(file));
      const opt = { baseDir, self, now: opts.now ?? new Date(), ...(account === undefined ? {} : { account }) };
      findings.push(...(await fileChecks(data as unknown as RawConfig, opt, findings)));
    }
  }

  const located = (f: Finding): ConfigError => toConfigError(f, f.path.length === 0 ? undefined : lineOf(doc, counter, f.path));
  const problems = findings.filter((f) => f.severity === 'error').map(located);
  const warnings = findings.filter((f) => f.severity === 'warning').map(located);
  if (problems.length > 0) return { file, problems, warnings };
  const config = normalizeConfig(data as unknown as RawConfig, file === '' ? '' : path.resolve(file));
  return { file, config, problems, warnings };
}

/** Reads and inspects a configuration file; never throws for problems of the file or its content. */
export async function inspectConfig(file: string, opts: LoadOptions = {}): Promise<ConfigReport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = e !== null && typeof e === 'object' && 'code' in e ? String(e.code) : String(e);
    const problem = code === 'ENOENT' ? 'file does not exist' : `file cannot be read: ${code}`;
    return { file, problems: [new ConfigError('', problem)], warnings: [] };
  }
  return inspectConfigText(text, file, opts);
}

/**
 * Loads, validates and normalizes a configuration file.
 * Throws ConfigErrors(file, problems) with every problem found (warnings are not problems).
 */
export async function loadConfig(file: string, opts: LoadOptions = {}): Promise<Config> {
  const report = await inspectConfig(file, opts);
  if (report.config === undefined) throw new ConfigErrors(file, report.problems);
  return report.config;
}

/** Same as loadConfig for text already in memory (demo, tests); `file` names it in messages. */
export async function loadConfigText(text: string, file = '', opts: LoadOptions = {}): Promise<Config> {
  const report = await inspectConfigText(text, file, opts);
  if (report.config === undefined) throw new ConfigErrors(file || '(config)', report.problems);
  return report.config;
}
