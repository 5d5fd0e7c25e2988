/**
 * What hgweb serves, kept current between full walks: each folder event walks
 * again only what it names, in the roots that watch that folder, and a root
 * whose change cannot be applied in part is walked whole; what only a full
 * walk can tell (a root gone, a folder that cannot be read) says FULL. The result is the
 * list a full walk would give, in hgweb's order (the property tests compare
 * it with Mercurial's hgwebdir), at a cost that follows the change.
 *
 * Built from a full walk that every root passed; a failed root keeps its last
 * good list only through full walks (last-good.ts), so there is no model then.
 */
import { realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { decodeName, fsPath } from '../discovery/fs-names.js';
import type { MountTable } from '../discovery/mount-table.js';
import { nameRepos, recurses, walkOptions, type DiscoverOptions, type RootResult, type ServedRepo } from '../discovery/served-repos.js';
import { physicalAbsolute } from '../config/paths.js';
import { walkRepos, WalkFailure } from '../discovery/walk-repos.js';
import { RootModel, REWALK, sameFolder, type RootChange } from './root-model.js';
import { applySplice, shifted, type Splice } from './splice.js';

/** Something changed in a watched folder: `name` in it, or (null) anything. */
export interface Hint {
  readonly folder: string;
  readonly name: string | null;
}

export interface ModelChange {
  /** In the order they apply to the whole list. */
  readonly splices: readonly Splice[];
  readonly foldersRemoved: readonly string[];
  readonly foldersAdded: readonly string[];
  /** See RootChange.arrived. */
  readonly arrived: readonly Hint[];
}

/** Only a full walk can tell: a root's top moved or vanished, or a folder could not be read. */
export const FULL = 'full';

type Part = RootModel | { readonly repos: readonly ServedRepo[] };

export class ServedModel {
  private constructor(
    private readonly parts: Part[],
    /** The whole list, in hgweb's order (kept in step with the parts). */
    readonly repos: ServedRepo[],
    private readonly options: DiscoverOptions,
    private readonly mounts: MountTable,
  ) {}

  /** The model of a full walk's results, or undefined when a root failed. */
  static of(results: readonly RootResult[], options: DiscoverOptions, mounts: MountTable): ServedModel | undefined {
    const parts: Part[] = [];
    for (const r of results) {
      if ('error' in r) return undefined;
      parts.push(r.root.kind === 'plain' ? { repos: r.repos } : RootModel.of(r.root, r, walkOptions(r.root, options, mounts)));
    }
    return new ServedModel(parts, parts.flatMap((p) => p.repos), options, mounts);
  }

  /** The folders to watch, each once. */
  folders(): string[] {
    const all = new Set<string>();
    for (const p of this.parts) if (p instanceof RootModel) for (const f of p.folderList()) all.add(f);
    return [...all];
  }

  /** Whether a root watches `folder`. */
  owns(folder: string): boolean {
    return this.parts.some((p) => p instanceof RootModel && p.owns(folder));
  }

  /**
   * Applies the hints in order. `recheck`: the hints are folders just watched
   * (see RootModel.change). FULL when only a full walk can tell; the model is
   * then out of step and must be built again from that walk.
   */
  async update(hints: readonly Hint[], recheck = false): Promise<ModelChange | typeof FULL> {
    const splices: Splice[] = [];
    const foldersRemoved: string[] = [];
    const foldersAdded: string[] = [];
    const arrived: Hint[] = [];
    const checked = new Set<number>();
    // A root walked whole in this update saw what every hint (all came before it) could tell.
    const rewalked = new Set<number>();
    try {
      for (const hint of hints) {
        for (let i = 0; i < this.parts.length; i++) {
          const part = this.parts[i]!;
          if (!(part instanceof RootModel) || rewalked.has(i) || !part.owns(hint.folder)) continue;
          // The top's own watch names the top when the top itself was removed (made again, maybe,
          // with the inode just freed: only the full walk can tell).
          if (hint.folder === part.top && hint.name === basename(hint.folder)) return FULL;
          if (!checked.has(i)) {
            checked.add(i);
            if (!(await this.topUnmoved(part))) return FULL;
          }
          let change = await part.change(hint.folder, hint.name, recheck);
          if (change === REWALK) {
            rewalked.add(i);
            change = await this.rewalk(i);
          }
          if (change === undefined) continue;
          const offset = this.offset(i);
          if (change.splice !== undefined) {
            applySplice(this.repos, change.splice, offset);
            splices.push(shifted(change.splice, offset));
          }
          foldersRemoved.push(...change.foldersRemoved);
          foldersAdded.push(...change.foldersAdded);
          arrived.push(...change.arrived);
        }
      }
    } catch (err) {
      if (err instanceof WalkFailure) return FULL;
      throw err;
    }
    return { splices, foldersRemoved, foldersAdded, arrived };
  }

  /** Walks a root whole (a failure is the full walk's to report: it keeps the root's last good list). */
  private async rewalk(index: number): Promise<RootChange> {
    const old = this.parts[index] as RootModel;
    const options = walkOptions(old.root, this.options, this.mounts);
    const walked = await walkRepos(old.root.folder, recurses(old.root), options);
    const next = RootModel.of(old.root, { ...walked, repos: nameRepos(old.root, walked.repos) }, options);
    this.parts[index] = next;
    return old.changeTo(next);
  }

  private offset(index: number): number {
    let offset = 0;
    for (let i = 0; i < index; i++) offset += this.parts[i]!.repos.length;
    return offset;
  }

  /** A root whose top now resolves elsewhere, or is another folder (renamed, removed and made again, gone), is the full walk's to report. */
  private async topUnmoved(part: RootModel): Promise<boolean> {
    if (part.top === undefined) return true; // walked whole anyway
    try {
      const top = decodeName(await realpath(fsPath(physicalAbsolute(part.root.folder, this.options.cwd)), { encoding: 'buffer' }));
      return top === part.top && sameFolder(await stat(fsPath(top), { bigint: true }), part.topIdentity);
    } catch {
      return false;
    }
  }

}
