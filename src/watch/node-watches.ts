/**
 * Folder watches through Node's fs.watch: a watcher object each (about 1 KB
 * of memory), the kernel's events of every kind handed over, its overflow
 * record dropped (QueueOverflow counts instead). Used where hgreload's addon
 * was not built, and by tests that make the watch call fail.
 */
import { existsSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { basename } from 'node:path';
import { decodeName, fsPath } from '../discovery/fs-names.js';
import { errnoCode } from '../errors.js';
import { selfEvent, type FolderWatches, type StampCheck, type WatchEvents } from './folder-watches.js';
import { stampChanged } from './changed-since.js';

export class NodeWatches implements FolderWatches {
  private readonly watches = new Map<string, FSWatcher>();

  constructor(
    private readonly events: WatchEvents,
    private readonly watchFn: typeof fsWatch = fsWatch,
  ) {}

  get count(): number {
    return this.watches.size;
  }

  has(folder: string): boolean {
    return this.watches.has(folder);
  }

  add(folders: readonly string[], check?: StampCheck): string[] {
    return folders.filter((folder) => {
      // The new watch before the old one closes: on the same folder the kernel keeps its watch
      // throughout (inotify has one per inode), so no event falls between the two.
      const old = this.watches.get(folder);
      this.watches.delete(folder);
      let watched: boolean;
      try {
        watched = this.watch(folder);
      } finally {
        old?.close();
      }
      if (watched && check !== undefined && stampChanged(folder, check.ms)) check.changed.push(folder);
      return watched;
    });
  }

  remove(folder: string): void {
    this.watches.get(folder)?.close();
    this.watches.delete(folder);
  }

  private watch(folder: string): boolean {
    let w: FSWatcher;
    try {
      // Content changes ('change') never make or remove a repository; creations, removals and renames do.
      // Paths and names travel as bytes, so that folders whose names are not UTF-8 are watched too.
      w = this.watchFn(fsPath(folder), { persistent: true, encoding: 'buffer' }, (type, name) => {
        this.events.onAnyEvent?.();
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
          return this.events.onChange(selfEvent(folder));
        }
        this.events.onChange({ folder, name: entry });
      });
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOSPC' || code === 'EMFILE' || code === 'ENFILE') throw err;
      // The folder went away since the walk: the event its parent's watch sent says so.
      return false;
    }
    w.on('error', (err) => {
      w.close();
      if (this.watches.get(folder) === w) this.watches.delete(folder);
      this.events.onError(folder, err);
    });
    this.watches.set(folder, w);
    return true;
  }

  close(): void {
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }
}
