/**
 * `logward check -c FILE [--as-user NAME]`: everything loadConfig checks, plus
 * files, certificates, keys and permissions, rendered as one line per problem
 * (`FILE: path: problem`) and one summary line. The exit code is the CLI's
 * business (0 when ok, 2 when not); warnings are printed but never fail.
 */

import type { ConfigError } from '../errors.js';
import { inspectConfig, type ConfigReport } from './load.js';
import type { Config } from './types.js';

export interface CheckResult {
  /** True when the config can be used (warnings allowed). */
  readonly ok: boolean;
  /** One line per problem, then one per warning ("FILE: path: warning: …"). */
  readonly lines: readonly string[];
  /** One line: "FILE: ok — …" or "FILE: invalid — N problem(s)". */
  readonly summary: string;
}

function line(file: string, e: ConfigError, prefix = ''): string {
  return e.configPath === '' ? `${file}: ${prefix}${e.problem}` : `${file}: ${e.configPath}: ${prefix}${e.problem}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** What the config will do, in one line. */
export function describeConfig(config: Config): string {
  const d = config.output.destination;
  const first = d.hosts[0];
  const host = first === undefined ? '(none)' : `${first.host.includes(':') ? `[${first.host}]` : first.host}:${first.port}`;
  const failover = d.hosts.length > 1 ? ` (+${d.hosts.length - 1} failover)` : '';
  return [
    plural(config.inputs.length, 'input'),
    `destination ${d.protocol} ${host}${failover}`,
    `format ${config.output.format}`,
    plural(config.alerts.length, 'alert rule'),
  ].join(', ');
}

export function renderReport(report: ConfigReport): CheckResult {
  const lines = [...report.problems.map((e) => line(report.file, e)), ...report.warnings.map((e) => line(report.file, e, 'warning: '))];
  const warned = report.warnings.length > 0 ? ` (${plural(report.warnings.length, 'warning')})` : '';
  if (report.config === undefined) {
    return { ok: false, lines, summary: `${report.file}: invalid — ${plural(report.problems.length, 'problem')}${warned}` };
  }
  return { ok: true, lines, summary: `${report.file}: ok — ${describeConfig(report.config)}${warned}` };
}

export async function checkConfig(file: string, opts: { asUser?: string; now?: Date } = {}): Promise<CheckResult> {
  return renderReport(await inspectConfig(file, { ...opts, checkFiles: true }));
}
