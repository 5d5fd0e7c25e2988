/**
 * Watches the folders where a new repository could appear, each one level
 * deep, with the kernel's inotify: one watch per folder, nothing inside
 * repositories. Through the addon's single inotify instance (inotify-watches)
 * where `npm install` built it, else through Node's fs.watch (node-watches).
 *
 * Why not chokidar here: on 10,000 stand-in repositories in 141 such folders,
 * chokidar (depth 0) took 700 ms to be ready and the process 195 MB resident
 * (it stats and remembers every entry of every folder); `fs.watch` took 3 ms
 * and 67 MB, against a target of 100 MB. A watch is also in place when the
 * call returns, so nothing created after `update()` can be missed.
 */
import type { watch as fsWatch } from 'node:fs';
import { describeLimit, RAISE_WATCHES } from './inotify-limits.js';
import { HgreloadError, errnoCode } from '../errors.js';
import type { FolderWatches, StampCheck, WatchEvents } from './folder-watches.js';
import { nativeAddon } from '../native/addon.js';
import { InotifyWatches } from './inotify-watches.js';
import { NodeWatches } from './node-watches.js';

export interface TreeEvent {
  readonly folder: string;
  /** The entry that appeared, vanished or was renamed (null when the kernel does not say). */
  readonly name: string | null;
}

export type WatchWay = 'inotify' | 'fs.watch';

export interface TreeWatcherOptions extends WatchEvents {
  /** Node's watch call instead of the addon; tests hand in one that runs out of watches. */
  readonly watch?: typeof fsWatch;
  /** The way to watch (default: the addon where it was built). */
  readonly way?: WatchWay;
}

export class TreeWatcher {
  private readonly watches: FolderWatches;
  /** How folders are watched, and, for fs.watch chosen by default, why the addon is not used. */
  readonly way: { readonly name: WatchWay; readonly why?: string };

  constructor(options: TreeWatcherOptions) {
    const addon = nativeAddon();
    if (options.watch !== undefined || options.way === 'fs.watch') this.way = { name: 'fs.watch' };
    else if (!(addon instanceof Error)) this.way = { name: 'inotify' };
    else if (options.way === undefined) this.way = { name: 'fs.watch', why: addon.message };
    else throw addon;
    this.watches = this.way.name === 'inotify' ? new InotifyWatches(options) : new NodeWatches(options, options.watch);
  }

  get count(): number {
    return this.watches.count;
  }

  has(folder: string): boolean {
    return this.watches.has(folder);
  }

  /**
   * Stops watching `removed`, then watches `added` (afresh when watched
   * already: a folder made again at the same path is another folder, and the
   * old watch saw it go). Returns the folders newly watched. Throws a
   * `watch-limit` error when the kernel refuses more watches; the folders
   * that got a watch stay watched. `check`: see StampCheck.
   */
  update(removed: Iterable<string>, added: Iterable<string>, check?: StampCheck): string[] {
    for (const folder of removed) this.watches.remove(folder);
    try {
      return this.watches.add([...added], check);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOSPC') throw watchLimitError(this.watches.count, err);
      if (code === 'EMFILE' || code === 'ENFILE') throw tooManyFilesError(err);
      throw err;
    }
  }

  close(): void {
    this.watches.close();
  }
}

function watchLimitError(watching: number, cause: unknown): HgreloadError {
  return new HgreloadError('watch-limit', `the kernel refused more folder watches after ${watching} (${describeLimit('max_user_watches')}); changes in the other folders are found only by the scheduled rescans`, {
    hint: `raise it: ${RAISE_WATCHES}`,
    cause,
  });
}

/**
 * inotify_init fails with EMFILE when this process has no file descriptor left
 * or this user has all the inotify instances allowed (each program watching
 * files holds one): neither is the watch limit.
 */
function tooManyFilesError(cause: unknown): HgreloadError {
  const instances = describeLimit('max_user_instances');
  return new HgreloadError('too-many-files', `too many open files: no folder watch could be set (${errnoCode(cause) ?? 'EMFILE'}); changes are found only by the scheduled rescans`, {
    hint: `raise the daemon's open-file limit (LimitNOFILE= in the unit), or the inotify instances its user may hold (${instances})`,
    cause,
  });
}
