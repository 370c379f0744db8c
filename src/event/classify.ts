/**
 * The event class: a stable id per *type* of event (CEF Device Event Class ID,
 * also the key SIEM content is written against), a short human name, and the
 * syslog severity used for the PRI and the CEF severity.
 *
 * Class ids are "<parser>:<action>" and never contain data from the line, so
 * they stay few and stable whatever an attacker writes.
 */
import type { EcsFields } from './types.js';

export interface EventClass {
  classId: string;
  name: string;
  severity: number;
}

/** Syslog severities (RFC 5424). */
export const SEVERITY = {
  emergency: 0,
  alert: 1,
  critical: 2,
  error: 3,
  warning: 4,
  notice: 5,
  informational: 6,
  debug: 7,
} as const;

const ACTION_NAMES: Record<string, string> = {
  authn_login_success: 'Login succeeded',
  authn_login_fail: 'Login failed',
  authn_login_fail_max: 'Login failed: too many attempts',
  authn_login_lock: 'Account locked',
  authn_session_start: 'Session opened',
  authn_session_end: 'Session closed',
  authz_fail: 'Authorization failed',
  authz_admin: 'Privileged command',
  privilege_permissions_changed: 'Privileges changed',
  session_created: 'Session opened',
  session_expired: 'Session closed',
};

/** A name made from words we chose, never from the line: action ids are validated below. */
function humanise(action: string): string {
  const known = ACTION_NAMES[action];
  if (known !== undefined) return known;
  const words = action.replace(/[_:.-]+/g, ' ').trim();
  return words.length === 0 ? 'Event' : words[0]!.toUpperCase() + words.slice(1);
}

const SAFE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The "parser" of the agent's own events (internal.ts): their class ids are "logward:<action>". */
export const AGENT_PARSER = 'logward';

export function classify(fields: EcsFields, parser: string, parsedSeverity: number | undefined): EventClass {
  const action = typeof fields['event.action'] === 'string' ? fields['event.action'] : undefined;
  const kind = typeof fields['event.kind'] === 'string' ? fields['event.kind'] : 'event';
  const outcome = typeof fields['event.outcome'] === 'string' ? fields['event.outcome'] : undefined;
  const categories = Array.isArray(fields['event.category']) ? (fields['event.category'] as string[]) : [];

  let classId: string;
  let name: string;
  if (action !== undefined && SAFE_ID.test(action)) {
    classId = `${parser}:${action}`;
    name = humanise(action);
  } else if (categories.length > 0) {
    const cat = categories.join('+');
    classId = `${parser}:${cat}${outcome ? `_${outcome}` : ''}`;
    name = `${humanise(cat)}${outcome ? ` ${outcome}` : ''}`;
  } else {
    classId = `${parser}:${kind}`;
    name = parser === 'plain' ? 'Log line' : `${humanise(parser)} ${kind}`;
  }

  let severity: number;
  // Only the agent's own alerts (internal.ts, rule alerts: parser "logward") are ranked as alerts
  // by their kind. A parsed line's kind is at most a claim (json.ts keeps a JSON line's event.kind
  // out of the event; a regex group or an input's static fields could still set it): it must not
  // give a line the PRI and CEF severity of a tamper alert. A line ranks by its own level.
  if (kind === 'alert' && parser === AGENT_PARSER) severity = SEVERITY.alert;
  else if (parsedSeverity !== undefined && parsedSeverity >= 0 && parsedSeverity <= 7) severity = parsedSeverity;
  else if (outcome === 'failure' && categories.includes('authentication')) severity = SEVERITY.warning;
  else if (outcome === 'failure') severity = SEVERITY.notice;
  else severity = SEVERITY.informational;

  return { classId, name, severity };
}
