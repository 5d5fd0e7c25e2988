/**
 * Whom every Mercurial on this host trusts beside a file's owner: the
 * `[trusted] users` and `groups` of the system-wide configuration
 * (mercurial/rcutil.py: `$HGRCPATH` when set, else `/etc/mercurial/hgrc` and
 * `/etc/mercurial/hgrc.d/*.rc`). Mercurial ignores the hooks of an hgrc whose
 * owner the reading user does not trust, so an hgrc written by the daemon's
 * unprivileged user, into a repository it does not own, works only when that
 * user or the file's group is trusted there (a shared hosting group, say).
 * Users' own ~/.hgrc files are not read: what every pusher trusts is what counts.
 */
import { readMercurialConfig } from '../config/hgrc-reader.js';
import { parseList } from '../config/parse-list.js';
import { groupId, userId } from '../util/accounts.js';
import { systemRcFiles } from './system-config.js';

export interface SystemTrust {
  readonly users: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
  /** The same, as ids, looked up once: a check per repository then costs no lookup. */
  readonly uids: ReadonlySet<number>;
  readonly gids: ReadonlySet<number>;
  /** `*` in either: every file is trusted. */
  readonly everyone: boolean;
}

/** The system-wide [trusted] settings, read as Mercurial reads them; unreadable files count as empty, as there. */
export function systemTrust(env: Readonly<Record<string, string | undefined>> = process.env): SystemTrust {
  const users = new Set<string>();
  const groups = new Set<string>();
  for (const file of systemRcFiles(env)) {
    try {
      const { config } = readMercurialConfig(file);
      // Later files override earlier ones, as later definitions do in one file.
      const u = config.get('trusted', 'users');
      const g = config.get('trusted', 'groups');
      if (u !== undefined) for (const name of parseList(u.value)) users.add(name);
      if (g !== undefined) for (const name of parseList(g.value)) groups.add(name);
    } catch {
      // Mercurial warns about such a file and goes on.
    }
  }
  const ids = (names: ReadonlySet<string>, lookup: (name: string) => number | undefined) =>
    new Set([...names].map(lookup).filter((id): id is number => id !== undefined));
  return { users, groups, uids: ids(users, userId), gids: ids(groups, groupId), everyone: users.has('*') || groups.has('*') };
}

/** Whether a file owned by `uid`:`gid` is trusted by every user of this host. */
export function trustedByEveryone(uid: number, gid: number, trust: SystemTrust): boolean {
  return trust.everyone || trust.uids.has(uid) || trust.gids.has(gid);
}
