/**
 * Folder watches through the addon's one inotify instance: a watch is a
 * number the kernel keeps, and two map entries here. Only the events that can
 * make or remove a repository are asked for (an entry made, removed or
 * renamed; the folder itself removed or moved), so a busy working copy under
 * `**` fills the kernel's queue with nothing else; and when the queue does
 * overflow, the kernel says so.
 */
import { existsSync } from 'node:fs';
import { decodeName, fsPath } from '../discovery/fs-names.js';
import { errnoCode } from '../errors.js';
import { selfEvent, type FolderWatches, type StampCheck, type WatchEvents } from './folder-watches.js';
import { IN, Inotify, type InotifyEvent } from './inotify.js';

const MASK = IN.CREATE | IN.DELETE | IN.MOVED_FROM | IN.MOVED_TO | IN.DELETE_SELF | IN.MOVE_SELF;

export class InotifyWatches implements FolderWatches {
  private instance: Inotify | undefined;
  private readonly wdOf = new Map<string, number>();
  /**
   * The kernel has one watch per folder, whatever the path: two paths to one
   * folder (through a link) share it. One path is the rule, and is held as
   * itself: an array per watch cost 3 MB at 100,000 folders.
   */
  private readonly foldersOf = new Map<number, string | string[]>();

  constructor(private readonly events: WatchEvents) {}

  get count(): number {
    return this.wdOf.size;
  }

  has(folder: string): boolean {
    return this.wdOf.has(folder);
  }

  add(folders: readonly string[], check?: StampCheck): string[] {
    // Opened at the first watch, so that EMFILE is thrown where a watch is asked for, as fs.watch throws it.
    this.instance ??= Inotify.open((e) => this.dispatch(e));
    const watched: string[] = [];
    let refused: NodeJS.ErrnoException | undefined;
    const stamps = check === undefined ? undefined : { sinceMs: check.ms, changed: new Uint8Array(folders.length) };
    // Afresh: the same folder keeps its watch descriptor, and so loses no event; another folder at the path gets its own.
    const answers = this.instance.add(folders.map(fsPath), MASK, stamps);
    for (let i = 0; i < answers.length; i++) {
      const folder = folders[i]!;
      const wd = answers[i]!;
      if (stamps?.changed[i] === 1) check?.changed.push(folder);
      if (typeof wd !== 'number') {
        const code = errnoCode(wd);
        // Out of watches: every folder that got one is kept (and said below), then the error is thrown.
        if (code === 'ENOSPC' || code === 'EMFILE' || code === 'ENFILE') refused ??= wd;
        // The folder went away since the walk (ENOENT), or is no folder (ENOTDIR): its parent's watch says so.
        else this.remove(folder);
        continue;
      }
      const old = this.wdOf.get(folder);
      if (old !== wd) {
        if (old !== undefined) this.unlink(folder, old);
        this.wdOf.set(folder, wd);
        const sharing = this.foldersOf.get(wd);
        this.foldersOf.set(wd, sharing === undefined ? folder : [...pathsOf(sharing), folder]);
      }
      watched.push(folder);
    }
    if (refused !== undefined) throw refused;
    return watched;
  }

  remove(folder: string): void {
    const wd = this.wdOf.get(folder);
    if (wd === undefined) return;
    this.wdOf.delete(folder);
    this.unlink(folder, wd);
  }

  /** Takes `folder` off `wd`'s folders, and ends the kernel's watch when none is left. */
  private unlink(folder: string, wd: number): void {
    const rest = pathsOf(this.foldersOf.get(wd)).filter((f) => f !== folder);
    if (rest.length > 0) return void this.foldersOf.set(wd, rest.length === 1 ? rest[0]! : rest);
    this.foldersOf.delete(wd);
    this.instance?.remove(wd);
  }

  private dispatch(e: InotifyEvent): void {
    if ((e.mask & IN.Q_OVERFLOW) !== 0) return this.events.onOverflow?.();
    // Events still queued for a watch ended here are nobody's.
    const held = this.foldersOf.get(e.wd);
    if (held === undefined) return;
    const folders = pathsOf(held);
    if ((e.mask & (IN.DELETE_SELF | IN.MOVE_SELF)) !== 0) return this.gone(e.wd, folders);
    if ((e.mask & IN.IGNORED) !== 0) {
      // The kernel ended the watch for another reason (its file system unmounted): the next walk of every root mends it.
      this.forget(e.wd, folders);
      for (const folder of folders) this.events.onError(folder, new Error(`the kernel ended the watch on ${folder}`));
      return;
    }
    const name = e.name === null ? null : decodeName(e.name);
    for (const folder of folders) this.events.onChange({ folder, name });
  }

  /**
   * The watched folder was removed or moved away: each of its paths is
   * watched again if a folder is there (another folder, whose events the old
   * watch would never see), else forgotten, so that one made later is
   * watched anew when it is next set.
   */
  private gone(wd: number, folders: readonly string[]): void {
    this.forget(wd, folders);
    this.instance?.remove(wd);
    for (const folder of folders) {
      if (existsSync(fsPath(folder))) this.add([folder]);
      this.events.onChange(selfEvent(folder));
    }
  }

  private forget(wd: number, folders: readonly string[]): void {
    this.foldersOf.delete(wd);
    for (const folder of folders) if (this.wdOf.get(folder) === wd) this.wdOf.delete(folder);
  }

  close(): void {
    this.instance?.close();
    this.instance = undefined;
    this.wdOf.clear();
    this.foldersOf.clear();
  }
}

function pathsOf(held: string | string[] | undefined): readonly string[] {
  return held === undefined ? [] : typeof held === 'string' ? [held] : held;
}
