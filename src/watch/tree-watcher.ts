/**
 * Watches the folders where a new repository could appear, each one level
 * deep, with the kernel's inotify through `fs.watch`: one watch per folder,
 * nothing inside repositories.
 *
 * Why not chokidar here: on 10,000 stand-in repositories in 141 such folders,
 * chokidar (depth 0) took 700 ms to be ready and the process 195 MB resident
 * (it stats and remembers every entry of every folder); `fs.watch` took 3 ms
 * and 67 MB, against a target of 100 MB. `fs.watch` is also in place when the
 * call returns, so nothing created after `set()` can be missed.
 */
import { existsSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { basename } from 'node:path';
import { describeLimit, RAISE_WATCHES } from './inotify-limits.js';
import { decodeName, fsPath } from '../discovery/fs-names.js';
import { HgreloadError, errnoCode } from '../errors.js';

export interface TreeEvent {
  readonly folder: string;
  /** The entry that appeared, vanished or was renamed (null when the kernel does not say). */
  readonly name: string | null;
}

export interface TreeWatcherOptions {
  readonly onChange: (event: TreeEvent) => void;
  /** Every event of every kind, before any is left out: what fills the kernel's queue (see QueueOverflow). */
  readonly onAnyEvent?: () => void;
  /** A folder's watch failed after it was set (the folder was removed, say); the next rescan mends it. */
  readonly onError: (folder: string, err: Error) => void;
  readonly watch?: typeof fsWatch;
}

export class TreeWatcher {
  private readonly watches = new Map<string, FSWatcher>();
  private readonly watchFn: typeof fsWatch;

  constructor(private readonly options: TreeWatcherOptions) {
    this.watchFn = options.watch ?? fsWatch;
  }

  get count(): number {
    return this.watches.size;
  }

  has(folder: string): boolean {
    return this.watches.has(folder);
  }

  /**
   * Stops watching `removed`, then watches `added` (afresh when watched
   * already: a folder made again at the same path is another folder, and the
   * old watch saw it go). Returns the folders newly watched. Throws a
   * `watch-limit` error when the kernel refuses more watches; the folders set
   * up before that stay watched.
   */
  update(removed: Iterable<string>, added: Iterable<string>): string[] {
    for (const folder of removed) {
      this.watches.get(folder)?.close();
      this.watches.delete(folder);
    }
    const fresh: string[] = [];
    for (const folder of added) {
      // The new watch before the old one closes: on the same folder the kernel keeps its watch
      // throughout (inotify has one per inode), so no event falls between the two.
      const old = this.watches.get(folder);
      this.watches.delete(folder);
      try {
        if (this.watch(folder)) fresh.push(folder);
      } finally {
        old?.close();
      }
    }
    return fresh;
  }

  private watch(folder: string): boolean {
    let w: FSWatcher;
    try {
      // Content changes ('change') never make or remove a repository; creations, removals and renames do.
      // Paths and names travel as bytes, so that folders whose names are not UTF-8 are watched too.
      w = this.watchFn(fsPath(folder), { persistent: true, encoding: 'buffer' }, (type, name) => {
        this.options.onAnyEvent?.();
        if (type !== 'rename') return;
        const entry = name === null ? null : decodeName(name);
        // The folder itself removed: the kernel ends the watch, naming the folder. (Or an entry
        // named like it came or went.) Watched again if a folder is there (made again: another
        // folder, whose events the old watch would never see), else forgotten, so that one made
        // later is watched anew when it is next set.
        if (entry === basename(folder) && this.watches.get(folder) === w) {
          this.watches.delete(folder);
          if (existsSync(fsPath(folder))) this.watch(folder);
          w.close();
        }
        this.options.onChange({ folder, name: entry });
      });
    } catch (err) {
      if (errnoCode(err) === 'ENOSPC') throw watchLimitError(this.watches.size, err);
      if (errnoCode(err) === 'EMFILE' || errnoCode(err) === 'ENFILE') throw tooManyFilesError(err);
      // The folder went away since the walk: the event its parent's watch sent says so.
      return false;
    }
    w.on('error', (err) => {
      w.close();
      if (this.watches.get(folder) === w) this.watches.delete(folder);
      this.options.onError(folder, err);
    });
    this.watches.set(folder, w);
    return true;
  }

  close(): void {
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
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
