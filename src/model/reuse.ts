/**
 * A walk of every root makes a new string for every path, name and folder it
 * finds, and a new entry for every repository. Where the tree did not change,
 * each equals what the last walk found, and the daemon would hold both: the
 * last list (the one hgweb serves, whose value the journal goes on from) and
 * the new walk's (its model, its last good results). At 100,000 repositories
 * that was about 40 MB more after each `hgreload touch` or daily rescan. So a
 * walk's results take the last walk's values wherever they are equal: the
 * new ones are dropped at once.
 */
import type { RootResult, ServedRepo } from '../discovery/served-repos.js';

/**
 * `walked`, each root's repositories and folders made of the values of
 * `last` (the same roots' last results) where they are equal: every one when
 * the root did not change, else those before and after what changed.
 */
export function reuseUnchanged(walked: readonly RootResult[], last: readonly RootResult[]): RootResult[] {
  if (walked.length !== last.length) return walked.slice();
  return walked.map((next, i) => {
    const before = last[i]!;
    if ('error' in next || 'error' in before || next.root.kind !== before.root.kind || next.root.prefix !== before.root.prefix) return next;
    return { ...next, repos: reuse(next.repos, before.repos, sameRepo), folders: reuse(next.folders, before.folders, (a, b) => a === b) };
  });
}

const sameRepo = (a: ServedRepo, b: ServedRepo): boolean => a.name === b.name && a.path === b.path;

/** `next` with the values of `last` in the common head and tail (both in walk order); `last` itself when they are equal throughout. */
function reuse<T>(next: T[], last: T[], same: (a: T, b: T) => boolean): T[] {
  const n = Math.min(next.length, last.length);
  let head = 0;
  while (head < n && same(next[head]!, last[head]!)) head++;
  if (head === next.length && head === last.length) return last;
  let tail = 0;
  while (tail < n - head && same(next[next.length - 1 - tail]!, last[last.length - 1 - tail]!)) tail++;
  if (head + tail === 0) return next;
  const out = next.slice();
  for (let i = 0; i < head; i++) out[i] = last[i]!;
  for (let k = 1; k <= tail; k++) out[out.length - k] = last[last.length - k]!;
  return out;
}
