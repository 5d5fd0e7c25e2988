import type { ServedRepo } from '../discovery/served-repos.js';

export interface ServedDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

const names = (repos: readonly ServedRepo[]): string[] => repos.map((r) => r.name);

/** Names that came and went between two served lists (a repository moved shows in both). */
export function diffServed(before: readonly ServedRepo[], after: readonly ServedRepo[]): ServedDiff {
  // A first list, or a root gone whole: no pair to match, and no key made for each of 100,000 entries.
  if (before.length === 0 || after.length === 0) return { added: names(after), removed: names(before) };
  const key = (r: ServedRepo) => `${r.name}\0${r.path}`;
  const was = new Set(before.map(key));
  const is = new Set(after.map(key));
  return {
    added: names(after.filter((r) => !was.has(key(r)))),
    removed: names(before.filter((r) => !is.has(key(r)))),
  };
}
