/**
 * A folder's subfolders and symlinks through the addon (src/native/listing.c):
 * one call per folder, no object per entry, the patch queue looked up beside;
 * and readers that read ahead, on a thread of their own, the folders a walk
 * will visit next.
 */
import { fsPath, hasEscapedBytes } from '../discovery/fs-names.js';
import { nativeAddon, type AddonBinding } from './addon.js';

export interface FolderNames {
  /** Subfolders (not through symlinks), in byte order. */
  readonly dirs: readonly string[];
  /** Symlinks, whatever they lead to, in byte order. */
  readonly links: readonly string[];
  /** Whether `.hg/patches/.hg` is a folder (following symlinks): hgweb serves an MQ patch queue as a repository. */
  readonly patchQueue: boolean;
}

/**
 * Reads `folder`'s names, or undefined where Node's readdir should: a name
 * that is not UTF-8 (read as bytes there), and any error (Node's says what it
 * is, in the words every other failure of the walk uses).
 */
export type ListFolder = (folder: string) => FolderNames | undefined;

/** One walk's reader. */
export interface FolderReader {
  /** The folder's names: read ahead already (waited for while being read), or read now. */
  readonly list: ListFolder;
  /** Folders the walk will visit next, in that order: read them on the reader's thread. */
  ahead(folders: readonly string[]): void;
  /** Stops the thread and drops what was read and not taken. */
  end(): void;
}

/**
 * A set of names the addon keeps between comparisons (see differ), changed
 * one name at a time: a folder of 20,000 names compared after each poll is
 * not handed over whole each time.
 */
export interface NameTable {
  /** Adds (present) or takes away `name`; false where the table cannot hold it (not UTF-8): it must not be used again. */
  set(name: string, present: boolean): boolean;
  /** Its names, in no order. */
  names(): string[];
}

export interface NativeListing {
  /** list on Node's thread pool, for a network file system's folder (whose server may be slow to answer). */
  read(folder: string): Promise<FolderNames | undefined>;
  /**
   * The names (subfolders and symlinks) in which `folder` and `known` differ,
   * in no order, read on the thread pool; undefined where `readdir` should
   * tell (as `list`), and where a name of `known` is not UTF-8 (it holds an
   * escaped byte: the addon compares text). A table must not change until
   * the promise settles.
   */
  differ(folder: string, known: readonly string[] | NameTable): Promise<string[] | undefined>;
  /** A table of `names`, or undefined where one is not UTF-8. */
  table(names: readonly string[]): NameTable | undefined;
  reader(): FolderReader;
}

/** The addon's listing, or undefined where the addon was not built. */
export function nativeListing(): NativeListing | undefined {
  const addon = nativeAddon();
  if (addon instanceof Error) return undefined;
  return {
    read: async (folder) => names(await addon.read(fsPath(folder))),
    differ: async (folder, known) => {
      let given: string | object;
      if (known instanceof Table) given = known.handle;
      else {
        given = (known as readonly string[]).join('\0');
        // One look at the whole, not one per name.
        if (hasEscapedBytes(given)) return undefined;
      }
      const answer = await addon.differ(fsPath(folder), given);
      return answer === null || typeof answer === 'number' ? undefined : answer;
    },
    table: (names) => {
      const joined = names.join('\0');
      return hasEscapedBytes(joined) ? undefined : new Table(addon, addon.table(joined));
    },
    reader: () => new Reader(addon),
  };
}

type Answer = ReturnType<AddonBinding['list']>;

function names(answer: Answer): FolderNames | undefined {
  if (answer === null || typeof answer === 'number') return undefined;
  const [dirs, links, patchQueue] = answer;
  return { dirs, links, patchQueue };
}

class Table implements NameTable {
  constructor(
    private readonly addon: AddonBinding,
    readonly handle: object,
  ) {}

  set(name: string, present: boolean): boolean {
    if (hasEscapedBytes(name)) return false;
    this.addon.tableSet(this.handle, name, present);
    return true;
  }

  names(): string[] {
    return this.addon.tableNames(this.handle);
  }
}

class Reader implements FolderReader {
  /** Made with the first folder to read ahead: most walks in part never need one. */
  private handle: object | undefined;
  private ended = false;

  constructor(private readonly addon: AddonBinding) {}

  readonly list: ListFolder = (folder) => names(this.addon.list(fsPath(folder), this.handle));

  ahead(folders: readonly string[]): void {
    if (this.ended || folders.length === 0) return;
    this.handle ??= this.addon.reader();
    this.addon.ahead(this.handle, folders.map(fsPath));
  }

  end(): void {
    this.ended = true;
    if (this.handle !== undefined) this.addon.end(this.handle);
  }
}
