/**
 * The slice of src/encode/rfc5424.ts the sealer depends on. The sealer's seam
 * (SealerOptions.assemble) takes any function of this shape; the real
 * `assembleSyslog` is the default, tests may pass a hand-built one.
 */
import type { SealParams, SyslogParts } from '../encode/rfc5424.js';

export type { SealParams, SyslogParts };

/** header + '[' + sdId + sdParams + ' session=".." seq=".." kid=".." chain=".."' + ']' + otherSd + ' ' + msg */
export type AssembleSyslog = (parts: SyslogParts, seal?: SealParams) => string;
