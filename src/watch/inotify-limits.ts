/**
 * The kernel's inotify limits, as /proc/sys/fs/inotify shows them, and the
 * fix an administrator applies when one is reached: what the tree watcher's
 * errors, doctor and the metrics all say.
 */
import { readFileSync } from 'node:fs';

export type InotifyLimit = 'max_user_watches' | 'max_user_instances' | 'max_queued_events';

/** The limit, or undefined where /proc cannot be read (a container without it): unknown, not zero. */
export function inotifyLimit(name: InotifyLimit): number | undefined {
  try {
    const value = Number(readFileSync(`/proc/sys/fs/inotify/${name}`, 'utf8').trim());
    return Number.isSafeInteger(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** "fs.inotify.NAME = N", or the sysctl's name alone when it cannot be read. */
export function describeLimit(name: InotifyLimit): string {
  const value = inotifyLimit(name);
  return value === undefined ? `fs.inotify.${name}` : `fs.inotify.${name} = ${value}`;
}

export const RAISE_WATCHES = 'sysctl fs.inotify.max_user_watches=524288, and keep it in /etc/sysctl.d/90-hgreload.conf';
