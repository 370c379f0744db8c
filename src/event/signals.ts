/**
 * What the components report (a tamper alert from the file source, a queue
 * overflow, a TLS failure from the sink) turned into the agent's own events.
 * Pure mappings, so every signal's event shape is tested in one place.
 *
 * Action names follow the OWASP logging vocabulary where one fits
 * (sys_monitor_disabled, sys_crash …) and are snake_case words of ours
 * otherwise; they become class ids "logward:<action>".
 */
import type { InternalEventSpec } from './internal.js';
import type { EcsFields } from './types.js';
import type { QueueAlert } from '../queue/disk-queue.js';
import { isNoConnection } from '../sink/classify.js';
import type { SinkEvent } from '../sink/types.js';
import type { TamperAlert } from '../source/tamper.js';
import { SEVERITY } from './classify.js';

export function tamperSpec(a: TamperAlert, input: string): InternalEventSpec {
  const what: Record<TamperAlert['kind'], [string, string, string[]]> = {
    truncated: ['log_file_truncated', 'was truncated outside a rotation', ['change']],
    deleted: ['log_file_deleted', 'was deleted and not recreated', ['deletion']],
    replaced: ['log_file_replaced', 'now holds content that was already read (an old copy put back?)', ['change']],
    unreadable: ['log_file_unreadable', 'can no longer be read (permissions changed?)', ['change']],
  };
  const [action, text, type] = what[a.kind];
  return {
    action,
    kind: 'alert',
    category: ['file'],
    type,
    severity: SEVERITY.alert,
    message: a.unchecked === undefined ? `Log file ${a.path} ${text}` + sizes(a) : unchecked(a),
    fields: {
      'file.path': a.path,
      ...(a.sizeAfter !== undefined ? { 'file.size': a.sizeAfter } : {}),
      ...(a.sizeBefore !== undefined ? { 'logward.tamper.size_before': a.sizeBefore } : {}),
      ...(a.offset !== undefined ? { 'logward.tamper.offset': a.offset } : {}),
      'logward.tamper.identity': a.identity,
      'logward.tamper.input': input,
      ...(a.unchecked !== undefined ? { 'logward.tamper.unchecked': a.unchecked } : {}),
    },
  };
}

/**
 * A suspicion the previous run saw and could not decide, that this run cannot decide either: say what
 * was seen, not what it meant (a rotation may explain it; nothing can check that any more).
 */
function unchecked(a: TamperAlert): string {
  const seen: Record<TamperAlert['kind'], string> = {
    truncated: 'shrank',
    deleted: 'disappeared',
    replaced: 'held content already read',
    unreadable: 'could not be read',
  };
  const why = a.unchecked === 'input_removed' ? 'its input is no longer configured' : "its input's paths no longer cover it";
  return `Log file ${a.path} ${seen[a.kind]} while the previous run was deciding whether a rotation explains it${sizes(a)}; it cannot be checked now: ${why}`;
}

function sizes(a: TamperAlert): string {
  if (a.sizeBefore === undefined && a.sizeAfter === undefined) return '';
  return ` (size ${a.sizeBefore ?? '?'} -> ${a.sizeAfter ?? '?'} bytes)`;
}

export function queueSpec(a: QueueAlert): InternalEventSpec {
  switch (a.kind) {
    case 'dropped':
      return {
        action: 'queue_overflow_dropped',
        kind: 'alert',
        category: ['host'],
        type: ['info'],
        outcome: 'failure',
        severity: SEVERITY.critical,
        message:
          `Disk queue full: dropped ${a.records} oldest events never sent (${a.bytes} bytes)` +
          (a.unconfirmed > 0 ? `; ${a.unconfirmed} more were sent but not yet confirmed and will not be sent again` : '') +
          `; ${a.totalDropped} dropped since start`,
        fields: {
          'logward.queue.dropped_records': a.records,
          'logward.queue.dropped_bytes': a.bytes,
          'logward.queue.dropped_total': a.totalDropped,
          'logward.queue.dropped_unconfirmed': a.unconfirmed,
        },
      };
    case 'disk_full':
      return {
        action: 'queue_disk_full',
        kind: 'alert',
        category: ['host'],
        type: ['info'],
        outcome: 'failure',
        severity: SEVERITY.critical,
        message: `Disk queue cannot write (${a.error}); sources are paused until space is free`,
        fields: { 'error.message': a.error },
      };
    case 'disk_recovered':
      return {
        action: 'queue_disk_recovered',
        kind: 'event',
        category: ['host'],
        type: ['info'],
        outcome: 'success',
        severity: SEVERITY.notice,
        message: `Disk queue writes again after ${Math.round(a.afterMs / 1000)} s`,
      };
    case 'error':
      return {
        action: 'queue_error',
        kind: 'alert',
        category: ['host'],
        type: ['info'],
        outcome: 'failure',
        severity: SEVERITY.error,
        message: `Disk queue error: ${a.error}`,
        fields: { 'error.message': a.error },
      };
  }
}

