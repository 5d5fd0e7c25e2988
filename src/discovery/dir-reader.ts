/**
 * Reads directories for the walk, ahead of it and in parallel.
 *
 * The walk itself must be sequential to keep hgweb's order and its
 * first-seen-wins rule. This reader lets it be cheap anyway: listing a
 * directory immediately starts listing the children the walk may visit next,
 * so that on a network file system many reads are under way at once while the
 * walk consumes results in order (on a local one, reads are synchronous and
 * the read-ahead costs nothing). Listings are keyed by resolved path, so a
 * directory reached through a symlink is read once, and a symlink loop stops
 * the read-ahead as it stops the walk.
 */
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { compareNames, decodeName, fsPath } from './fs-names.js';
import { networkFileSystem } from './network-fs.js';
import { nativeListing, type FolderNames, type FolderReader, type NativeListing } from '../native/listing.js';

/** A directory entry whose name is the exact bytes, decoded as in fs-names.ts. */
export type DirEntry = Pick<Dirent, 'name' | 'isDirectory' | 'isSymbolicLink'>;

export interface WalkFs {
  readonly readdir: (path: string) => Promise<DirEntry[]>;
  readonly stat: (path: string) => Promise<{ isDirectory(): boolean }>;
  readonly realpath: (path: string) => Promise<string>;
  /**
   * Where the addon was built, a walk's reader: listings in one synchronous
   * call each, read ahead on a thread (else, or where it says so, `readdir`).
   */
  readonly reader?: () => FolderReader;
  /**
   * Where the addon was built and there is no reader (a network file
   * system), one folder's names with its patch queue, on the thread pool
   * (else, or where it says so, `readdir`).
   */
  readonly names?: (folder: string) => FolderNames | undefined | Promise<FolderNames | undefined>;
  /** Where the addon was built, NativeListing.differ (on the thread pool). */
  readonly differ?: NativeListing['differ'];
  /** Where the addon was built, a table of a folder's known names to keep for differ, or undefined where one is not worth keeping. */
  readonly table?: NativeListing['table'];
  /** Start reading a folder's children as soon as it is listed (worth it where reads overlap). */
  readonly readAhead: boolean;
}

