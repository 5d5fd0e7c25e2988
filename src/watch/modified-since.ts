/**
 * Whether any of `folders` had an entry made, removed or renamed since
 * `sinceMs` (the folder's mtime or ctime): after a first walk, it tells
 * whether a repository may have appeared in a folder already read before its
 * watch was set, for a stat per folder instead of a second walk. Timestamps
 * come from the kernel's clock, the same as Date.now() on a local file
 * system; on network file systems the server's clock stamps them, so the
 * caller does not rely on this there.
 */
import { stat } from 'node:fs/promises';
import { fsPath } from '../discovery/fs-names.js';
import { mapLimited } from '../util/map-limited.js';
import { CONCURRENCY } from './folder-poller.js';

export async function modifiedSince(folders: readonly string[], sinceMs: number): Promise<boolean> {
  const changed = await mapLimited(folders, CONCURRENCY, async (folder) => {
    try {
      const st = await stat(fsPath(folder));
      return st.mtimeMs >= sinceMs || st.ctimeMs >= sinceMs;
    } catch {
      return true; // gone since the walk: that is a change too
    }
  });
  return changed.includes(true);
}
