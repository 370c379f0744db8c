/**
 * The alert rules that ship built in, and how configured rules combine with
 * them (`alerts:` adds rules; a configured rule with the name of a built-in
 * one replaces it, which is also how a built-in rule is tuned or defused: give
 * it a threshold no burst reaches).
 *
 * | name                      | counts (when)                                             | per          | threshold | window |
 * | ------------------------- | --------------------------------------------------------- | ------------ | --------- | ------ |
 * | credential-stuffing       | event.category authentication, event.outcome failure      | source.ip    | 10 events | 60 s   |
 * | password-spraying         | event.category authentication, event.outcome failure      | source.ip    | 5 distinct user.name | 5 min |
 * | sudo-failures             | event.category process, outcome failure, action authn_login_fail or authz_fail | user.name | 3 events | 5 min |
 * | http-auth-failures        | http.response.status_code 401 or 403                      | source.ip    | 20 events | 60 s   |
 * | input-validation-failures | http.response.status_code 400 or 422                      | source.ip    | 20 events | 60 s   |
 *
 * Decisions, and what they cost:
 * - credential-stuffing counts every authentication failure that names a
 *   source.ip, whoever logged it: sshd, PAM (vsftpd, login), and applications
 *   logging ECS JSON (the API credential-stuffing case). On Debian-like systems
 *   one failed ssh password is logged twice, by pam_unix ("authentication
 *   failure; ... rhost=IP") and by sshd ("Failed password ... from IP"), and
 *   an unknown user adds "Invalid user ... from IP": such an attempt counts
 *   two or three times, so the rule fires after 4 to 5 ssh password guesses.
 *   That errs towards alerting; the rule cannot tell the lines apart without
 *   losing the PAM-only and application sources. Who wants sshd alone can
 *   replace the rule with `when: { event.action: authn_login_fail,
 *   network.protocol: ssh }` (sshd's own lines carry network.protocol ssh,
 *   PAM's do not).
 * - password-spraying counts distinct user names, so the same double logging
 *   does not inflate it.
 * - sudo-failures counts sudo's own summary lines: "N incorrect password
 *   attempts" (categories authentication + process) and denials such as "user
 *   NOT in sudoers" (process, authz_fail). These are the only process-category
 *   failures the auth parser produces; the separate pam_unix(sudo:auth) line
 *   is not counted, so one failed sudo run counts once. It works for auth.log
 *   and the journal alike (the journal's process.name is overwritten by the
 *   command sudo was asked to run, so the rule does not key on it).
 * - The HTTP rules count per client address as the access log states it
 *   (source.ip): behind a proxy that is the proxy unless the log format writes
 *   the client's address.
 */
import type { AlertRuleConfig } from '../config/types.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export const DEFAULT_RULES: readonly AlertRuleConfig[] = Object.freeze<AlertRuleConfig[]>([
  {
    name: 'credential-stuffing',
    when: { 'event.category': ['authentication'], 'event.outcome': ['failure'] },
    groupBy: ['source.ip'],
    threshold: 10,
    windowMs: 60 * SECOND,
  },
  {
    name: 'password-spraying',
    when: { 'event.category': ['authentication'], 'event.outcome': ['failure'] },
    groupBy: ['source.ip'],
    distinct: 'user.name',
    threshold: 5,
    windowMs: 5 * MINUTE,
  },
  {
    name: 'sudo-failures',
    when: { 'event.category': ['process'], 'event.outcome': ['failure'], 'event.action': ['authn_login_fail', 'authz_fail'] },
    groupBy: ['user.name'],
    threshold: 3,
    windowMs: 5 * MINUTE,
  },
  {
    name: 'http-auth-failures',
    when: { 'http.response.status_code': [401, 403] },
    groupBy: ['source.ip'],
    threshold: 20,
    windowMs: 60 * SECOND,
  },
  {
    name: 'input-validation-failures',
    when: { 'http.response.status_code': [400, 422] },
    groupBy: ['source.ip'],
    threshold: 20,
    windowMs: 60 * SECOND,
  },
]);

/** The built-in rules, with configured rules of the same name in their place, then the other configured rules in order. */
export function effectiveRules(configured: readonly AlertRuleConfig[]): AlertRuleConfig[] {
  const byName = new Map(configured.map((r) => [r.name, r]));
  const out: AlertRuleConfig[] = DEFAULT_RULES.map((d) => byName.get(d.name) ?? d);
  const builtIn = new Set(DEFAULT_RULES.map((d) => d.name));
  for (const r of configured) if (!builtIn.has(r.name)) out.push(r);
  return out;
}

/** The default rules as a Markdown table (the README's copy is generated from this). */
export function defaultRulesMarkdown(): string {
  const rows = DEFAULT_RULES.map((r) => {
    const when = Object.entries(r.when)
      .map(([k, v]) => `\`${k}\`: ${v.map((x) => `\`${String(x)}\``).join(' or ')}`)
      .join(', ');
    const counts = r.distinct === undefined ? `${r.threshold} events` : `${r.threshold} distinct \`${r.distinct}\``;
    const per = r.groupBy.length === 0 ? 'all' : r.groupBy.map((g) => `\`${g}\``).join(', ');
    return `| \`${r.name}\` | ${when} | ${per} | ${counts} | ${r.windowMs / 1000} s |`;
  });
  return ['| rule | counts events with | per | fires at | within |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}
