/**
 * Log level words and numbers -> syslog severity (0 emergency … 7 debug).
 * Covers syslog names, the usual logger names, and pino/bunyan numbers
 * (10 trace … 60 fatal).
 */

const BY_NAME: Readonly<Record<string, number>> = {
  emerg: 0, emergency: 0, panic: 0,
  alert: 1,
  crit: 2, critical: 2, fatal: 2,
  err: 3, error: 3, eror: 3,
  warn: 4, warning: 4,
  notice: 5,
  info: 6, information: 6, informational: 6,
  debug: 7, trace: 7, verbose: 7,
};

/** Syslog severity of a level as written by an application, or undefined when unknown. */
export function severityFromLevel(level: string | number): number | undefined {
  if (typeof level === 'number') {
    if (!Number.isInteger(level)) return undefined;
    if (level >= 0 && level <= 7) return level;
    // pino / bunyan
    if (level >= 60) return 2;
    if (level >= 50) return 3;
    if (level >= 40) return 4;
    if (level >= 30) return 6;
    if (level >= 10) return 7;
    return undefined;
  }
  if (level.length > 16) return undefined;
  const key = level.toLowerCase();
  if (Object.hasOwn(BY_NAME, key)) return BY_NAME[key];
  if (/^[0-7]$/.test(level)) return Number(level);
  return undefined;
}
