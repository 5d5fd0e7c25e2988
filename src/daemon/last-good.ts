/**
 * A root whose walk fails keeps what its last good walk found, as a broken
 * hgweb.config keeps the last good list. One folder below a `**` root that
 * can be listed but not entered, an NFS `EIO` or `ESTALE`, a root unmounted
 * for a moment: hgweb would fail every request or drop those repositories,
 * and every one of them would answer 404 until the next good walk. Here the
 * other roots take their new lists and the failed one serves its old list,
 * said in the log and in `status`; the next good walk mends it. A root that
 * never walked well since the daemon started has nothing to keep.
 */
import type { ServedState } from '../discovery/load-served.js';
import { combine, type Root, type RootError, type RootResult } from '../discovery/served-repos.js';

export interface RootFailure {
  readonly key: string;
  readonly error: RootError;
  /** Repositories served from the last good walk, or null when there was none. */
  readonly kept: number | null;
}

type GoodResult = Exclude<RootResult, RootError>;

export class LastGoodRoots {
  private good = new Map<string, GoodResult>();

  /** The state to serve: each failed root replaced by its last good result; `state.errors` stays whole. */
  apply(state: ServedState): { readonly state: ServedState; readonly failures: RootFailure[] } {
    const good = new Map<string, GoodResult>();
    const failures: RootFailure[] = [];
    const keys = rootKeys(state.results.map((r) => r.root));
    const results = state.results.map((result, i): RootResult => {
      const key = keys[i]!;
      if (!('error' in result)) {
        good.set(key, result);
        return result;
      }
      const last = this.good.get(key);
      failures.push({ key, error: result, kept: last === undefined ? null : last.repos.length });
      if (last === undefined) return result;
      good.set(key, last);
      return last;
    });
    this.good = good;
    const merged = combine(results);
    return { state: { ...state, results, repos: merged.repos, folders: merged.folders }, failures };
  }
}

/** A name for each root that survives a re-read of hgweb.config; the same entry twice gets two. */
export function rootKeys(roots: readonly Root[]): string[] {
  const seen = new Map<string, number>();
  return roots.map((root) => {
    const base = JSON.stringify(root.kind === 'plain' ? [root.kind, root.prefix, root.path] : [root.kind, root.prefix, root.folder, root.kind === 'walk' && root.recurse]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return `${base}#${n}`;
  });
}
