/**
 * Whether this machine has room for a tree and the daemon's watches on it,
 * before minutes go into building it: a part that lacks it skips that size
 * and says why. Watches are the kernel's per-user limit
 * (fs.inotify.max_user_watches), shared with every other process of the
 * user: only root may raise it, and what the bench raises it puts back.
 */
import { readdirSync, readFileSync, readlinkSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { inotifyLimit, RAISE_WATCHES } from '../src/watch/inotify-limits.js';

const MAX_USER_WATCHES = '/proc/sys/fs/inotify/max_user_watches';
/** What one stand-in repository takes on ext4 (bench/tree.ts without the working subfolder): 3 folders and 2 small files. */
const INODES_PER_REPO = 5;
const BYTES_PER_REPO = 5 * 4096;
/** Free space and inodes the tree must leave to others (another engineer's tests, the logs). */
const DISK_SPARE = 0.1;

/** undefined when `repos` stand-ins fit on the file system of `dir`, else why not. */
export function diskRoom(dir: string, repos: number): string | undefined {
  const fs = statfsSync(dir);
  const inodes = repos * INODES_PER_REPO;
  const bytes = repos * BYTES_PER_REPO;
  if (fs.ffree > 0 && inodes > fs.ffree * (1 - DISK_SPARE)) return `${inodes.toLocaleString('en-US')} inodes needed, ${fs.ffree.toLocaleString('en-US')} free on ${dir}`;
  if (bytes > fs.bavail * fs.bsize * (1 - DISK_SPARE)) return `${gb(bytes)} needed, ${gb(fs.bavail * fs.bsize)} free on ${dir}`;
  return undefined;
}

export type WatchRoom = { readonly ok: true; readonly restore: () => string | undefined } | { readonly ok: false; readonly reason: string };

/**
 * Room for `needed` more watches of this user: as it is, or (as root) by
 * raising max_user_watches for the run; `restore` then puts the old value
 * back, unless someone else changed it meanwhile, and says what it did.
 */
export function watchRoom(needed: number): WatchRoom {
  const limit = inotifyLimit('max_user_watches');
  if (limit === undefined) return { ok: false, reason: `${MAX_USER_WATCHES} cannot be read: the room for ${needed.toLocaleString('en-US')} watches is unknown` };
  const inUse = watchesInUse();
  const nothing = (): undefined => undefined;
  if (inUse + needed <= limit) return { ok: true, restore: nothing };
  const wanted = inUse + needed;
  const short = `${needed.toLocaleString('en-US')} watches needed, ${(limit - inUse).toLocaleString('en-US')} left (fs.inotify.max_user_watches = ${limit}, ${inUse} in use)`;
  if (process.getuid?.() !== 0) return { ok: false, reason: `${short}; only root may raise it: ${RAISE_WATCHES}` };
  try {
    writeFileSync(MAX_USER_WATCHES, `${wanted}\n`);
  } catch (err) {
    return { ok: false, reason: `${short}; raising it failed: ${(err as Error).message}` };
  }
  process.stderr.write(`  ${short}: raised to ${wanted} for this run\n`);
  const restore = (): string => {
    process.off('exit', restore);
    // Someone else's change since ours is theirs to keep.
    if (inotifyLimit('max_user_watches') !== wanted) return `fs.inotify.max_user_watches was changed by someone else meanwhile; left as it is`;
    writeFileSync(MAX_USER_WATCHES, `${limit}\n`);
    return `fs.inotify.max_user_watches put back to ${limit}`;
  };
  // An interrupted run (run.ts exits on SIGINT) puts it back too.
  process.on('exit', restore);
  return { ok: true, restore };
}

/**
 * Watches held now by this user's processes: the `inotify wd:` lines of each
 * inotify descriptor's fdinfo. Processes whose descriptors cannot be read
 * (another user's, one that just exited) are not this user's count.
 */
export function watchesInUse(): number {
  const uid = process.getuid?.();
  let count = 0;
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (statSync(`/proc/${pid}`).uid !== uid) continue;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:inotify') continue;
        count += readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length;
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return count;
}

const gb = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
