/**
 * A walk of every root makes a new string for every path, name and folder it
 * finds, and a new entry for every repository. Where the tree did not change,
 * each equals what the daemon holds already, and it would hold both: the
 * list hgweb serves (whose value the journal goes on from) and the new walk's
 * (its model, its last good results). At 100,000 repositories that was about
 * 40 MB more after each `hgreload touch` or daily rescan. So a walk's results
 * take the values held already wherever they are equal, and the walk's own
 * are dropped at once.
 */
import type { RootResult, ServedRepo } from '../discovery/served-repos.js';

export interface Held {
  /** The list as the daemon holds it now (changes since the last walk included). */
  readonly repos: readonly ServedRepo[];
  /** The folders it watches now. */
  readonly folders: Iterable<string>;
}

/** `walked` with every repository entry and folder that equals one in `held` replaced by it. */
export function reuseUnchanged(walked: readonly RootResult[], held: Held): RootResult[] {
  // A name is served once; an entry is the same when its path is too.
  const repos = new Map<string, ServedRepo>();
  for (const r of held.repos) repos.set(r.name, r);
  const folders = new Map<string, string>();
  for (const f of held.folders) folders.set(f, f);
  return walked.map((result) => {
    if ('error' in result) return result;
    const sameRepo = (r: ServedRepo): ServedRepo => {
      const old = repos.get(r.name);
      return old !== undefined && old.path === r.path ? old : r;
    };
    return { ...result, repos: result.repos.map(sameRepo), folders: result.folders.map((f) => folders.get(f) ?? f) };
  });
}
