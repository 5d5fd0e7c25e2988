import type { ServedRepo } from '../discovery/served-repos.js';

export interface ServedDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** Names that came and went between two served lists (a repository moved shows in both). */
export function diffServed(before: readonly ServedRepo[], after: readonly ServedRepo[]): ServedDiff {
  const key = (r: ServedRepo) => `${r.name}\0${r.path}`;
  const was = new Set(before.map(key));
  const is = new Set(after.map(key));
  return {
    added: after.filter((r) => !was.has(key(r))).map((r) => r.name),
    removed: before.filter((r) => !is.has(key(r))).map((r) => r.name),
  };
}
