/**
 * What a reload changes that an operator must hear about. Controls must not
 * weaken silently: removing a redaction, removing an alert rule or changing
 * its threshold, window or condition, or turning off a monitor each becomes a
 * warning event in the stream (the SIEM sees that the agent was reconfigured,
 * and how). Some keys cannot change in a running agent at all.
 */
import type { AlertRuleConfig, Config } from './types.js';
import { effectiveRules } from '../rules/defaults.js';

/** Keys whose change needs a restart: the agent's identity and where its state lives. */
export function immutableChanges(old: Config, next: Config): string[] {
  const out: string[] = [];
  if (old.agent.id !== next.agent.id) out.push(`agent.id cannot change while running (${old.agent.id} -> ${next.agent.id}); restart the service`);
  if (old.agent.stateDir !== next.agent.stateDir) out.push(`agent.state_dir cannot change while running (${old.agent.stateDir} -> ${next.agent.stateDir}); restart the service`);
  return out;
}

/** One line per control the new config weakens or changes in a way that can hide events. */
export function weakenedControls(old: Config, next: Config): string[] {
  const out: string[] = [];
  const r0 = old.processing.redact;
  const r1 = next.processing.redact;
  for (const kind of r0.builtin) if (!r1.builtin.includes(kind)) out.push(`redaction ${kind} removed (processing.redact.builtin)`);
  for (const c of r0.custom) {
    const now = r1.custom.find((x) => x.name === c.name);
    if (!now) out.push(`custom redaction ${c.name} removed`);
    else if (now.pattern !== c.pattern) out.push(`custom redaction ${c.name} changed its pattern`);
  }
  if (next.processing.maxLineBytes < old.processing.maxLineBytes) out.push(`processing.max_line_bytes lowered (${old.processing.maxLineBytes} -> ${next.processing.maxLineBytes}): more lines are cut`);

  const rules0 = byName(effectiveRules(old.alerts));
  const rules1 = byName(effectiveRules(next.alerts));
  for (const [name, a] of rules0) {
    const b = rules1.get(name);
    if (!b) {
      out.push(`alert rule ${name} removed`);
      continue;
    }
    if (b.threshold !== a.threshold) out.push(`alert rule ${name}: threshold ${a.threshold} -> ${b.threshold}`);
    if (b.windowMs !== a.windowMs) out.push(`alert rule ${name}: window ${a.windowMs} ms -> ${b.windowMs} ms`);
    if (JSON.stringify(b.when) !== JSON.stringify(a.when) || JSON.stringify(b.groupBy) !== JSON.stringify(a.groupBy) || b.distinct !== a.distinct) {
      out.push(`alert rule ${name}: condition changed`);
    }
  }

  const ids1 = new Set(next.inputs.map((i) => i.id));
  for (const i of old.inputs) if (!ids1.has(i.id)) out.push(`input ${i.id} removed: its logs are no longer shipped`);
  if (old.monitoring.clock.ntpServers.length > 0 && next.monitoring.clock.ntpServers.length === 0) out.push('clock drift monitoring turned off (monitoring.clock.ntp_servers empty)');
  if (next.monitoring.clock.maxOffsetMs > old.monitoring.clock.maxOffsetMs) out.push(`monitoring.clock.max_offset raised (${old.monitoring.clock.maxOffsetMs} -> ${next.monitoring.clock.maxOffsetMs} ms)`);
  if (next.monitoring.silence.afterMs > old.monitoring.silence.afterMs) out.push(`monitoring.silence.after raised (${old.monitoring.silence.afterMs} -> ${next.monitoring.silence.afterMs} ms)`);
  const d0 = old.output.destination;
  const d1 = next.output.destination;
  if (d0.protocol === 'tls' && d1.protocol !== 'tls') out.push(`destination protocol ${d0.protocol} -> ${d1.protocol}: events leave the host without TLS`);
  if (d0.pinSha256.length > 0 && d1.pinSha256.length === 0) out.push('certificate pinning removed (output.destination.pin_sha256)');
  if (old.output.buffer.whenFull === 'block' && next.output.buffer.whenFull === 'drop_oldest') out.push('output.buffer.when_full block -> drop_oldest: events may be dropped during an outage');
  return out;
}

function byName(rules: readonly AlertRuleConfig[]): Map<string, AlertRuleConfig> {
  return new Map(rules.map((r) => [r.name, r]));
}
