/**
 * One watch per folder, one level deep: what TreeWatcher needs of a way to
 * watch (the addon's single inotify instance, or Node's fs.watch where the
 * addon was not built).
 */
import { basename } from 'node:path';
import type { TreeEvent } from './tree-watcher.js';

export interface WatchEvents {
  readonly onChange: (event: TreeEvent) => void;
  /** fs.watch only: every event handed over, of every kind, for QueueOverflow to count. */
  readonly onAnyEvent?: () => void;
  /** The addon only: the kernel said its queue overflowed (events were lost). */
  readonly onOverflow?: () => void;
  /** A folder's watch ended other than by remove() (unmounted, say). */
  readonly onError: (folder: string, err: Error) => void;
}

/**
 * A look at the stamps of folders as they are watched: each one watched that
 * had an entry made, removed or renamed at or after `ms` (its mtime or
 * ctime), or that can no longer be stat'ed, is pushed to `changed`. After a
 * walk, that finds what came between a folder's read and its watch in the
 * same pass as the watch.
 */
export interface StampCheck {
  readonly ms: number;
  readonly changed: string[];
}

export interface FolderWatches {
  readonly count: number;
  has(folder: string): boolean;
  /**
   * Watches each of `folders`, afresh when watched already (a folder made
   * again at the same path is another folder), with no gap. Returns those
   * watched: not those that are not there (or not folders). Other errors
   * (ENOSPC, EMFILE) are thrown, errno-coded; the folders that got a watch
   * stay watched (and were checked).
   */
  add(folders: readonly string[], check?: StampCheck): string[];
  remove(folder: string): void;
  close(): void;
}

/**
 * The event for a watched folder itself removed or moved: named as fs.watch
 * names it (the folder's own name), so that both ways report it alike.
 */
export const selfEvent = (folder: string): TreeEvent => ({ folder, name: basename(folder) });
