/**
 * One walked root's part of what hgweb serves, kept current by walking again
 * only the part of the tree that an event names.
 *
 * That gives what a full walk gives only where each folder is reached by one
 * path: no symlink to a folder followed (hgweb's first-seen-wins then decides
 * which path serves a folder, and a change anywhere can move it) and no mount
 * inside the root (a bind mount is the other way to reach a folder twice).
 * Such a root, or a change that makes one, is walked whole instead: never a
 * wrong list.
 */
import { statSync, type BigIntStats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { childPath } from '../discovery/dir-reader.js';
import { fsPath } from '../discovery/fs-names.js';
import { join, normpath } from '../config/paths.js';
import { nameRepos, recurses, type ServedRepo, type WalkedRoot } from '../discovery/served-repos.js';
import { isTransient, WalkFailure, walkRepos, type WalkOptions } from '../discovery/walk-repos.js';
import { minimalSplice, applySplice, type Splice } from './splice.js';
import { runWithin, walkKey } from './walk-order.js';
import { differences, ordered } from './sorted-names.js';
import { KeptNames } from './kept-names.js';

export interface RootChange {
  readonly splice: Splice | undefined;
  /** Folders no longer to watch, and folders to watch (afresh: a folder made again at the same path is another folder). */
  readonly foldersRemoved: readonly string[];
  readonly foldersAdded: readonly string[];
  /**
   * Repositories this change found, as (resolved folder, name): what a look a
   * moment later should see again, since nothing watches inside .hg (a patch
   * queue copied in after the repository's .hg, say).
   */
  readonly arrived: ReadonlyArray<{ readonly folder: string; readonly name: string }>;
}

/** The root must be walked whole: the change touches what a part cannot tell. */
export const REWALK = 'rewalk';

export class RootModel {
  private readonly folders = new Set<string>();
  /**
   * Folder -> the watched folders directly in it: the folders below a changed
   * one are found in time that follows them, not by a scan of every folder
   * (8-20 ms at 100,000, per look). A walk reaches a folder only through its
   * parent, which it watches too, so every watched folder below another is
   * reached from it.
   */
  private readonly children = new Map<string, Set<string>>();
  /** While a change is tried (begin): how to undo what it did so far. */
  private undo: Array<() => void> | undefined;
  /** The length of the top's path with its slash: a repository's path less this is its place in the walk. */
  private readonly cut: number;
  /** The known names of large folders, for polls: every change below touches what it can change there. */
  private readonly kept: KeptNames;

  private constructor(
    readonly root: WalkedRoot,
    /** hgweb's list for this root, in its order: this model's own copy, changed in place by its changes (undone by begin/rollback). */
    private readonly list: ServedRepo[],
    folders: readonly string[],
    /** The top, resolved; undefined where changes cannot be applied in part. */
    private readonly canonical: string | undefined,
    private readonly options: WalkOptions,
    /** The top's inode and birth time (where Node gives it, else 0) when it was walked: a top made again is another folder. */
    readonly topIdentity: FolderIdentity | undefined,
  ) {
    this.kept = new KeptNames(options.fs.table);
    for (const f of folders) this.keep(f);
    const top = normpath(root.folder);
    this.cut = top === '/' ? 1 : top.length + 1;
  }

  /** The model of a root as a full walk found it; a root with links or a mount inside it is only ever walked whole. */
  static of(root: WalkedRoot, walked: { repos: readonly ServedRepo[]; folders: readonly string[]; links: boolean; canonical: string }, options: WalkOptions): RootModel {
    const inPart = !walked.links && !options.mounts.pointsBelow(walked.canonical);
    // A copy of its own: the walk's results stay as they are (they are a root's last good list).
    return new RootModel(root, walked.repos.slice(), walked.folders, inPart ? walked.canonical : undefined, options, inPart ? identityOf(walked.canonical) : undefined);
  }

  get repos(): readonly ServedRepo[] {
    return this.list;
  }

  /** Starts a change that `rollback` undoes whole, or `commit` keeps. */
  begin(): void {
    this.undo ??= [];
  }

  rollback(): void {
    const undo = this.undo ?? [];
    this.undo = undefined;
    for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
  }

  commit(): void {
    this.undo = undefined;
  }

  /**
   * Applies `splice`, whose entries all lie in `within` (resolved), to the
   * list; a rollback applies its inverse (O(change), not a copy of the list).
   */
  private splice(splice: Splice, within: string): void {
    applySplice(this.list, splice);
    this.touchAbove(within);
    this.undo?.push(() => this.splice({ at: splice.at, removed: splice.inserted, inserted: splice.removed }, within));
  }

  /**
   * A repository came or went at `path` or below it: in each folder above it,
   * the name on the way down may have come or gone. (The watched folders from
   * `path` down are dropped and watched again by the change that walks them,
   * and their tables with them.)
   */
  private touchAbove(path: string): void {
    if (this.kept.none) return;
    for (let child = path, parent = parentOf(child); parent !== child; child = parent, parent = parentOf(child)) {
      this.kept.touch(parent, nameIn(parent, child));
      if (parent === this.canonical) break;
    }
  }

  private dropFolder(folder: string): void {
    if (!this.forget(folder)) return;
    this.folderChanged(folder);
    this.undo?.push(() => this.addFolder(folder));
  }

  private addFolder(folder: string): void {
    if (!this.keep(folder)) return;
    this.folderChanged(folder);
    this.undo?.push(() => this.dropFolder(folder));
  }

  /** `folder` came or went: its table is of another folder, and its name may have come or gone in its parent. */
  private folderChanged(folder: string): void {
    if (this.kept.none) return;
    this.kept.forget(folder);
    const parent = parentOf(folder);
    if (parent !== folder) this.kept.touch(parent, nameIn(parent, folder));
  }

  /** Adds `folder` to the folders and its parent's children; false when it was there. */
  private keep(folder: string): boolean {
    if (this.folders.has(folder)) return false;
    this.folders.add(folder);
    const parent = parentOf(folder);
    if (parent === folder) return true; // `/` is in no folder
    let siblings = this.children.get(parent);
    if (siblings === undefined) this.children.set(parent, (siblings = new Set()));
    siblings.add(folder);
    return true;
  }

  /** Takes `folder` from the folders and its parent's children; false when it was not there. */
  private forget(folder: string): boolean {
    if (!this.folders.delete(folder)) return false;
    const parent = parentOf(folder);
    const siblings = this.children.get(parent);
    siblings?.delete(folder);
    if (siblings?.size === 0) this.children.delete(parent);
    return true;
  }

  /** The model's top, resolved, or undefined when it is only walked whole. */
  get top(): string | undefined {
    return this.canonical;
  }

  owns(folder: string): boolean {
    return this.folders.has(folder);
  }

  folderList(): IterableIterator<string> {
    return this.folders.values();
  }

  /**
   * `name` appeared, vanished or was renamed in the watched `folder` (null:
   * the kernel did not say what). Walks that part again and applies it.
   * `recheck`: the folder was just watched, to find what came between its
   * read and its watch; its watch stays.
   */
  async change(folder: string, name: string | null, recheck: boolean): Promise<RootChange | typeof REWALK | undefined> {
    const top = this.canonical;
    if (top === undefined) return REWALK;
    if (!this.folders.has(folder)) return undefined; // dropped by an earlier change of this cycle
    const at = folder === top ? '' : folder.slice(top.length + 1);
    // `.hg` made or removed turns the folder itself into a repository or back.
    const rel = name === null || name === '.hg' ? at : at === '' ? name : `${at}/${name}`;
    if (rel === '') return REWALK;
    const target = childPath(top, rel);
    const kind = await entryKind(target);
    // A link is followed from a folder that is not a repository; in a repository's working folder (`**`) it is not.
    if (kind === 'link' && !this.isRepo(at)) return REWALK;
    const walked = kind === 'folder' ? await walkRepos(join(this.root.folder, rel), recurses(this.root), this.options, true) : { repos: [], folders: [], links: false, canonical: '' };
    if (walked.links) return REWALK;
    const [start, end] = runWithin(this.repos, this.keyOf, walkKey(rel));
    const splice = minimalSplice(this.repos, start, end, nameRepos(this.root, walked.repos));
    if (splice !== undefined) this.splice(splice, target);
    // Only a walked folder holds watched folders (a `*` walk stops at a repository, unwatched).
    const before = this.folders.has(target) ? this.foldersWithin(target) : [];
    for (const f of before) this.dropFolder(f);
    for (const f of walked.folders) this.addFolder(f);
    const arrived = (splice?.inserted ?? []).flatMap((r) => {
      const at = r.path.length < this.cut ? '' : r.path.slice(this.cut);
      if (at === '' || walkKey(at).at(-1) === '') return []; // the top, or a patch queue
      const slash = at.lastIndexOf('/');
      return [{ folder: slash < 0 ? top : childPath(top, at.slice(0, slash)), name: at.slice(slash + 1) }];
    });
    if (!recheck) return { splice, foldersRemoved: before, foldersAdded: walked.folders, arrived };
    const was = new Set(before);
    const is = new Set(walked.folders);
    return { splice, foldersRemoved: before.filter((f) => !is.has(f)), foldersAdded: walked.folders.filter((f) => !was.has(f)), arrived };
  }

  /**
   * The names in the watched `folder` that differ from what the model holds
   * there (entries come or gone): what a change the kernel did not name (a
   * poll found the folder's stamp moved; a burst of events in it) can have
   * changed, found at the cost of the folder's entries, not of a walk below
   * it. Undefined where the folder cannot be compared this way (a root walked
   * whole, a folder not watched here, one gone or not read: looked at whole).
   */
  async namesChanged(folder: string): Promise<string[] | undefined> {
    const top = this.canonical;
    if (top === undefined || !this.folders.has(folder)) return undefined;
    // Compared in the addon where the names are text: the folder's 20,000 names never become strings here.
    const differ = this.options.fs.differ;
    if (differ !== undefined) {
      // Undefined where readdir must tell: an error (in its words), a name that is not UTF-8.
      const names = await this.kept.compare(
        folder,
        () => this.knownNames(folder, top),
        (name) => this.knows(folder, top, name),
        (known) => differ(folder, known),
      );
      if (names !== undefined) return ordered(names);
    }
    const known = this.knownNames(folder, top);
    let now: string[];
    try {
      now = ordered((await this.options.fs.readdir(folder)).filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name));
    } catch (err) {
      if (isTransient(err)) throw new WalkFailure(folder, err as NodeJS.ErrnoException);
      return undefined;
    }
    return differences(now, ordered(known));
  }

  /** The names the model knows in the watched `folder`: of the repositories below it, of the watched folders in it, and `.hg` where it is a repository. */
  private knownNames(folder: string, top: string): string[] {
    const rel = folder === top ? '' : folder.slice(top.length + 1);
    // Where, in a repository's path, the names below `folder` start.
    const base = this.cut + (rel === '' ? 0 : rel.length + 1);
    const [start, end] = rel === '' ? [0, this.repos.length] : runWithin(this.repos, this.keyOf, walkKey(rel));
    const known: string[] = [];
    let self = false;
    for (let i = start; i < end; i++) {
      const path = this.repos[i]!.path;
      // The folder itself a repository (and its patch queue, below its .hg): its .hg.
      if (path.length <= base || path.startsWith('.hg/', base)) {
        self = true;
        continue;
      }
      const slash = path.indexOf('/', base);
      const name = slash < 0 ? path.slice(base) : path.slice(base, slash);
      // In walk order a repository's nested ones (`**`) and patch queue come right after it.
      if (name !== known[known.length - 1]) known.push(name);
    }
    const prefix = folder === '/' ? '/' : `${folder}/`;
    for (const f of this.children.get(folder) ?? []) known.push(f.slice(prefix.length));
    if (self) known.push('.hg');
    return known;
  }

  /** Whether knownNames(folder, top) holds `name`: at the cost of a lookup, not of the folder's names. */
  private knows(folder: string, top: string, name: string): boolean {
    if (this.children.get(folder)?.has(folder === '/' ? `/${name}` : `${folder}/${name}`)) return true;
    const key = walkKey(folder === top ? '' : folder.slice(top.length + 1));
    const holds = (below: string[]): boolean => {
      const [start, end] = runWithin(this.repos, this.keyOf, below);
      return end > start;
    };
    // `.hg` stands for the folder itself a repository, and anything served below its .hg (its patch queue, keyed '').
    if (name === '.hg') return this.isRepoKey(key) || holds([...key, '']) || holds([...key, '.hg']);
    return holds([...key, name]);
  }

  /** For tests: each kept table's names beside the names the model knows in its folder (knownNames), which they must equal as sets. */
  keptTables(): Array<{ folder: string; kept: string[]; known: string[] }> {
    const top = this.canonical;
    if (top === undefined) return [];
    return this.kept.folders().flatMap((folder) => {
      const kept = this.kept.tableOf(folder, (name) => this.knows(folder, top, name));
      return kept === undefined ? [] : [{ folder, kept, known: this.knownNames(folder, top) }];
    });
  }

  /** The change from this model to a new full walk's of the same root. */
  changeTo(next: RootModel): RootChange {
    const splice = minimalSplice(this.repos, 0, this.repos.length, next.repos);
    const foldersAdded = [...next.folders].filter((f) => !this.folders.has(f));
    const foldersRemoved = [...this.folders].filter((f) => !next.folders.has(f));
    return { splice, foldersRemoved, foldersAdded, arrived: [] };
  }

  private readonly keyOf = (r: ServedRepo): string[] => walkKey(r.path.length < this.cut ? '' : r.path.slice(this.cut));

  private isRepo(rel: string): boolean {
    return this.isRepoKey(walkKey(rel));
  }

  private isRepoKey(key: readonly string[]): boolean {
    const [start, end] = runWithin(this.repos, this.keyOf, key);
    return end > start && this.keyOf(this.repos[start]!).length === key.length;
  }

  /** `folder` (when watched) and every watched folder below it. */
  private foldersWithin(folder: string): string[] {
    const out: string[] = this.folders.has(folder) ? [folder] : [];
    const stack = [folder];
    for (let f = stack.pop(); f !== undefined; f = stack.pop()) {
      for (const child of this.children.get(f) ?? []) {
        out.push(child);
        stack.push(child);
      }
    }
    return out;
  }
}

