/**
 * Users and groups by name, through the system's name service (`id`,
 * `getent`), so that LDAP or sssd accounts are found as well as those in
 * /etc/passwd and /etc/group.
 */
import { spawnSync } from 'node:child_process';

const ask = (argv: readonly string[]): string | undefined => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

export function userId(name: string): number | undefined {
  const uid = ask(['id', '-u', name]);
  return uid === undefined ? undefined : Number(uid);
}

/** The groups a login as `name` gets: the primary one and those /etc/group (or the directory) gives. */
export function userGroups(name: string): number[] {
  return (ask(['id', '-G', name]) ?? '').split(/\s+/).filter((g) => g !== '').map(Number);
}

export function groupId(name: string): number | undefined {
  const gid = ask(['getent', 'group', name])?.split(':')[2];
  return gid === undefined ? undefined : Number(gid);
}
