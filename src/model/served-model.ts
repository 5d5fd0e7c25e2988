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
import { basename, dirname } from 'node:path';
import { decodeName, fsPath } from '../discovery/fs-names.js';
import type { MountTable } from '../discovery/mount-table.js';
import { nameRepos, recurses, walkOptions, type DiscoverOptions, type RootResult, type ServedRepo } from '../discovery/served-repos.js';
import { physicalAbsolute } from '../config/paths.js';
import { walkRepos, WalkFailure } from '../discovery/walk-repos.js';
import { RootModel, REWALK, sameFolder, type RootChange } from './root-model.js';
import { shifted, type Splice } from './splice.js';
import { applyChange, servedList, type ListChange, type ServedList } from './served-list.js';
import { append } from '../util/append.js';

/** Something changed in a watched folder: `name` in it, or (null) anything. */
export interface Hint {
  readonly folder: string;
  readonly name: string | null;
}

export interface ModelChange {
  /** The list before and after, and the splices between them (in the order they apply to the whole list). */
  readonly list: ListChange;
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
    /** The whole list, in hgweb's order: the parts' lists one after another. */
    private current: ServedList,
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
    return new ServedModel(parts, servedList(parts.flatMap((p) => p.repos)), options, mounts);
  }

  /** The list now (a value: a later update makes another). */
  get list(): ServedList {
    return this.current;
  }

  /**
   * Holds `list` instead of its own when the two are the same entries in the
   * same order: a walk that found nothing new goes on from the value the last
   * cycle ended with, so the next change is a journal line, not a snapshot.
   */
  adopt(list: ServedList): void {
    if (list === this.current || list.digest !== this.current.digest || list.repos.length !== this.current.repos.length) return;
    if (list.repos.every((r, i) => r.name === this.current.repos[i]!.name && r.path === this.current.repos[i]!.path)) this.current = list;
  }

  /** The folders to watch, each once. */
  folders(): string[] {
    const all = new Set<string>();
    for (const p of this.parts) if (p instanceof RootModel) for (const f of p.folderList()) all.add(f);
    return [...all];
  }

  /** For tests: RootModel.keptTables of every root. */
  keptTables(): ReturnType<RootModel['keptTables']> {
    return this.parts.flatMap((p) => (p instanceof RootModel ? p.keptTables() : []));
  }

  /** Whether a root watches `folder`. */
  owns(folder: string): boolean {
    return this.parts.some((p) => p instanceof RootModel && p.owns(folder));
  }

  /**
   * Applies the hints in order, all or nothing: FULL (only a full walk can
   * tell) or a thrown error leave the model exactly as it was. `recheck`: the
   * hints are folders just watched (see RootModel.change).
   */
  async update(hints: readonly Hint[], recheck = false): Promise<ModelChange | typeof FULL> {
    const parts = this.parts.slice();
    const begun: RootModel[] = [];
    const undo = (): void => {
      for (const part of begun) part.rollback();
      this.parts.splice(0, this.parts.length, ...parts);
    };
    let found: Omit<ModelChange, 'list'> & { splices: Splice[] } | typeof FULL;
    try {
      found = await this.apply(hints, recheck, (part) => {
        part.begin();
        begun.push(part);
      });
    } catch (err) {
      undo();
      if (err instanceof WalkFailure) return FULL;
      throw err;
    }
    if (found === FULL) {
      undo();
      return FULL;
    }
    let list: ListChange;
    try {
      list = applyChange(this.current, found.splices);
    } catch (err) {
      undo();
      throw err;
    }
    for (const part of begun) part.commit();
    this.current = list.after;
    // Overlapping roots (/x/* and /x/**) watch some folders alike: one that another root still watches stays watched.
    const foldersRemoved = [...new Set(found.foldersRemoved)].filter((f) => !this.owns(f));
    return { list, foldersRemoved, foldersAdded: [...new Set(found.foldersAdded)], arrived: found.arrived };
  }

  /** update's work, on the parts in place; `begin` is called for each root before its first change. */
  private async apply(hints: readonly Hint[], recheck: boolean, begin: (part: RootModel) => void): Promise<(Omit<ModelChange, 'list'> & { splices: Splice[] }) | typeof FULL> {
    const splices: Splice[] = [];
    const foldersRemoved: string[] = [];
    const foldersAdded: string[] = [];
    const arrived: Hint[] = [];
    const checked = new Set<number>();
    // A root walked whole in this update saw what every hint (all came before it) could tell.
    const rewalked = new Set<number>();
    for (const given of hints) {
      for (let i = 0; i < this.parts.length; i++) {
        const part = this.parts[i]!;
        if (!(part instanceof RootModel) || rewalked.has(i)) continue;
        const hint = forRoot(part, given);
        if (hint === undefined) continue;
        // The top's own watch names the top when the top itself was removed (made again, maybe,
        // with the inode just freed: only the full walk can tell).
        if (hint.folder === part.top && hint.name === basename(hint.folder)) return FULL;
        if (!checked.has(i)) {
          checked.add(i);
          if (!(await this.topUnmoved(part))) return FULL;
          begin(part);
        }
        // A folder that changed without saying what (a poll, a burst of events in it): the names that differ
        // from the model, each looked at as if the kernel had named it; not the whole folder walked again.
        const names = hint.name === null && !recheck ? await part.namesChanged(hint.folder) : undefined;
        for (const name of names ?? [hint.name]) {
          let change = await part.change(hint.folder, name, recheck);
          if (change === REWALK) {
            rewalked.add(i);
            change = await this.rewalk(i);
          }
          if (change === undefined) continue;
          if (change.splice !== undefined) splices.push(shifted(change.splice, this.offset(i)));
          append(foldersRemoved, change.foldersRemoved);
          append(foldersAdded, change.foldersAdded);
          append(arrived, change.arrived);
          if (rewalked.has(i)) break;
        }
      }
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

/**
 * The hint as `part` must take it, or undefined when it does not concern it. A
 * folder that only another root watches (overlapping roots: /x/** watches
 * inside a repository that /x/* does not enter) is, for this root, a
 * repository whose parent it watches: `.hg` made or removed there (or any
 * change, when the kernel did not say) makes or unmakes that repository here.
 */
function forRoot(part: RootModel, hint: Hint): Hint | undefined {
  if (part.owns(hint.folder)) return hint;
  if (hint.name !== '.hg' && hint.name !== null) return undefined;
  const up = dirname(hint.folder);
  return up !== hint.folder && part.owns(up) ? { folder: up, name: basename(hint.folder) } : undefined;
}
