/**
 * Real accounts for tests that play a whole host: users and groups made with
 * Debian's own tools under names no real host uses (`hgrl-...-<random>`), and
 * deleted again by `removeAll()`; and what the kernel says a process runs as.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** `prefix-<6 hex>`: a name free on any host, short enough for useradd (32) and ps. */
export function accountName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

function must(argv: readonly string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 0, `${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export interface Ids {
  readonly uid: number;
  readonly gid: number;
}

export function idsOf(user: string): Ids {
  return { uid: Number(must(['id', '-u', user])), gid: Number(must(['id', '-g', user])) };
}

export function gidOf(group: string): number {
  return Number(must(['getent', 'group', group]).split(':')[2]);
}

export class Accounts {
  private readonly users: string[] = [];
  private readonly groups: string[] = [];

  /** A new group (a host's shared group for repositories, say). */
  group(prefix: string): string {
    const name = accountName(prefix);
    must(['groupadd', name]);
    this.groups.push(name);
    return name;
  }

  /**
   * An ordinary person's account, as `adduser` makes one on Debian: its own
   * group, a home, a shell, and `groups` besides. Its password is `*` (no
   * password can match) rather than useradd's `!`: sshd without PAM refuses
   * a locked account even for a key.
   */
  person(prefix: string, options: { home: string; groups?: readonly string[] }): string {
    const name = accountName(prefix);
    const groups = options.groups?.length ? ['--groups', options.groups.join(',')] : [];
    must(['useradd', '--create-home', '--home-dir', options.home, '--shell', '/bin/sh', '--password', '*', '--user-group', ...groups, name]);
    this.users.push(name);
    return name;
  }

  /** An account made elsewhere (by a README step, say), removed with the others. */
  adopt(user: string): void {
    this.users.push(user);
  }

  /** Deletes every user and group made or adopted here (homes are left to the caller's temp folder). */
  removeAll(): void {
    for (const user of this.users.splice(0).reverse()) {
      spawnSync('userdel', [user], { encoding: 'utf8' });
      // useradd --user-group made a group of the same name; userdel removes it unless another user has it.
      if (spawnSync('getent', ['group', user]).status === 0) spawnSync('groupdel', [user]);
    }
    for (const group of this.groups.splice(0).reverse()) spawnSync('groupdel', [group]);
  }
}

/** What the kernel says about a running process: its ids, umask and privileges (/proc/PID/status). */
export interface ProcessCredentials {
  readonly uids: number[];
  readonly gids: number[];
  readonly groups: number[];
  readonly umask: number;
  readonly noNewPrivs: boolean;
  readonly capBounding: bigint;
}

export function credentialsOf(pid: number): ProcessCredentials {
  const fields = new Map(
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .map((line) => line.split(':\t') as [string, string]),
  );
  const numbers = (key: string) => (fields.get(key) ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  return {
    uids: numbers('Uid'),
    gids: numbers('Gid'),
    groups: numbers('Groups'),
    umask: parseInt(fields.get('Umask') ?? 'NaN', 8),
    noNewPrivs: fields.get('NoNewPrivs')?.trim() === '1',
    capBounding: BigInt(`0x${fields.get('CapBnd')?.trim() ?? 'NaN'}`),
  };
}
