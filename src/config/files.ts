/**
 * File checks of `logward check` (loadConfig with checkFiles): that the files
 * a config names exist, can be read by the agent's user, parse, match, are
 * not about to expire, and that secrets are not exposed.
 *
 * Decisions:
 * - Secrets (integrity.key_file, output.destination.key) are refused when any
 *   group/other permission bit is set (mode & 0o077), or when owned by anyone
 *   other than the agent's user or root: either means someone else could read
 *   or replace the key.
 * - Certificates: expired or not yet valid -> error; expiring within 30 days
 *   -> warning (the agent keeps working; the sink raises a warning event too).
 *   In a CA bundle an expired certificate is only a warning while another one
 *   in the bundle is valid: system-style bundles routinely carry old roots.
 * - A log directory that does not exist is a warning: logs may appear later.
 * - With no --as-user, "readable" is access(2) for this process; with one,
 *   permission bits against that user's uid and groups (account.ts).
 */

import { parseKeyFile } from '../seal/key.js';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { permits, type Account } from './account.js';
import { error, overlaps, warning, type ConfigPath, type Finding } from './finding.js';
import { resolveConfigPath } from './normalize.js';
import type { RawConfig } from './schema-types.js';

export const EXPIRY_WARNING_DAYS = 30;
export const MIN_HMAC_KEY_BYTES = 32;
const DAY_MS = 86_400_000;

export interface FileCheckOptions {
  /** Directory relative paths are resolved against (the config file's). */
  readonly baseDir: string;
  /** The agent's user with --as-user; undefined: this process, via access(2). */
  readonly account?: Account;
  /** The current account, for ownership checks when no --as-user is given. */
  readonly self: Account;
  readonly now: Date;
}

function errno(e: unknown): string {
  return e !== null && typeof e === 'object' && 'code' in e ? String(e.code) : e instanceof Error ? e.message : String(e);
}

function modeString(st: Stats): string {
  return `0${(st.mode & 0o777).toString(8).padStart(3, '0')}`;
}

class Checker {
  readonly findings: Finding[] = [];
  constructor(private readonly opts: FileCheckOptions) {}

  private get who(): string {
    return this.opts.account === undefined ? 'this user' : `user ${this.opts.account.name}`;
  }

  resolve(p: string): string {
    return resolveConfigPath(this.opts.baseDir, p);
  }

  /** Can the agent's user reach and read `file` (every ancestor directory searchable)? Problem text or undefined. */
  private async readProblem(file: string): Promise<string | undefined> {
    const account = this.opts.account;
    if (account === undefined) {
      try {
        await access(file, constants.R_OK);
        return undefined;
      } catch (e) {
        return `cannot be read by ${this.who}: ${errno(e)}`;
      }
    }
    const parts = path.resolve(file).split(path.sep).filter((p) => p !== '');
    let dir: string = path.sep;
    try {
      for (const part of parts.slice(0, -1)) {
        dir = path.join(dir, part);
        const st = await stat(dir);
        if (!permits(st, account, 'search')) return `cannot be read by ${this.who}: directory ${dir} is not searchable (mode ${modeString(st)})`;
      }
      const st = await stat(file);
      return permits(st, account, 'read') ? undefined : `cannot be read by ${this.who} (owner uid ${st.uid}, mode ${modeString(st)})`;
    } catch (e) {
      // This process may itself be unable to look (not root): say so rather than guess.
      return `cannot be examined for ${this.who} at ${dir}: ${errno(e)}`;
    }
  }

