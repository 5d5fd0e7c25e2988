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

const CONCURRENCY = 16;

export async function modifiedSince(folders: readonly string[], sinceMs: number): Promise<boolean> {
  let next = 0;
  let found = false;
  const worker = async (): Promise<void> => {
    while (!found && next < folders.length) {
      const folder = folders[next++]!;
      try {
        const st = await stat(fsPath(folder));
        if (st.mtimeMs >= sinceMs || st.ctimeMs >= sinceMs) found = true;
      } catch {
        found = true; // gone since the walk: that is a change too
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, folders.length) }, worker));
  return found;
}
