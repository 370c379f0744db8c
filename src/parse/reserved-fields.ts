/**
 * Fields that state facts of the agent, of the host it runs on, or of how the
 * agent handled the line: never taken from a line, whichever parser reads it.
 * The json parser moves a line's claim to json.*; a regex pattern whose group
 * names one is refused when the config is checked and when the parser is
 * made (an operator's `(?<host__name>…)` would let every line it matches name
 * another host). One list, so that the two cannot disagree.
 */

/**
 * Fields the agent sets, or that describe the agent, the host it runs on or
 * its handling of the line. event.kind is here because a line that says
 * "alert" would otherwise read as (and, in CEF, be ranked like) one of the
 * agent's own alerts. Is a JSON line's event.kind ever legitimate? The ECS
 * logging libraries (ecs-logging for Node, Java, Python, Go, .NET) do not write
 * it; a detection engine logging its alerts as ECS JSON would, but the agent
 * cannot tell that engine from any other writer of the file, so every line
 * read is an "event" and its claim is kept, as data, in json.event.kind (the
 * engine's own level still ranks the line). event.severity is the
 * severity the agent derived from the line's level (build.ts); event.module
 * and event.timezone say which parser read the line and in which zone;
 * event.agent_id_status belongs to the receiver.
 */
const RESERVED = new Set([
  '@timestamp',
  'ecs.version',
  'event.id',
  'event.sequence',
  'event.created',
  'event.ingested',
  'event.hash',
  'event.original',
  'event.kind',
  'event.severity',
  'event.module',
  'event.timezone',
  'event.agent_id_status',
  'tags',
  'message',
  'log.offset',
]);
/**
 * agent.* is this agent; host.* the host it runs on (host.name and host.ip
 * are what it ships in CEF dvchost and the syslog header); related.* the
 * pivots the builder computes from the event's own fields; log.file.* the
 * file it read; logward.* its own namespace (input, rule alerts);
 * data_stream.* routes a document to an index downstream.
 */
const RESERVED_PREFIXES = ['agent.', 'host.', 'related.', 'log.file.', 'logward.', 'data_stream.'] as const;

/** First characters of the reserved prefixes: most paths are told apart by one charCodeAt. */
const RESERVED_PREFIX_STARTS = new Set(RESERVED_PREFIXES.map((p) => p.charCodeAt(0)));

/** True when `field` (a flat dotted name) is one the agent sets itself and a line must not. */
export function isReservedField(field: string): boolean {
  if (RESERVED_PREFIX_STARTS.has(field.charCodeAt(0))) {
    for (const p of RESERVED_PREFIXES) if (field.startsWith(p)) return true;
  }
  return RESERVED.has(field);
}