  /** Stat + readability; reports and returns undefined when the file is unusable. */
  async regularFile(at: ConfigPath, file: string): Promise<Stats | undefined> {
    let st: Stats;
    try {
      st = await stat(file);
    } catch (e) {
      const code = errno(e);
      this.findings.push(error(at, code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be examined: ${code}`));
      return undefined;
    }
    if (!st.isFile()) {
      this.findings.push(error(at, `${file} is not a regular file`));
      return undefined;
    }
    const problem = await this.readProblem(file);
    if (problem !== undefined) {
      this.findings.push(error(at, `${file} ${problem}`));
      return undefined;
    }
    return st;
  }

  /** Owner and mode rules for a secret. */
  secretPermissions(at: ConfigPath, file: string, st: Stats): void {
    const agent = this.opts.account ?? this.opts.self;
    if ((st.mode & 0o077) !== 0) {
      this.findings.push(error(at, `${file} is accessible to group or others (mode ${modeString(st)}); run chmod 600 ${file}`));
    }
    if (st.uid !== 0 && st.uid !== agent.uid) {
      this.findings.push(error(at, `${file} is owned by uid ${st.uid}, not by the agent's user (${agent.name}, uid ${agent.uid}) or root`));
    }
  }

  /** Parses every certificate of a PEM file; reports and returns [] when there is none or one is broken. */
  async certificates(at: ConfigPath, file: string): Promise<X509Certificate[]> {
    const pem = await readFile(file, 'latin1');
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) {
      this.findings.push(error(at, `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`));
      return [];
    }
    const certs: X509Certificate[] = [];
    for (const [i, block] of blocks.entries()) {
      try {
        certs.push(new X509Certificate(block));
      } catch (e) {
        this.findings.push(error(at, `${file}: certificate ${i + 1} cannot be parsed: ${e instanceof Error ? e.message : String(e)}`));
        return [];
      }
    }
    return certs;
  }

  /** Validity period problem of one certificate: 'error' text, 'warning' text, or undefined. */
  validity(cert: X509Certificate): { severity: 'error' | 'warning'; text: string } | undefined {
    const now = this.opts.now.getTime();
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    const subject = cert.subject.replace(/\n/g, ', ');
    if (to.getTime() < now) return { severity: 'error', text: `certificate "${subject}" expired on ${to.toISOString()}` };
    if (from.getTime() > now) return { severity: 'error', text: `certificate "${subject}" is not valid before ${from.toISOString()}` };
    const days = Math.floor((to.getTime() - now) / DAY_MS);
    if (days < EXPIRY_WARNING_DAYS) return { severity: 'warning', text: `certificate "${subject}" expires in ${days} day(s), on ${to.toISOString()}` };
    return undefined;
  }

  async ca(at: ConfigPath, file: string): Promise<void> {
    if ((await this.regularFile(at, file)) === undefined) return;
    const certs = await this.certificates(at, file);
    const verdicts = certs.map((c) => this.validity(c));
    const anyValid = verdicts.some((v) => v === undefined || v.severity === 'warning');
    for (const v of verdicts) {
      if (v === undefined) continue;
      const severe = v.severity === 'error' && !anyValid;
      this.findings.push(severe ? error(at, `${file}: ${v.text}`) : warning(at, `${file}: ${v.text}`));
    }
  }

  async clientPair(certAt: ConfigPath, certFile: string, keyAt: ConfigPath, keyFile: string): Promise<void> {
    let leaf: X509Certificate | undefined;
    if ((await this.regularFile(certAt, certFile)) !== undefined) {
      const chain = await this.certificates(certAt, certFile);
      leaf = chain[0];
      for (const c of chain) {
        const v = this.validity(c);
        if (v !== undefined) this.findings.push({ path: certAt, problem: `${certFile}: ${v.text}`, severity: v.severity });
      }
    }
    const st = await this.regularFile(keyAt, keyFile);
    if (st === undefined) return;
    this.secretPermissions(keyAt, keyFile, st);
    const pem = await readFile(keyFile);
    // Checked on the text: OpenSSL only says "interrupted or cancelled" when it finds no passphrase.
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem.toString('latin1'))) {
      this.findings.push(error(keyAt, `${keyFile} is encrypted; the agent starts unattended and needs an unencrypted key`));
      return;
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch (e) {
      this.findings.push(error(keyAt, `${keyFile} is not a private key the agent can read: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    if (leaf !== undefined && !leaf.checkPrivateKey(key)) {
      this.findings.push(error(keyAt, `${keyFile} does not match the certificate in ${certFile}`));
    }
  }

  async hmacKey(at: ConfigPath, file: string): Promise<void> {
    const st = await this.regularFile(at, file);
    if (st === undefined) return;
    this.secretPermissions(at, file, st);
    // The same parser the agent seals with: a key ring with a bad line must fail here, not at `run`.
    let keys: Buffer[];
    try {
      keys = parseKeyFile(await readFile(file), file);
    } catch (e) {
      this.findings.push(error(at, (e as Error).message));
      return;
    }
    const short = keys.findIndex((k) => k.length < MIN_HMAC_KEY_BYTES);
    if (short !== -1) {
      this.findings.push(
        error(at, `${file}: key ${short + 1} holds ${keys[short]!.length} byte(s); an HMAC-SHA256 key needs at least ${MIN_HMAC_KEY_BYTES} (e.g. head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > ${file})`),
      );
    }
  }

  async stateDir(at: ConfigPath, dir: string): Promise<void> {
    const account = this.opts.account;
    const usable = async (d: string, st: Stats): Promise<boolean> => {
      if (account !== undefined) return permits(st, account, 'write') && permits(st, account, 'search');
      try {
        await access(d, constants.W_OK | constants.X_OK);
        return true;
      } catch (e) {
        return errno(e) === 'ENOENT';
      }
    };
    let st: Stats | undefined;
    try {
      st = await stat(dir);
    } catch (e) {
      if (errno(e) !== 'ENOENT') {
        this.findings.push(error(at, `${dir} cannot be examined: ${errno(e)}`));
        return;
      }
    }
    if (st !== undefined) {
      if (!st.isDirectory()) this.findings.push(error(at, `${dir} exists and is not a directory`));
      else if (!(await usable(dir, st))) this.findings.push(error(at, `${dir} is not writable by ${this.who} (owner uid ${st.uid}, mode ${modeString(st)})`));
      else if ((st.mode & 0o077) !== 0) this.findings.push(warning(at, `${dir} is accessible to group or others (mode ${modeString(st)}); logs at rest should be 0700`));
      return;
    }
    // Missing: fine if its parent exists, or if the nearest existing ancestor lets the agent create the path.
    const parent = path.dirname(dir);
    let ancestor = parent;
    for (;;) {
      try {
        const ast = await stat(ancestor);
        if (ancestor === parent) return;
        if (!ast.isDirectory() || !(await usable(ancestor, ast))) {
          this.findings.push(error(at, `${dir} does not exist, and neither does its parent; ${this.who} cannot create it under ${ancestor}`));
        }
        return;
      } catch (e) {
        if (errno(e) !== 'ENOENT') {
          this.findings.push(error(at, `${ancestor} cannot be examined: ${errno(e)}`));
          return;
        }
      }
      const up = path.dirname(ancestor);
      if (up === ancestor) return;
      ancestor = up;
    }
  }

  /** Directories that must exist for a glob to ever match; missing ones are warnings. */
  async logDirectory(at: ConfigPath, glob: string): Promise<void> {
    const scan = picomatch.scan(glob);
    const dir = scan.isGlob ? scan.base : path.dirname(glob);
    if (dir === '') return;
    try {
      const st = await stat(dir);
      if (!st.isDirectory()) this.findings.push(warning(at, `${dir} is not a directory, so this path matches nothing`));
      else if (this.opts.account !== undefined && !(permits(st, this.opts.account, 'search') && permits(st, this.opts.account, 'read'))) {
        this.findings.push(warning(at, `${dir} cannot be listed by ${this.who} (mode ${modeString(st)})`));
      }
    } catch (e) {
      this.findings.push(warning(at, errno(e) === 'ENOENT' ? `directory ${dir} does not exist (yet)` : `directory ${dir} cannot be examined: ${errno(e)}`));
    }
  }
}

/** All file checks; parts of the config with schema findings are skipped (see semantic.ts). */
export async function fileChecks(raw: RawConfig, opts: FileCheckOptions, earlier: readonly Finding[]): Promise<Finding[]> {
  const c = new Checker(opts);
  // A key is checked only if no error sits at it or above it (wrong type, missing section): its value is then what the schema promises.
  const clean = (p: ConfigPath): boolean => !earlier.some((f) => f.severity === 'error' && f.path.length <= p.length && overlaps(f.path, p));

  if (clean(['integrity', 'key_file']) && typeof raw.integrity?.key_file === 'string') {
    await c.hmacKey(['integrity', 'key_file'], c.resolve(raw.integrity.key_file));
  }
  const d = raw.output?.destination;
  if (d !== undefined && d.protocol === 'tls') {
    if (typeof d.ca === 'string' && d.ca !== 'system' && clean(['output', 'destination', 'ca'])) {
      await c.ca(['output', 'destination', 'ca'], c.resolve(d.ca));
    }
    if (typeof d.cert === 'string' && typeof d.key === 'string' && clean(['output', 'destination', 'cert']) && clean(['output', 'destination', 'key'])) {
      await c.clientPair(['output', 'destination', 'cert'], c.resolve(d.cert), ['output', 'destination', 'key'], c.resolve(d.key));
    }
  }
  if (typeof raw.agent?.state_dir === 'string' && clean(['agent', 'state_dir'])) {
    await c.stateDir(['agent', 'state_dir'], c.resolve(raw.agent.state_dir));
  }
  if (Array.isArray(raw.inputs)) {
    for (const [i, input] of raw.inputs.entries()) {
      if (input === null || typeof input !== 'object') continue;
      if (input.type === 'file' && Array.isArray(input.paths)) {
        for (const [j, p] of input.paths.entries()) {
          if (typeof p === 'string' && p.startsWith('/') && clean(['inputs', i, 'paths', j])) await c.logDirectory(['inputs', i, 'paths', j], p);
        }
      }
      if (input.type === 'journald' && typeof input.directory === 'string' && clean(['inputs', i, 'directory'])) {
        const dir = c.resolve(input.directory);
        try {
          if (!(await stat(dir)).isDirectory()) c.findings.push(error(['inputs', i, 'directory'], `${dir} is not a directory`));
        } catch (e) {
          c.findings.push(warning(['inputs', i, 'directory'], `${dir} cannot be examined: ${errno(e)}`));
        }
      }
    }
  }
  return c.findings;
}
