/**
 * Test helper: the agent's own events after the start event, sealed onto a run
 * the way src/pipeline.ts seals them (InternalEvents.make at the agent's clock,
 * encodeEvent in the output format, labelled with the agent id): what dates a
 * CEF run, whose log events carry only the time their lines state.
 */
import { syslogParts } from '../../src/encode/rfc5424.js';
import { encodeEvent } from '../../src/encode/validate.js';
import { InternalEvents, stopSpec, type InternalEventSpec } from '../../src/event/internal.js';
import { Counters } from '../../src/monitor/counters.js';
import { VERSION } from '../../src/version.js';
import { SD_ID, type AgentOptions, type Run } from './sealed-stream.js';

/** Seals one of the agent's own events (`spec`), made at `at` by its clock, onto a run. */
export function sealAgentEvent(run: Run, spec: InternalEventSpec, opts: AgentOptions & { at: Date }): void {
  // A new InternalEvents per event: event ids are not what verify checks, the session is.
  const internal = new InternalEvents({ id: opts.agent, version: VERSION, hostName: 'host-1', ecsVersion: '9.4.0', session: run.sealer.session });
  const ev = internal.make(spec, opts.at);
  const enc = encodeEvent(ev, opts.format, { counters: new Counters(), cef: { vendor: 'logward', product: 'logward', version: VERSION } });
  if (!enc.valid) throw new Error(`invalid ${opts.format} event: ${enc.payload}`);
  const parts = syslogParts(ev, enc.payload, { sdId: SD_ID, msgId: opts.format === 'ecs' ? 'ECS' : 'CEF', agentId: opts.agent, hostname: opts.agent });
  run.records.push(Buffer.from(run.sealer.sealBytes(parts).message));
}

/** The agent_stopped event a clean stop seals last (src/pipeline.ts stopOnce, with its own builder), at `at`. */
export function stopRun(run: Run, opts: AgentOptions & { at: Date }): void {
  sealAgentEvent(run, stopSpec(VERSION, 'stopping on SIGTERM', run.sealer.session), opts);
}
