/**
 * Who does what in a deployment, and what they may do: doctor runs as root or
 * as an admin, but the daemon runs as its unit's `User=` and hgweb as the web
 * server's user, and what counts is what those may read and write. Decided
 * from owners and mode bits along the path, as the kernel decides without ACLs
 * (a folder's search bit on the way, then the file's own bit); root may do all
 * but run a file no one may run.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { groupId, userGroups, userId } from '../util/accounts.js';

export interface Identity {
  readonly name: string;
  readonly uid: number;
  readonly gids: readonly number[];
  /** Where it was learnt: "--user", the unit file, or "this process". */
  readonly from: string;
}

/** A user by name, with their groups as a login gets them; undefined for an unknown name. */
export function userIdentity(name: string, from: string, extraGroups: readonly string[] = []): Identity | undefined {
  const uid = userId(name);
  if (uid === undefined) return undefined;
  return { name, uid, gids: [...userGroups(name), ...groupIds(extraGroups)], from };
}

/**
 * The daemon's user: `--user NAME`, else the installed unit's User=, Group= and
 * SupplementaryGroups= (drop-ins included), else whoever runs doctor.
 */
export function daemonIdentity(user: string | undefined, unitFile: string): Identity {
  if (user !== undefined) {
    const who = userIdentity(user, '--user');
    if (who !== undefined) return who;
  }
  const unit = unitSettings(unitFile);
  if (unit.User !== undefined) {
    const groups = [...(unit.Group === undefined ? [] : [unit.Group]), ...(unit.SupplementaryGroups?.split(/\s+/) ?? [])];
    const who = userIdentity(unit.User, unitFile, groups);
    // systemd runs the service with Group= and SupplementaryGroups= only, not the user's other groups.
    if (who !== undefined) return unit.Group === undefined ? who : { ...who, gids: groupIds(groups) };
  }
  return { name: process.env.USER ?? String(process.getuid?.() ?? ''), uid: process.getuid?.() ?? 0, gids: process.getgroups?.() ?? [], from: 'this process' };
}

function groupIds(names: readonly string[]): number[] {
  return names.map(groupId).filter((id): id is number => id !== undefined);
}

/** The last value of each [Service] key in the unit and its drop-ins (NAME.service.d/*.conf). */
function unitSettings(unitFile: string): Record<string, string> {
  const values: Record<string, string> = {};
  const files = [unitFile];
  try {
    files.push(...readdirSync(`${unitFile}.d`).filter((f) => f.endsWith('.conf')).sort().map((f) => `${unitFile}.d/${f}`));
  } catch {
    // no drop-ins
  }
  for (const file of files) {
    let section = '';
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const header = /^\s*\[(.+)\]\s*$/.exec(line);
      if (header !== null) section = header[1]!;
      const kv = /^\s*(\w+)\s*=\s*(.*?)\s*$/.exec(line);
      if (kv !== null && section === 'Service') values[kv[1]!] = kv[2]!;
    }
  }
  return values;
}

export type Access = 'read' | 'write' | 'search';

/**
 * Whether `who` may read or write `path` (or, `search`, enter the folder):
 * every folder above it searchable, then the bit asked for. Returns the first
 * path that refuses, or undefined when nothing does.
 */
export function refusedAt(path: string, who: Identity, access: Access): string | undefined {
  const chain: string[] = [];
  for (let p = dirname(path); ; p = dirname(p)) {
    chain.unshift(p);
    if (p === dirname(p)) break;
  }
  for (const folder of chain) if (!allowed(folder, who, 'search')) return folder;
  return allowed(path, who, access) ? undefined : path;
}

function allowed(path: string, who: Identity, access: Access): boolean {
  let st;
  try {
    st = statSync(path);
  } catch {
    return false;
  }
  if (who.uid === 0) return true;
  const bit = access === 'read' ? 4 : access === 'write' ? 2 : 1;
  const shift = st.uid === who.uid ? 6 : who.gids.includes(st.gid) ? 3 : 0;
  return ((st.mode >> shift) & bit) !== 0;
}
