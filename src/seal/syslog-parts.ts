/**
 * The slice of src/encode/rfc5424.ts the sealer depends on, restated as types
 * so that the sealer's seam (SealerOptions.assemble) is stated here; the real
 * `assembleSyslog` is the default and has exactly this shape (structural
 * typing), tests may pass a hand-built one.
 */
export interface SyslogParts {
  header: string;
  sdId: string;
  sdParams: string;
  otherSd: string;
  msg: string;
}

export interface SealParams {
  session: string;
  seq: bigint | number;
  chain: string;
  keyId?: string;
}

/** header + '[' + sdId + sdParams + ' session=".." seq=".." kid=".." chain=".."' + ']' + otherSd + ' ' + msg */
export type AssembleSyslog = (parts: SyslogParts, seal?: SealParams) => string;
