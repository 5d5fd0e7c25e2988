/**
 * Who does what in a deployment, and what they may do: doctor runs as root or
 * as an admin, but the daemon runs as its unit's `User=` and hgweb as the web
 * server's user, and what counts is what those may read and write. Decided
 * from owners and mode bits along the path, as the kernel decides without ACLs
 * (a folder's search bit on the way, then the file's own bit); root may do all
 * but run a file no one may run.
 */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { groupId, userGroups, userId } from '../util/accounts.js';
import { readUnit, unitList, unitValue, type UnitFile } from '../util/unit-file.js';

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
  const unit = installedUnit(unitFile);
  const unitUser = unitValue(unit, 'Service', 'User');
  if (unitUser !== undefined) {
    const group = unitValue(unit, 'Service', 'Group');
    const groups = [...(group === undefined ? [] : [group]), ...unitList(unit, 'Service', 'SupplementaryGroups')];
    const who = userIdentity(unitUser, unitFile, groups);
    // systemd runs the service with Group= and SupplementaryGroups= only, not the user's other groups.
    if (who !== undefined) return group === undefined ? who : { ...who, gids: groupIds(groups) };
  }
  return { name: process.env.USER ?? String(process.getuid?.() ?? ''), uid: process.getuid?.() ?? 0, gids: process.getgroups?.() ?? [], from: 'this process' };
}

function groupIds(names: readonly string[]): number[] {
  return names.map(groupId).filter((id): id is number => id !== undefined);
}

/** The installed unit with its drop-ins; none where it cannot be read as systemd would. */
function installedUnit(unitFile: string): UnitFile {
  try {
    return readUnit(unitFile);
  } catch {
    return new Map();
  }
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
