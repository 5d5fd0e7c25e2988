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

export interface NativeListing {
  /** list on Node's thread pool, for a network file system's folder (whose server may be slow to answer). */
  read(folder: string): Promise<FolderNames | undefined>;
  /**
   * The names (subfolders and symlinks) in which `folder` and `known` differ,
   * in no order, read on the thread pool; undefined where `readdir` should
   * tell (as `list`), and where a name of `known` is not UTF-8 (it holds an
   * escaped byte: the addon compares text).
   */
  differ(folder: string, known: readonly string[]): Promise<string[] | undefined>;
  reader(): FolderReader;
}

/** The addon's listing, or undefined where the addon was not built. */
export function nativeListing(): NativeListing | undefined {
  const addon = nativeAddon();
  if (addon instanceof Error) return undefined;
  return {
    read: async (folder) => names(await addon.read(fsPath(folder))),
    differ: async (folder, known) => {
      const joined = known.join('\0');
      // One look at the whole, not one per name.
      if (hasEscapedBytes(joined)) return undefined;
      const answer = await addon.differ(fsPath(folder), joined);
      return answer === null || typeof answer === 'number' ? undefined : answer;
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