/**
 * Sink events worth a SIEM event; connects and disconnects go to the agent's own log only, and so
 * do tcp's other connect failures (a reset after connecting is a disconnect).
 */
export function sinkSpec(e: SinkEvent): InternalEventSpec | null {
  switch (e.type) {
    case 'tls_failure':
      return {
        action: 'tls_verification_failed',
        kind: 'alert',
        category: ['network'],
        type: ['connection', 'denied'],
        outcome: 'failure',
        severity: SEVERITY.error,
        message: `TLS connection to ${e.host} refused: ${e.reason} (${e.detail}); events stay queued`,
        fields: { 'destination.address': e.host, 'error.type': e.reason, 'error.message': e.detail },
      };
    case 'connect_failure':
      // Refused, no answer, no route: the network or the receiver, not certificates (operator audit).
      if (!isNoConnection(e.reason)) return null;
      return {
        action: 'destination_unreachable',
        kind: 'alert',
        category: ['network'],
        type: ['connection'],
        outcome: 'failure',
        severity: SEVERITY.error,
        message: `Cannot reach the destination ${e.host}: ${e.reason} (${e.detail}); events stay queued`,
        fields: { 'destination.address': e.host, 'error.type': e.reason, 'error.message': e.detail },
      };
    case 'dead_connection':
      return {
        action: 'destination_stalled',
        kind: 'event',
        category: ['network'],
        type: ['connection', 'end'],
        outcome: 'failure',
        severity: SEVERITY.warning,
        message:
          e.cause === 'unacked'
            ? `Connection to ${e.host} acknowledged nothing for ${Math.round(e.stalledMs / 1000)} s; destroyed, the resend window will be replayed`
            : `Connection to ${e.host} did not drain for ${Math.round(e.stalledMs / 1000)} s; destroyed, the resend window will be replayed`,
        fields: { 'destination.address': e.host, 'error.type': e.cause },
      };
    case 'cert_expiring': {
      const subject = subjectText(e.subject);
      return {
        action: 'certificate_expiring',
        kind: 'alert',
        category: ['configuration'],
        type: ['info'],
        severity: SEVERITY.warning,
        message: `The ${e.which} certificate${subject === '' ? '' : ` ${subject}`} expires in ${e.days} days (${e.notAfter})`,
        fields: certFields(e, subject),
      };
    }
    case 'insecure_transport':
      return {
        action: 'insecure_transport',
        kind: 'alert',
        category: ['configuration'],
        type: ['info'],
        severity: SEVERITY.warning,
        message: `Events are sent over ${e.protocol} without TLS (allow_insecure: true): no confidentiality, no integrity in transit`,
      };
    case 'failback':
      return null;
    case 'connected':
    case 'disconnected':
      return null;
  }
}

/**
 * ECS has x509.* only nested (file, threat, tls), and the event schema refuses an unknown root: the
 * facts go where ECS puts the certificates of a TLS connection. The agent is the TLS client, so its
 * own certificate is tls.client.x509 and the destination's is tls.server.x509.
 */
function certFields(e: Extract<SinkEvent, { type: 'cert_expiring' }>, subject: string): EcsFields {
  const x509 = `tls.${e.which}.x509`;
  const f: EcsFields = { [`${x509}.not_after`]: e.notAfter };
  if (subject !== '') {
    // The sink reads the client certificate whole (X509Certificate.subject) but only the CN of the
    // peer's (src/sink/tls.ts): a bare CN is not a distinguished name.
    if (e.which === 'client') f[`${x509}.subject.distinguished_name`] = subject;
    else f[`${x509}.subject.common_name`] = [subject];
  }
  if (e.host !== undefined && e.host !== '') f['destination.address'] = e.host;
  return f;
}

/** X509Certificate.subject is one RDN per line; a line break in an event field would be escaped into a {U+000A} token. */
function subjectText(subject: string): string {
  return subject
    .split('\n')
    .map((rdn) => rdn.trim())
    .filter((rdn) => rdn !== '')
    .join(', ');
}
