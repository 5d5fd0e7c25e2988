/**
 * The folders among `folders` that had an entry made, removed or renamed
 * since `sinceMs` (their mtime or ctime), or that are gone: after a first
 * walk, where a repository may have appeared in a folder already read before
 * its watch was set, for a stat per folder instead of a second walk, and the
 * folders to look at again rather than every root. Timestamps come from the
 * kernel's clock, the same as Date.now() on a local file system; on network
 * file systems the server's clock stamps them, so the caller does not rely on
 * this there.
 *
 * Synchronous stats, in slices between which the event loop runs: a local
 * stat costs microseconds, and a stat through the thread pool cost 11 us per
 * folder in hand-offs (1.1 s for 100,000 folders). Through the addon
 * (src/native/stamps.c) a slice of folders is one call.
 */
import { statSync } from 'node:fs';
import { fsPath } from '../discovery/fs-names.js';
import { nativeAddon } from '../native/addon.js';
import { yielder } from '../util/yielder.js';

/** Folders per call of the addon: about 4 ms of stats (on two threads). */
const SLICE = 4000;

export async function changedSince(folders: Iterable<string>, sinceMs: number): Promise<string[]> {
  const addon = nativeAddon();
  const changed: string[] = [];
  const pause = yielder();
  if (!(addon instanceof Error)) {
    const all = [...folders];
    for (let at = 0; at < all.length; at += SLICE) {
      const slice = all.slice(at, at + SLICE);
      for (const i of addon.changedSince(slice.map(fsPath), sinceMs)) changed.push(slice[i]!);
      await pause();
    }
    return changed;
  }
  for (const folder of folders) {
    if (stampChanged(folder, sinceMs)) changed.push(folder);
    await pause();
  }
  return changed;
}

/** Whether `folder` had an entry made, removed or renamed at or after `sinceMs`, or cannot be stat'ed (gone, say). */
export function stampChanged(folder: string, sinceMs: number): boolean {
  let st;
  try {
    st = statSync(fsPath(folder), { throwIfNoEntry: false });
  } catch {
    st = undefined;
  }
  return st === undefined || st.mtimeMs >= sinceMs || st.ctimeMs >= sinceMs;
}
