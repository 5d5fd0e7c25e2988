/**
 * hgweb's repository walk (mercurial/scmutil.py `walkrepos` with followsym=True,
 * over Python's `os.walk`), ported step by step so that the same tree gives the
 * same paths in the same order:
 *
 * - depth-first, pre-order, subfolder names sorted bytewise;
 * - a folder holding `.hg` (a directory, or a symlink to one) is a repository:
 *   it is emitted, then `.hg/patches` when that holds its own `.hg`; a `*` walk
 *   stops there, a `**` walk goes on into the working folder (not `.hg`, and
 *   not through symlinks);
 * - in any other folder each subfolder is checked against the folders seen so
 *   far (same device and inode: first seen wins, which ends loops); a symlinked
 *   one is walked at once as a nested, non-recursive walk, and real ones after;
 * - failing to list the top of a walk, or to stat a subfolder, is fatal (hgweb
 *   fails every request); failing to list any other folder skips it, as
 *   hgweb does, unless the failure is one that passes (TRANSIENT below).
 */
import { errnoCode } from '../errors.js';
import { DirReader, type WalkFs } from './dir-reader.js';
import { MountTable, type DirIdentity } from './mount-table.js';
import { linkWatchPoints } from './link-chain.js';
import { join } from '../config/paths.js';
import { yielder } from '../util/yielder.js';
import { append } from '../util/append.js';

/**
 * Failures to list a folder that say nothing about the folder itself: a
 * network file system's I/O error or stale handle, a server that does not
 * answer, our own open-file limit. hgweb skips such a folder silently and
 * serves its repositories again once it reads; skipping it here would make
 * them vanish from the published list until then. So they fail the walk, and
 * the daemon keeps the root's last good list. (EACCES and ENOENT are lasting
 * answers about the folder, and skipped exactly as hgweb skips them.)
 */
