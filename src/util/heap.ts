/**
 * Giving back what a walk of every root left behind. Such a walk makes a
 * new path and name for every repository and folder, kept for seconds (long
 * enough to be promoted to V8's old space) and dropped once its list is
 * applied; V8 then keeps the space as headroom for a process that, like this
 * daemon, sits idle until the next change. At 100,000 repositories that was
 * 35 MB resident. A full, compacting collection right after returns it.
 *
 * The walk's folders are read on threads, whose C heap arenas keep what
 * they freed (8 MB at 100,000 folders) until asked to give it back: the
 * addon asks (glibc's malloc_trim), right after the collection.
 *
 * V8 gives JavaScript its `gc` function only under --expose-gc; the flag, set
 * at run time, takes effect for contexts made after it (the way Node's own
 * documentation of v8.setFlagsFromString shows). Where that does not hold, it
 * does nothing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { nativeAddon } from '../native/addon.js';

/** V8's `gc`: a full collection, or with `{ type: 'minor' }` the young generation's alone. */
export type Collector = (options?: { readonly type: 'minor' | 'major' }) => void;

let collect: Collector | null | undefined;

/** V8's `gc`, or null where this Node gives no way to ask for it. */
export function collector(): Collector | null {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('typeof gc === "function" ? gc : null');
      collect = typeof gc === 'function' ? (gc as Collector) : null;
    } catch {
      collect = null;
    }
  }
  return collect;
}

/**
 * A full, compacting collection now, then the C heap's free memory given
 * back; false where this Node gives no way to ask for the collection.
 *
 * Two collections, not one: objects a walk held long enough to be moved to
 * the old space by the young generation's collections stay committed there
 * after one full collection (24 to 50 MB of old space at 100,000
 * repositories, for the same 39 MB live, run after run); after a second, 25 to
 * 28 MB. The second costs about as much as the first (tens of milliseconds),
 * once per walk of every root.
 *
 * And a third: V8 gives back the pages a collection freed on a worker thread,
 * after the collection (its trace: 59 pages of 256 KB given back after the
 * second, while `ready` was being logged), and a full collection first waits
 * for that. Without it, resident memory read at `ready` (100,000 repositories
 * under a `*` root, by hand) was 91 to 111 MB, and 89 to 94 MB a few
 * milliseconds later; with it, the same at once. Under `**` (100,141 folders
 * watched) three starts each way showed no such gap (105 to 109 MB at ready
 * and after). It costs 15 to 25 ms at 100,000 (nothing is left to move).
 */
export function compactHeap(): boolean {
  const gc = collector();
  gc?.();
  gc?.();
  gc?.();
  const addon = nativeAddon();
  if (!(addon instanceof Error)) addon.trimHeap();
  return gc !== null;
}
