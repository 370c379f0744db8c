/**
 * Builds the ECS event from a sanitized line and what a parser made of it.
 *
 * Everything here is agent-side fact (where, when read, which agent, which
 * identity), plus the parser's fields. The only text taken from the line is
 * already neutralized and redacted; fields the agent adds come from the config
 * (sanitized when it was loaded) or from the host itself.
 */
import { hash } from 'node:crypto';

import { classify } from './classify.js';
import { EventIdDeriver } from './id.js';
import type { EcsFields, FieldValue, LogEvent, ParseResult, RawRecord } from './types.js';

export interface AgentInfo {
  id: string;
  version: string;
  hostName: string;
  hostIps?: readonly string[];
  ecsVersion: string;
}

export interface BuildInput {
  raw: RawRecord;
  /** The neutralized, redacted line: becomes event.original. */
  original: string;
  parsed: ParseResult;
  /** Tags the sanitizer and the reader added (log_injection_neutralized, truncated, …). */
  tags: readonly string[];
  /** Static fields from the input's config. */
  extraFields?: Readonly<EcsFields>;
  now: Date;
}

const RELATED_IP_FIELDS = ['source.ip', 'destination.ip', 'client.ip', 'server.ip'] as const;
const RELATED_USER_FIELDS = ['user.name', 'user.effective.name', 'user.target.name', 'source.user.name'] as const;

export class EventBuilder {
  private readonly ids: EventIdDeriver;

  constructor(private readonly agent: AgentInfo) {
    this.ids = new EventIdDeriver(agent.id);
  }

  build(input: BuildInput): LogEvent {
    const { raw, parsed } = input;
    const f: EcsFields = {};
    const nowIso = input.now.toISOString();
    const ts = parsed.timestamp && !Number.isNaN(parsed.timestamp.getTime()) ? parsed.timestamp.toISOString() : undefined;
    const sourceTs = raw.fields?.['@timestamp'];

    f['ecs.version'] = this.agent.ecsVersion;
    if (parsed.message !== undefined) f['message'] = parsed.message;

    // Source-provided fields first (journald), then the parser's, then config: later wins.
    if (raw.fields) copyInto(f, raw.fields);
    copyInto(f, parsed.fields);
    if (input.extraFields) copyInto(f, input.extraFields);

    f['@timestamp'] = ts ?? (typeof sourceTs === 'string' ? sourceTs : nowIso);
    if (f['event.kind'] === undefined) f['event.kind'] = 'event';
    f['event.created'] = nowIso;
    f['event.original'] = input.original;
    f['event.hash'] = hash('sha256', input.original, 'hex');
    f['event.id'] = this.ids.derive(raw.source);
    f['event.module'] = parsed.parser;
    if (parsed.timezone !== undefined) f['event.timezone'] = parsed.timezone;
    if (parsed.severity !== undefined) f['event.severity'] = parsed.severity;
    if (f['message'] === undefined) f['message'] = input.original;

    if (raw.source.path !== undefined) f['log.file.path'] = raw.source.path;
    if (raw.source.offset !== undefined && raw.source.cursor === undefined) f['log.offset'] = raw.source.offset;

    f['agent.type'] = 'logward';
    f['agent.name'] = this.agent.id;
    f['agent.id'] = this.agent.id;
    f['agent.version'] = this.agent.version;
    f['host.name'] = this.agent.hostName;
    if (this.agent.hostIps && this.agent.hostIps.length > 0) f['host.ip'] = [...this.agent.hostIps];
    f['logward.input'] = raw.source.input;

    addRelated(f, 'related.ip', RELATED_IP_FIELDS);
    addRelated(f, 'related.user', RELATED_USER_FIELDS);

    const tags = mergeTags(f['tags'], parsed.tags, input.tags);
    if (tags.length > 0) f['tags'] = tags;
    else delete f['tags'];

    const cls = classify(f, parsed.parser, parsed.severity);
    return { fields: f, source: raw.source, severity: cls.severity, classId: cls.classId, name: cls.name };
  }
}

function copyInto(target: EcsFields, from: Readonly<EcsFields>): void {
  for (const key in from) {
    const v = from[key];
    if (v !== undefined) target[key] = v;
  }
}

function addRelated(f: EcsFields, to: string, fields: readonly string[]): void {
  let values: string[] | undefined;
  for (const name of fields) {
    const v = f[name];
    if (typeof v === 'string' && v.length > 0) {
      values ??= [];
      if (!values.includes(v)) values.push(v);
    }
  }
  if (values) f[to] = values;
}

function mergeTags(existing: FieldValue | undefined, ...more: (readonly string[] | undefined)[]): string[] {
  const out: string[] = [];
  const push = (t: unknown): void => {
    if (typeof t === 'string' && !out.includes(t)) out.push(t);
  };
  if (Array.isArray(existing)) existing.forEach(push);
  else push(existing);
  for (const list of more) list?.forEach(push);
  return out;
}