function parentOf(folder: string): string {
  const slash = folder.lastIndexOf('/');
  return slash <= 0 ? '/' : folder.slice(0, slash);
}

/** The name of `path` in its parent folder `parent`. */
function nameIn(parent: string, path: string): string {
  return path.slice(parent === '/' ? 1 : parent.length + 1);
}

/** What tells a folder from one made again at its path (whose inode may be the one just freed). */
export type FolderIdentity = Pick<BigIntStats, 'ino' | 'birthtimeNs'>;

function identityOf(folder: string): FolderIdentity | undefined {
  try {
    return statSync(fsPath(folder), { bigint: true });
  } catch {
    return undefined;
  }
}

export function sameFolder(a: FolderIdentity, b: FolderIdentity | undefined): boolean {
  return b !== undefined && a.ino === b.ino && a.birthtimeNs === b.birthtimeNs;
}

async function entryKind(path: string): Promise<'folder' | 'link' | 'other'> {
  try {
    const st = await lstat(fsPath(path));
    return st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'folder' : 'other';
  } catch (err) {
    // A server that does not answer says nothing about the entry: the caller walks whole (and keeps the last good list).
    if (isTransient(err)) throw new WalkFailure(path, err as NodeJS.ErrnoException);
    return 'other'; // gone
  }
}