/** Whether `path` is a directory, following symlinks; any error means no (as Python's os.path.isdir). */
export const isDirectory = (path: string): boolean => {
  try {
    return statSync(fsPath(path), { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
};

/**
 * Names come back as strings, decoded in C++ (fast); a name that is not
 * UTF-8 comes back with U+FFFD in it, and only then is the folder read again
 * as bytes so that the name stays exact.
 */
const hasUndecodable = (entries: readonly Dirent[]): boolean => entries.some((e) => e.name.includes('\uFFFD'));

function fromBytes(entries: readonly Dirent[]): DirEntry[] {
  return entries.map((e) => {
    const name = decodeName(e.name as unknown as Buffer);
    return { name, isDirectory: () => e.isDirectory(), isSymbolicLink: () => e.isSymbolicLink() };
  });
}

const bytesOptions = { withFileTypes: true, encoding: 'buffer' } as const;

const native = nativeListing();

/**
 * Fewer known names than this are gathered afresh for each comparison: for
 * them a kept table would cost more memory than it saves time.
 */
export const KEEP_TABLE_FROM = 1000;

const keptTable: NativeListing['table'] | undefined = native && ((names) => (names.length < KEEP_TABLE_FROM ? undefined : native.table(names)));

/**
 * For network file systems: every listing goes to the thread pool, so many
 * round trips to the server overlap.
 */
export const parallelWalkFs: WalkFs = {
  readdir: async (path) => {
    const entries = await readdir(fsPath(path), { withFileTypes: true });
    return hasUndecodable(entries) ? fromBytes((await readdir(fsPath(path), bytesOptions)) as unknown as Dirent[]) : entries;
  },
  stat: (path) => stat(fsPath(path)),
  realpath: async (path) => decodeName(await realpath(fsPath(path), { encoding: 'buffer' })),
  readAhead: true,
  ...(native === undefined ? {} : { names: (folder: string) => native.read(folder), differ: native.differ, table: keptTable }),
};

/**
 * For local file systems, listings are read on the main thread: through
 * Node's thread pool, the hand-offs cost more than the system calls they
 * overlap (2.1x the time of `find` at 100,000 stand-in repositories, against
 * 1.2-1.35x with synchronous reads; see `npm run bench`). Where the addon was
 * built, a walk's reader reads ahead on a thread of its own instead, one
 * folder's subfolders at a time, with no hand-off per folder.
 */
export const localWalkFs: WalkFs = {
  ...parallelWalkFs,
  ...(native === undefined ? {} : { reader: () => native.reader(), differ: native.differ, table: keptTable }),
  // Synchronous reads cannot overlap: reading ahead would only hold the whole tree in memory.
  readAhead: false,
  readdir: (path) => {
    try {
      const entries = readdirSync(fsPath(path), { withFileTypes: true });
      return Promise.resolve(hasUndecodable(entries) ? fromBytes(readdirSync(fsPath(path), bytesOptions) as unknown as Dirent[]) : entries);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  },
  realpath: (path) => {
    try {
      return Promise.resolve(decodeName(realpathSync.native(fsPath(path), { encoding: 'buffer' })));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  },
};

/** Whether `path` is a folder (following symlinks), any error meaning no; read through `fs` (on a network file system, off the main thread). */
function isFolder(fs: WalkFs, path: string): Promise<boolean> | boolean {
  if (!fs.readAhead) return isDirectory(path);
  return fs.stat(path).then(
    (st) => st.isDirectory(),
    () => false,
  );
}

/** The walk strategy for the file system holding `folder` (local when it cannot tell). */
export function walkFsFor(folder: string): WalkFs {
  return networkFileSystem(folder) === undefined ? localWalkFs : parallelWalkFs;
}

export interface SubdirEntry {
  readonly name: string;
  /** The entry is a symlink to a directory; `target` is where it resolves. */
  readonly symlink: boolean;
  readonly target?: string;
}

export type Listing =
  | {
      readonly ok: true;
      readonly subdirs: readonly SubdirEntry[];
      readonly isRepo: boolean;
      /** A repository whose `.hg/patches/.hg` is a folder: hgweb serves that MQ patch queue too. */
      readonly patchQueue: boolean;
      /** The names of symlinks that do not lead to a folder (dangling, or to a file): where they lead may become one. */
      readonly otherLinks: readonly string[];
    }
  | { readonly ok: false; readonly error: NodeJS.ErrnoException };

/** `name` inside the resolved directory `dir`. */
export function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** A listing, or one being read: a local read through the addon is done before it returns, and makes no promise. */
export type Reading = Listing | Promise<Listing>;

/** Calls `then` with the listing, at once where it is read already. */
function whenRead(reading: Reading, then: (listing: Listing) => void): void {
  if (reading instanceof Promise) void reading.then(then);
  else then(reading);
}

export class DirReader {
  private readonly listings = new Map<string, Reading>();
  /** Folders whose children were read ahead once: a folder read again (through a link) must not start it again. */
  private readonly expanded = new Set<string>();
  private readonly reader: FolderReader | undefined;

  /**
   * @param fs file system access
   * @param readIntoRepos read ahead into repositories' working folders (a `**` walk)
   */
  constructor(
    private readonly fs: WalkFs,
    private readonly readIntoRepos: boolean,
  ) {
    this.reader = fs.reader?.();
  }

  /** The directory's subfolders (after following symlinks) in hgweb's sorted order. */
  list(dir: string): Reading {
    let listing = this.listings.get(dir);
    if (listing === undefined) {
      listing = this.read(dir);
      this.listings.set(dir, listing);
      if (this.fs.readAhead && !this.expanded.has(dir)) {
        this.expanded.add(dir);
        whenRead(listing, (l) => this.readAhead(dir, l));
      }
    }
    return listing;
  }

  /**
   * `list` for the walk's visit of a folder, after which the listing is
   * dropped: a walk visits a folder once, and keeping every listing of a large
   * tree costs hundreds of megabytes.
   */
  take(dir: string): Reading {
    const listing = this.list(dir);
    this.listings.delete(dir);
    // The addon's reader goes one level ahead of the walk: the folders it is about to list.
    const reader = this.reader;
    if (reader !== undefined) whenRead(listing, (l) => reader.ahead(this.next(dir, l)));
    return listing;
  }

  /**
   * The walk will visit `dir` after the folders now being read: the reader
   * reads its subfolders too, where its listing is known already. Taken from
   * the end of the reader's queue first, they are read while the walk takes
   * what was asked before, and are there when it comes to them.
   */
  prepare(dir: string): void {
    const listing = this.listings.get(dir);
    if (this.reader !== undefined && listing !== undefined && !(listing instanceof Promise)) this.reader.ahead(this.next(dir, listing));
  }

  /** The walk has ended: the reader's thread stops, and what it read ahead and the walk did not take is dropped. */
  end(): void {
    this.reader?.end();
  }

  private read(dir: string): Reading {
    if (this.reader !== undefined) {
      const quick = this.reader.list(dir);
      return quick === undefined ? this.readdir(dir) : this.listing(dir, quick.dirs, quick.links, quick.patchQueue);
    }
    const names = this.fs.names?.(dir);
    if (names === undefined) return this.readdir(dir);
    const answer = (quick: FolderNames | undefined): Reading => (quick === undefined ? this.readdir(dir) : this.listing(dir, quick.dirs, quick.links, quick.patchQueue));
    return names instanceof Promise ? names.then(answer) : answer(names);
  }

  private async readdir(dir: string): Promise<Listing> {
    let entries: DirEntry[];
    try {
      entries = await this.fs.readdir(dir);
    } catch (err) {
      return { ok: false, error: err as NodeJS.ErrnoException };
    }
    const dirs: string[] = [];
    const links: string[] = [];
    for (const entry of entries) {
      if (entry.isDirectory()) dirs.push(entry.name);
      else if (entry.isSymbolicLink()) links.push(entry.name);
    }
    dirs.sort(compareNames);
    // hgweb's isdir(repo/.hg/patches/.hg), asked only where a `.hg` is (a folder, or a link that may lead to one).
    const patchQueue = (dirs.includes('.hg') || links.includes('.hg')) && (await isFolder(this.fs, `${childPath(dir, '.hg')}/patches/.hg`));
    return this.listing(dir, dirs, links, patchQueue);
  }

  /**
   * The listing of `dir` from its subfolders (sorted) and symlinks, these
   * followed.
   */
  private listing(dir: string, dirs: readonly string[], links: readonly string[], patchQueue: boolean): Reading {
    const subdirs: SubdirEntry[] = dirs.map((name) => ({ name, symlink: false }));
    if (links.length === 0) return this.listed(subdirs, [], patchQueue);
    return Promise.all(links.map((name) => this.resolveLink(dir, name))).then((resolved) => {
      const otherLinks: string[] = [];
      for (const link of resolved) {
        if (typeof link === 'string') otherLinks.push(link);
        else subdirs.push(link);
      }
      subdirs.sort((a, b) => compareNames(a.name, b.name));
      return this.listed(subdirs, otherLinks, patchQueue);
    });
  }

  private listed(subdirs: readonly SubdirEntry[], otherLinks: readonly string[], patchQueue: boolean): Listing {
    const isRepo = subdirs.some((d) => d.name === '.hg');
    return { ok: true, subdirs, isRepo, patchQueue: isRepo && patchQueue, otherLinks };
  }

  /** Python's DirEntry.is_dir() follows a symlink and calls any error "not a directory"; such a link comes back as its name. */
  private async resolveLink(dir: string, name: string): Promise<SubdirEntry | string> {
    const path = childPath(dir, name);
    try {
      if (!(await this.fs.stat(path)).isDirectory()) return name;
      return { name, symlink: true, target: await this.fs.realpath(path) };
    } catch {
      return name;
    }
  }

  private readAhead(dir: string, listing: Listing): void {
    for (const folder of this.next(dir, listing)) void this.list(folder);
  }

  /** The folders a walk may visit after `dir`: its subfolders (but `.hg`), where the walk goes on below it. */
  private next(dir: string, listing: Listing): string[] {
    if (!listing.ok) return [];
    if (listing.isRepo && !this.readIntoRepos) return [];
    const next: string[] = [];
    for (const d of listing.subdirs) {
      if (d.symlink) {
        // Links are followed only from folders that are not repositories.
        if (!listing.isRepo) next.push(d.target!);
      } else if (d.name !== '.hg') {
        next.push(childPath(dir, d.name));
      }
    }
    return next;
  }
}
