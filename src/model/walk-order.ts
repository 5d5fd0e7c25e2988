/**
 * hgweb's order of the repositories one walk finds where it follows no
 * symlink (walk-repos.ts): depth first, a folder before what is inside it,
 * names in byte order, and a repository's patch queue right after it, before
 * its working folders. In that order everything below one folder is one run
 * of the list, so a part of the tree walked again replaces one run.
 */
import type { ServedRepo } from '../discovery/served-repos.js';
import { compareNames } from '../discovery/fs-names.js';

const PATCHES = '.hg/patches';

/**
 * A repository's place in the walk, from its path below the top: the folder
 * names, and for a patch queue its repository's names and then '' (which
 * sorts before any name, so right after the repository).
 */
export function walkKey(rel: string): string[] {
  if (rel === '') return [];
  if (rel === PATCHES) return [''];
  if (rel.endsWith(`/${PATCHES}`)) return [...rel.slice(0, -PATCHES.length - 1).split('/'), ''];
  return rel.split('/');
}

export function compareKeys(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareNames(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Whether `key` is `folder` or below it (a patch queue is below its repository). */
export function isWithin(key: readonly string[], folder: readonly string[]): boolean {
  if (key.length < folder.length) return false;
  for (let i = 0; i < folder.length; i++) if (key[i] !== folder[i]) return false;
  return true;
}

/** The run of `repos` (in walk order, keyed by `keyOf`) that lies in `folder`: [start, end). */
export function runWithin(repos: readonly ServedRepo[], keyOf: (r: ServedRepo) => string[], folder: readonly string[]): [number, number] {
  let lo = 0;
  let hi = repos.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keyOf(repos[mid]!), folder) < 0) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  while (end < repos.length && isWithin(keyOf(repos[end]!), folder)) end++;
  return [lo, end];
}
