/**
 * The user the agent runs as, for `logward check --as-user NAME`: its uid and
 * groups, and whether Unix permission bits let it reach a file.
 *
 * Why mode bits and not access(2): the check usually runs as root for a
 * service that runs as another user, and access(2) answers for the caller.
 * The evaluation follows the kernel's order (owner class, else group class,
 * else other; root bypasses read/write and directory search). ACLs and
 * capabilities other than root's are not modelled: a check that passes here
 * can still fail under an ACL, never the other way round for plain modes.
 */

import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Account {
  /** User name when known (for messages). */
  readonly name: string;
  readonly uid: number;
  /** Primary and supplementary group ids. */
  readonly gids: readonly number[];
}

/** The account this process runs as. */
export function currentAccount(): Account {
  const uid = process.getuid?.() ?? -1;
  const gids = process.getgroups?.() ?? [];
  const gid = process.getgid?.();
  return {
    name: process.env['USER'] ?? process.env['LOGNAME'] ?? `uid ${uid}`,
    uid,
    gids: gid === undefined || gids.includes(gid) ? gids : [gid, ...gids],
  };
}

/** Resolves a user name (or numeric id) with id(1), which consults NSS like getent does. Undefined if unknown. */
export async function resolveAccount(name: string): Promise<Account | undefined> {
  try {
    const uid = await run('id', ['-u', '--', name]);
    const groups = await run('id', ['-G', '--', name]);
    return {
      name,
      uid: Number(uid.stdout.trim()),
      gids: groups.stdout
        .trim()
        .split(/\s+/)
        .filter((g) => g !== '')
        .map(Number),
    };
  } catch (e) {
    // id exits 1 for an unknown user; anything else (id missing) is a real failure.
    if (e !== null && typeof e === 'object' && 'code' in e && e.code === 1) return undefined;
    throw e;
  }
}

export type Access = 'read' | 'write' | 'search';

/** Whether `account` gets `want` on a file with these stats, by mode bits. */
export function permits(st: Stats, account: Account, want: Access): boolean {
  if (account.uid === 0) {
    // Root bypasses read/write, and search on directories; execute on files needs some x bit.
    return want !== 'search' || st.isDirectory() || (st.mode & 0o111) !== 0;
  }
  const bit = want === 'read' ? 4 : want === 'write' ? 2 : 1;
  if (st.uid === account.uid) return ((st.mode >> 6) & bit) !== 0;
  if (account.gids.includes(st.gid)) return ((st.mode >> 3) & bit) !== 0;
  return (st.mode & bit) !== 0;
}
