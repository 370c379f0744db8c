/** Runs the real CLI in a child process, as a user would (exit codes, stdout, stderr). */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/**
 * `input`: written to a pipe on stdin. `stdinPath`: instead, stdin (fd 0) is that file opened for
 * reading, as a shell's `< FILE` makes it (a directory too).
 */
export function runCli(args: string[], opts: { input?: string | Buffer; stdinPath?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const fd = opts.stdinPath === undefined ? undefined : openSync(opts.stdinPath, 'r');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
        env: { ...process.env, ...opts.env },
        cwd: opts.cwd,
        stdio: [fd ?? 'pipe', 'pipe', 'pipe'],
      });
    } finally {
      // The child holds its own copy of the descriptor.
      if (fd !== undefined) closeSync(fd);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    child.stdin?.end(opts.input ?? '');
  });
}
