/**
 * What the pipeline tamper tests read back: the alert events a real receiver stored, and a config
 * with one file input whose rescan interval (a suspicion's grace) the test chooses.
 */
import { readFileSync, writeFileSync } from 'node:fs';

import { parseRfc5424 } from '../../src/encode/rfc5424.js';
import { writeAgentConfig, type AgentEnv, type TestReceiver } from '../helpers/agent.js';

export interface AlertEvent {
  message?: string;
  event?: { action?: string; id?: string };
  logward?: { tamper?: { unchecked?: string; input?: string } };
}

/** Distinct by event.id: a restart sends again what the destination had not acknowledged (at-least-once). */
export function alerts(receiver: TestReceiver, action: string): AlertEvent[] {
  const byId = new Map<string | undefined, AlertEvent>();
  for (const r of receiver.records) {
    const e = JSON.parse(parseRfc5424(r).msg ?? '{}') as AlertEvent;
    if (e.event?.action === action) byId.set(e.event.id, e);
  }
  return [...byId.values()];
}

/** A config with one file input `id` over `glob` in env.logs; a long `rescan` makes a suspicion's grace outlast the run. */
export function fileInputConfig(env: AgentEnv, port: number, o: { id: string; glob: string; rescan?: string; shutdownGrace?: string }): string {
  const file = writeAgentConfig(env, port, {
    ...(o.shutdownGrace !== undefined ? { shutdownGrace: o.shutdownGrace } : {}),
    inputs: `  - id: ${o.id}\n    type: file\n    paths: ["${env.logs}/${o.glob}"]\n    parser: auto\n    start_at: beginning`,
  });
  writeFileSync(file, readFileSync(file, 'utf8').replace('rescan_interval: 1s', `rescan_interval: ${o.rescan ?? '1s'}`));
  return file;
}
