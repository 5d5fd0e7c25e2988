/**
 * Watches hgweb.config and its %include files, including includes that do not
 * exist yet (Mercurial skips them; creating one changes the served list).
 *
 * Through the folders that hold them, with `fs.watch` (inotify) on each
 * folder: a folder's watch stays while editors and configuration tools save by
 * writing a new file and renaming it over the old one, and it reports every
 * save, each by name. chokidar, used here before, watches the file itself and
 * must follow it from inode to inode: it lets through one change per file per
 * 50 ms, and after three saves in quick succession it lost the file for good
 * (every later save unseen until a restart, in 20 of 20 tries here), so the
 * daemon served an old hgweb.config's list without a word.
 *
 * A file whose folder does not exist yet is watched through the nearest
 * folder above it that does; a symlinked file through the folder of its
 * target too. Any event that may concern a file sets the watches again (a
 * few files: a few folders) and is told.
 */
import { existsSync, realpathSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errnoCode, strerror } from '../errors.js';

export interface ConfigWatcherOptions {
  readonly onChange: (file: string) => void;
  /** Every event in a watched folder, before any is left out (see QueueOverflow). */
  readonly onAnyEvent?: () => void;
  readonly onError: (err: Error) => void;
  readonly watch?: typeof fsWatch;
}

export class ConfigWatcher {
  private files: string[] = [];
  /**
   * Watched folder -> its watch (or, in a folder the daemon's user may not
   * list, the watches of the files themselves), and the names in it that
   * concern a file (with the file each stands for).
   */
  private readonly watches = new Map<string, { close: () => void; names: Map<string, string> }>();
  private readonly watchFn: typeof fsWatch;
  private closed = false;
  /** Folders already said to be unwatchable (said once). */
  private readonly refused = new Set<string>();

  constructor(private readonly options: ConfigWatcherOptions) {
    this.watchFn = options.watch ?? fsWatch;
  }

  /** Watches exactly `files` from now on; every watch is in place when it resolves. */
  async set(files: Iterable<string>): Promise<void> {
    this.files = [...new Set(files)];
    this.rewatch();
  }

  get count(): number {
    return this.files.length;
  }

  /** Idempotent. */
  close(): Promise<void> {
    this.closed = true;
    for (const { close } of this.watches.values()) close();
    this.watches.clear();
    return Promise.resolve();
  }

  /** The folders to watch for the files now, and the names in each that concern them. */
  private wanted(): Map<string, Map<string, string>> {
    const wanted = new Map<string, Map<string, string>>();
    const want = (folder: string, name: string, file: string): void => {
      let names = wanted.get(folder);
      if (names === undefined) wanted.set(folder, (names = new Map()));
      if (!names.has(name)) names.set(name, file);
    };
    for (const file of this.files) {
      // The file's folder, or the nearest one above it that exists (for the name of the next folder down).
      let below = file;
      let folder = dirname(file);
      while (!existsSync(folder) && dirname(folder) !== folder) {
        below = folder;
        folder = dirname(folder);
      }
      want(folder, basename(below), file);
      // A symlinked file changes where its target is saved.
      try {
        const target = realpathSync(file);
        if (target !== file) want(dirname(target), basename(target), file);
      } catch {
        // missing (or a dangling link): its own folder's watch sees it made
      }
    }
    return wanted;
  }

  private rewatch(): void {
    if (this.closed) return;
    const wanted = this.wanted();
    for (const [folder, { close }] of this.watches) {
      if (wanted.has(folder)) continue;
      close();
      this.watches.delete(folder);
    }
    for (const [folder, names] of wanted) {
      const watched = this.watches.get(folder);
      if (watched !== undefined) {
        watched.names.clear();
        for (const [name, file] of names) watched.names.set(name, file);
        continue;
      }
      try {
        const watch = this.watchFn(folder, { persistent: true }, (_event, name) => this.event(folder, name === null ? null : String(name)));
        // The folder removed (or unmounted): watched again from above.
        watch.on('error', () => this.lost(folder));
        this.watches.set(folder, { close: () => watch.close(), names });
      } catch (err) {
        if (errnoCode(err) === 'EACCES' || errnoCode(err) === 'EPERM') this.watchFiles(folder, names, err as Error);
        else this.options.onError(err as Error);
      }
    }
  }

  /**
   * inotify needs read permission on what it watches: a folder the daemon's
   * user may enter but not list (0711) is watched through its files instead.
   * A save by rename replaces the file watched, so any event of one sets the
   * watches again (on the new file); a file made there later is not seen.
   */
  private watchFiles(folder: string, names: Map<string, string>, cause: Error): void {
    const watches: FSWatcher[] = [];
    for (const name of names.keys()) {
      try {
        const watch = this.watchFn(join(folder, name), { persistent: true }, () => this.lost(folder));
        watch.on('error', () => this.lost(folder));
        watches.push(watch);
      } catch {
        // not there (or not readable either): only its folder could tell of it
      }
    }
    if (watches.length < names.size && !this.refused.has(folder)) {
      this.refused.add(folder);
      this.options.onError(
        new Error(`cannot watch ${folder} (${strerror(cause)}): a file made there later is seen only by the scheduled rescan; let the daemon's user read that folder (r as well as x)`, { cause }),
      );
    }
    this.watches.set(folder, { close: () => watches.forEach((w) => w.close()), names });
  }

  private event(folder: string, name: string | null): void {
    this.options.onAnyEvent?.();
    const watched = this.watches.get(folder);
    if (watched === undefined || this.closed) return;
    const file = name === null ? [...watched.names.values()][0] : watched.names.get(name);
    // The watched folder itself removed or renamed: its watch names it, and it must be watched again from above.
    if (name === basename(folder) && !existsSync(folder)) return this.lost(folder);
    if (file === undefined) return;
    this.rewatch();
    this.options.onChange(file);
  }

  private lost(folder: string): void {
    const watched = this.watches.get(folder);
    if (watched === undefined || this.closed) return;
    watched.close();
    this.watches.delete(folder);
    this.rewatch();
    const file = [...watched.names.values()][0];
    if (file !== undefined) this.options.onChange(file);
  }
}