const TRANSIENT = new Set(['EIO', 'ESTALE', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTDOWN', 'EHOSTUNREACH', 'ECONNABORTED', 'EMFILE', 'ENFILE', 'ENOMEM']);

export function isTransient(err: unknown): boolean {
  return TRANSIENT.has(errnoCode(err) ?? '');
}

/** A failure that makes hgweb's whole refresh fail (or, TRANSIENT, that must not shrink the list). */
export class WalkFailure extends Error {
  constructor(
    readonly path: string,
    readonly error: NodeJS.ErrnoException,
  ) {
    super(`${path}: ${error.message}`);
  }
}

export interface WalkOptions {
  readonly fs: WalkFs;
  readonly mounts: MountTable;
  /** Resolves a walk path that may be relative (collections are walked as written) to one the fs can use. */
  readonly resolve: (path: string) => string;
  /** A walk in the background: what to wait for before going on, at each yield (see yielder). */
  readonly hold?: () => Promise<void> | undefined;
}

export interface WalkResult {
  /** The repositories below the top, as walk paths (symlink names kept, not resolved). */
  readonly repos: string[];
  /**
   * Resolved paths of the folders where a change can change what is served:
   * every folder walked that is not a repository, and with `**` the working
   * folders walked too; and for each symlink followed (or that leads nowhere
   * yet), the folders its chain of links goes through (see linkWatchPoints).
   * A watcher needs exactly these.
   */
  readonly folders: string[];
  /**
   * Whether a folder that is not a repository holds a symlink (to a folder, or
   * one that may become one). Without one, each folder below the top is
   * reached by one path only, and a part of the tree can be walked again on
   * its own with the same result.
   */
  readonly links: boolean;
  /** The top, resolved as the walk began. */
  readonly canonical: string;
}

/**
 * hgweb's walk below `top`. Throws WalkFailure where hgweb's walk raises.
 * With `subtree`, `top` is a folder inside a walk, walked again on its own:
 * failing to list it skips it as the whole walk would (unless TRANSIENT), and
 * a top that is gone gives nothing.
 */
export async function walkRepos(top: string, recurse: boolean, options: WalkOptions, subtree = false): Promise<WalkResult> {
  return new RepoWalk(options, new DirReader(options.fs, recurse)).run(top, recurse, subtree);
}


class RepoWalk {
  private readonly seen = new Set<string>();
  /**
   * Local listings are read synchronously: a walk of 100,000 repositories took
   * 1.6 s, during which no event was read (the kernel's queue can fill then)
   * and no request of the control socket answered, unless it hands the event
   * loop back now and then.
   */
  private readonly pause: () => Promise<void> | undefined;
  private readonly found: string[] = [];
  private readonly folders: string[] = [];
  private links = false;

  constructor(
    private readonly options: WalkOptions,
    private readonly reader: DirReader,
  ) {
    this.pause = yielder(options.hold);
  }

  async run(top: string, recurse: boolean, subtree: boolean): Promise<WalkResult> {
    let canonical: string;
    try {
      // Python stats '' and fails; resolving it against the working folder would not.
      if (top === '') throw Object.assign(new Error("ENOENT: no such file or directory, stat ''"), { code: 'ENOENT' });
      canonical = await this.options.fs.realpath(this.options.resolve(top));
    } catch (err) {
      if (subtree && !isTransient(err)) return { repos: [], folders: [], links: false, canonical: '' };
      throw new WalkFailure(top, err as NodeJS.ErrnoException);
    }
    const id = this.options.mounts.identify(canonical);
    this.seen.add(this.options.mounts.key(id));
    try {
      await this.walk(top, id, recurse, !subtree);
    } finally {
      this.reader.end();
    }
    return { repos: this.found, folders: this.folders, links: this.links, canonical };
  }

  /**
   * Walks from `top`, depth first, pre-order. A loop over a stack of the
   * folders still to visit, not a call per folder: an async call (its promise
   * and frame) per folder was a third of the walk's garbage. A symlinked
   * folder is walked where the loop meets it, by a walk of its own (nested,
   * not recursive), before the folder's later subfolders are checked, as
   * os.walk does.
   */
  private async walk(top: string, topId: DirIdentity, recurse: boolean, topFatal: boolean): Promise<void> {
    const stack: Array<{ readonly path: string; readonly id: DirIdentity; readonly fatal: boolean }> = [{ path: top, id: topId, fatal: topFatal }];
    for (let visit = stack.pop(); visit !== undefined; visit = stack.pop()) {
      const { path, id, fatal } = visit;
      // What comes after this folder's subtree: its subfolders are read ahead while this one's are taken.
      const after = stack[stack.length - 1];
      if (after !== undefined) this.reader.prepare(after.id.canonical);
      const pause = this.pause();
      if (pause !== undefined) await pause;
      const taken = this.reader.take(id.canonical);
      const listing = taken instanceof Promise ? await taken : taken;
      if (!listing.ok) {
        if (fatal || TRANSIENT.has(listing.error.code ?? '')) throw new WalkFailure(path, listing.error);
        continue;
      }
      let descend = listing.subdirs;
      if (!listing.isRepo || recurse) this.folders.push(id.canonical);
      if (listing.isRepo) {
        this.found.push(path);
        if (listing.patchQueue) this.found.push(join(join(path, '.hg'), 'patches'));
        if (!recurse) continue;
        descend = descend.filter((d) => d.name !== '.hg');
      } else {
        const kept = [];
        for (const name of listing.otherLinks) {
          this.links = true;
          append(this.folders, await linkWatchPoints(join(path, name), this.options.resolve));
        }
        for (const d of descend) {
          if (d.symlink) {
            this.links = true;
            append(this.folders, await linkWatchPoints(join(path, d.name), this.options.resolve));
          }
          const subPath = join(path, d.name);
          const subId = d.symlink ? this.options.mounts.identify(d.target!) : this.options.mounts.child(id, d.name);
          if (!d.symlink) {
            const stated = this.statSucceeds(subPath, subId);
            if (!(typeof stated === 'boolean' ? stated : await stated)) continue;
          }
          const key = this.options.mounts.key(subId);
          if (this.seen.has(key)) continue;
          this.seen.add(key);
          if (d.symlink) await this.walk(subPath, subId, false, true);
          else kept.push(d);
        }
        descend = kept;
      }
      // Where the walk path is the resolved one (no link on the way), one string serves as both: at 100,000 folders, 6 MB.
      const same = path === id.canonical;
      for (let i = descend.length - 1; i >= 0; i--) {
        const d = descend[i]!;
        if (d.symlink) continue;
        const subId = this.options.mounts.child(id, d.name);
        stack.push({ path: same ? subId.canonical : join(path, d.name), id: subId, fatal: false });
      }
    }
  }

  /**
   * hgweb stats every real subfolder of a folder that is not a repository, and
   * a failure is fatal. A subfolder we could list was certainly stat-able, so
   * only a failed listing costs a stat. A subfolder that vanished since its
   * parent was listed is skipped: hgweb would fail this one refresh and see it
   * gone on the next, and a daemon reacting to the deletion must not report it.
   */
  private statSucceeds(path: string, id: DirIdentity): boolean | Promise<boolean> {
    const listing = this.reader.list(id.canonical);
    if (!(listing instanceof Promise)) return listing.ok || this.statAfterFailure(path);
    return listing.then((l) => l.ok || this.statAfterFailure(path));
  }

  private async statAfterFailure(path: string): Promise<boolean> {
    try {
      await this.options.fs.stat(this.options.resolve(path));
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw new WalkFailure(path, err as NodeJS.ErrnoException);
    }
  }
}
