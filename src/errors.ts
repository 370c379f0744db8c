/**
 * Typed errors. Each carries where it happened (config path, file, offset) so
 * that the one line an operator reads says what to fix.
 */

export class LogwardError extends Error {
  override readonly name: string = 'LogwardError';
}

/** One problem with a configuration, at a config path such as "output.destination.hosts[0]". */
export class ConfigError extends LogwardError {
  override readonly name = 'ConfigError';
  constructor(
    readonly configPath: string,
    readonly problem: string,
  ) {
    super(`${configPath || '(root)'}: ${problem}`);
  }
}

/** Several config problems at once: validation reports all of them, not the first. */
export class ConfigErrors extends LogwardError {
  override readonly name = 'ConfigErrors';
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigError[],
  ) {
    super(`${file}: ${problems.length} problem(s)\n` + problems.map((p) => p.message).join('\n'));
  }
}

/** Bad command-line usage (exit 2). */
export class UsageError extends LogwardError {
  override readonly name = 'UsageError';
}

/** A file operation that failed, with the file and, where it matters, the offset. */
export class FileError extends LogwardError {
  override readonly name = 'FileError';
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly offset?: number,
    options?: { cause?: unknown },
  ) {
    super(`${file}${offset === undefined ? '' : `@${offset}`}: ${problem}`, options);
  }
}
