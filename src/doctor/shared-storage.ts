/**
 * doctor on shared storage: which roots sit on a network or FUSE file system
 * (where inotify does not see other hosts' changes), whether they are polled,
 * and how late another host's new repository can be seen, from the mount's
 * attribute-cache options.
 */
import type { Settings } from '../config/settings.js';
import { physicalAbsolute } from '../config/paths.js';
import type { Root } from '../discovery/served-repos.js';
import { MountTable, type Mount } from '../discovery/mount-table.js';
import { info, ok, warn, type Finding } from './finding.js';

/** NFS's defaults for directories (nfs(5)): attributes cached 30 to 60 s. */
const NFS_ACDIRMIN = 30;

const SHARED_TYPES = /^(nfs4?|cifs|smb3|ceph|fuse(\..*)?|fuseblk|glusterfs|lustre|gpfs)$/;

/** What the options say about how long a directory's cached attributes hide another host's change (s). */
export function directoryCacheSeconds(mount: Mount): { seconds: number; why: string } | undefined {
  if (!/^nfs4?$/.test(mount.fsType ?? '')) return undefined;
  const opts = new Map((mount.options ?? '').split(',').map((o) => [o.split('=')[0]!, o.split('=')[1]] as const));
  if (opts.has('noac')) return { seconds: 0, why: 'noac' };
  const acdirmin = opts.get('acdirmin') ?? opts.get('actimeo');
  const seconds = acdirmin === undefined ? NFS_ACDIRMIN : Number(acdirmin);
  const lookup = opts.get('lookupcache');
  const why = `${acdirmin === undefined ? `acdirmin=${NFS_ACDIRMIN} (the default)` : opts.has('acdirmin') ? `acdirmin=${acdirmin}` : `actimeo=${acdirmin}`}${lookup === undefined ? '' : `, lookupcache=${lookup}`}`;
  return { seconds, why };
}

export function sharedStorage(settings: Settings, roots: readonly Root[], cwd: string, mounts: MountTable = MountTable.fromSystem()): Finding[] {
  const findings: Finding[] = [];
  const { poll, pollInterval } = settings.watch;
  for (const root of roots) {
    if (root.kind === 'plain') continue;
    const folder = physicalAbsolute(root.folder, cwd);
    const mount = mounts.identify(folder).mount;
    if (mount?.fsType === undefined || !SHARED_TYPES.test(mount.fsType)) continue;
    const where = `${folder} is on ${mount.fsType} (${mount.source ?? '?'} at ${mount.mountPoint})`;
    if (poll === 'never') {
      findings.push(
        warn('shared storage', `${where}: inotify does not see what other hosts change there, and [watch] poll = never: their new repositories wait for the scheduled rescan (${settings.rescan.schedule})`, 'set [watch] poll = auto'),
      );
      continue;
    }
    const cache = directoryCacheSeconds(mount);
    const fuse = /^fuse/.test(mount.fsType);
    const late =
      cache !== undefined
        ? `within ${pollInterval} ms and a rescan; the poll opens each folder, which revalidates NFS's cache, where a bare stat could be ${cache.seconds} s late (${cache.why})`
        : fuse
          ? `within ${pollInterval} ms, a rescan, and the mount's attribute cache (FUSE keeps attributes for attr_timeout, 1 s unless the mount sets it; an open does not revalidate them)`
          : `within ${pollInterval} ms and a rescan`;
    findings.push(info('shared storage', `${where}: polled every ${pollInterval} ms beside inotify; another host's new repository is seen ${late}`));
  }
  if (findings.length === 0) findings.push(ok('shared storage', 'no root on a network or FUSE file system: inotify sees every change'));
  return findings;
}
