/**
 * Warns when a certificate in use (our client certificate, or the server's)
 * expires within 30 days. Checked on every connect, but one warning per
 * certificate per day: a flapping link must not flood the SIEM with warnings.
 */

import type { SinkEvent } from './types.js';

export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export class CertExpiryWatch {
  private readonly lastWarned = new Map<string, number>();

  constructor(
    private readonly onEvent: (e: SinkEvent) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * `notAfter` as found in the certificate (X509Certificate.validTo or
   * getPeerCertificate().valid_to, e.g. "Mar  1 12:00:00 2030 GMT").
   */
  check(
    which: 'client' | 'server',
    cert: { fingerprint256: string; subject: string; notAfter: string },
    host?: string,
  ): void {
    const end = Date.parse(cert.notAfter);
    if (Number.isNaN(end)) return;
    const now = this.now();
    const days = Math.floor((end - now) / DAY_MS);
    if (days >= EXPIRY_WARNING_DAYS) return;
    const key = `${which}:${cert.fingerprint256}`;
    const last = this.lastWarned.get(key);
    if (last !== undefined && now - last < DAY_MS) return;
    this.lastWarned.set(key, now);
    this.onEvent({
      type: 'cert_expiring',
      which,
      days,
      subject: cert.subject,
      notAfter: new Date(end).toISOString(),
      ...(host === undefined ? {} : { host }),
    });
  }
}
