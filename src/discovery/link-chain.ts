/**
 * Where a symlink leads can change without a change in the folder that holds
 * it: the folder it points to made later (a link made first, its target
 * next), or a link further down its chain retargeted (`current -> v1` made to
 * point to `v2` where `current` lives, outside the root). A watch on the
 * folder of each link after the first, and for a target that does not exist,
 * on the nearest folder above it that does, sees both.
 */
import { readlink, realpath } from 'node:fs/promises';
import { decodeName, fsPath } from './fs-names.js';
import { basename, dirname, isAbsolute } from 'node:path';
import { join, normpath } from '../config/paths.js';

/** The kernel's own limit on the links followed in one path (ELOOP). */
const MAX_HOPS = 40;

/**
 * The resolved folders to watch for a change of where `link` leads: the
 * folder holding each next link of its chain (or its final target), and
 * where that does not exist, the nearest existing folder above it. The
 * folder holding `link` itself is the caller's to watch. `resolve` makes a
 * walk path one the file system takes.
 */
export async function linkWatchPoints(link: string, resolve: (path: string) => string): Promise<string[]> {
  const points: string[] = [];
  let current = resolve(link);
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    let target: string;
    try {
      target = decodeName(await readlink(fsPath(current), { encoding: 'buffer' }));
    } catch {
      return points; // not a link (the end of the chain), or gone
    }
    const next = normpath(isAbsolute(target) ? target : join(dirname(current), target));
    let folder = dirname(next);
    let resolved: string | undefined;
    while (resolved === undefined) {
      try {
        resolved = decodeName(await realpath(fsPath(folder), { encoding: 'buffer' }));
      } catch {
        if (dirname(folder) === folder) return points;
        folder = dirname(folder);
      }
    }
    points.push(resolved);
    if (folder !== dirname(next)) return points; // the rest does not exist yet: its nearest folder is watched
    current = join(resolved, basename(next));
  }
  return points;
}
