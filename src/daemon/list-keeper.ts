/**
 * The list keeper: what hgweb serves, kept current. It holds the model, the
 * events waiting for the next cycle and the second looks at new
 * repositories, and runs the cycle: a look at what the events name (or a
 * walk of every root when only that can tell), the watches moved by what
 * changed, then hooks for what arrived and the reload gate's decision. Each
 * roots' failure keeps that root's last good list (last-good.ts). The daemon
 * around it starts it, feeds it and stops it.
 */
import { basename, dirname, sep } from 'node:path';
import { HgreloadError } from '../errors.js';
import type { Settings } from '../config/settings.js';
import { physicalAbsolute } from '../config/paths.js';
import { loadServed, type ServedState } from '../discovery/load-served.js';
import type { DiscoverOptions, Root, RootResult, ServedRepo } from '../discovery/served-repos.js';
import type { WalkFs } from '../discovery/dir-reader.js';
import { MountTable } from '../discovery/mount-table.js';
import type { AutoHooks } from '../hooks/auto-install.js';
import { FULL, ServedModel, type Hint, type ModelChange } from '../model/served-model.js';
import { changeBetween, compose, EMPTY_LIST, noChange, servedList, type ListChange, type ServedList } from '../model/served-list.js';
import type { Timers } from './coalescer.js';
import { LastGoodRoots, type RootFailure } from './last-good.js';
import type { Logger } from './logger.js';
import type { DaemonMetrics } from './metrics.js';
import type { ReloadGate } from './reload-gate.js';
import type { WatchSet } from './watch-set.js';
import type { StampCheck } from '../watch/folder-watches.js';
import { outermost } from '../util/outermost.js';
import { reuseUnchanged } from '../model/reuse.js';
import { append } from '../util/append.js';

/**
 * A cycle whose events name more folders than this walks every root instead:
 * it costs no more than walking each part again. Events in one folder cost a
 * look at each name they name (an lstat for a file: an `hg update` writing
 * thousands of files in a working copy under `**` stays cheap), so they are
 * not counted. (Lost events are told by QueueOverflow, not guessed here.)
 */
const MAX_FOLDERS = 1000;
/** Rounds of looking at folders just watched, for what came between their read and their watch. */
const RECHECK_ROUNDS = 4;

export interface ListKeeperOptions {
  /** The settings in force (they change on SIGHUP). */
  readonly settings: () => Settings;
  /** hgweb's working folder, which relative roots are taken from. */
  readonly cwd: string;
  /** How folders are read (tests hand in one that holds a walk); by default per file system (walkFsFor). */
  readonly walkFs?: WalkFs;
  readonly timers: Timers;
  readonly now: () => Date;
  readonly log: Logger;
  readonly metrics: DaemonMetrics;
  readonly watches: WatchSet;
  readonly gate: ReloadGate;
  readonly hooks: AutoHooks;
  /** A cycle is wanted: the coalescer runs one after its quiet period. */
  readonly wake: () => void;
  /** A walk of every root was applied: what it made and dropped can be given back (util/heap.ts). */
  readonly walked?: () => void;
  /** The list changed, or folders to watch came or went (resolved paths): told to the other hosts of a cluster. */
  readonly changed?: (change: ListChange, folders: FolderChange) => void;
}

export interface FolderChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

const NO_FOLDERS: FolderChange = { added: [], removed: [] };

export interface RootStatus {
  readonly kind: string;
  readonly prefix: string;
  readonly folder: string;
  /** Why the root's last walk failed. */
  readonly error?: string;
  /** How many repositories of its last good walk are still served. */
  readonly kept?: number;
}

export class ListKeeper {
  private readonly lastGood = new LastGoodRoots();
  /** Root key -> the failure last logged for it, so that a lasting one is logged once. */
  private rootProblems = new Map<string, { message: string; folder: string }>();
  private failures: RootFailure[] = [];
  /** The next cycle checks the hook of every served repository (scheduled rescan, `hgreload touch`). */
  private checkAllHooks = false;
  private current: ServedState | undefined;
  /** The list the last cycle ended with (`current.repos`), published or not: the next cycle's change starts from it. */
  private list: ServedList | undefined;
  /** What hgweb serves, kept current by folder events between full walks; undefined until a full walk that every root passed. */
  private model: ServedModel | undefined;
  /** Folder events waiting for the next cycle, and whether it must walk everything instead. */
  private hints: Hint[] = [];
  private fullWalk = true;
  /** The next walk of every root was asked for by `touch`: its list is reloaded, changed or not. */
  private forceWithWalk = false;
  /** A walk of every root under way beside the cycles (see cycle), and when it has ended. */
  private walking: Walking | undefined;
  private walkDone: Promise<void> | undefined;
  /**
   * While a cycle runs: the walk of every root beside it waits at its next
   * yield (WalkOptions.hold), so that a change made during a rescan is not
   * published in 4 ms slices between the walk's.
   */
  private foreground: Promise<void> | undefined;
  /** Walks of every root since the start (status, metrics). */
  private walks = 0;
  /**
   * Repositories a look found, to look at again with the next cycle, and no
   * later than a quiet period after: the first change of a burst is looked at
   * at once, maybe half-way through a copy, and nothing watches inside .hg.
   */
  private secondLooks: Hint[] = [];
  private secondLookTimer: unknown;
  private lastScan: Date | null = null;
  private configError: string | null = null;
  private reasons = new Set<string>();

  private readonly discover: DiscoverOptions;

  constructor(private readonly options: ListKeeperOptions) {
    this.discover = { cwd: options.cwd, ...(options.walkFs === undefined ? {} : { fs: options.walkFs }) };
  }

  /**
   * Something may have changed anywhere: the next cycle walks every root.
   * `force` (`hgreload touch`): hgweb is reloaded with that walk's list,
   * changed or not (not by a cycle that runs beside the walk).
   */
  walkAll(reason: string, force = false): void {
    this.fullWalk = true;
    if (force) this.forceWithWalk = true;
    this.reasons.add(reason);
    this.options.wake();
  }

  /** Entries appeared or vanished in watched folders: the next cycle looks at those. */
  events(hints: readonly Hint[], reason: string): void {
    for (const h of hints) this.hints.push(h);
    this.reasons.add(reason);
    this.options.wake();
  }

  /**
   * Entries another host changed (paths through this host's mounts): each is
   * looked at from the nearest folder the model watches (a folder removed
   * there may still be one here, or already gone). With no model (a root's
   * walk failed), every root is walked.
   */
  heard(paths: readonly string[], reason: string): void {
    const model = this.model;
    if (model === undefined) return this.walkAll(reason);
    const hints: Hint[] = [];
    for (const path of paths) {
      let folder = dirname(path);
      let name = basename(path);
      while (!model.owns(folder) && dirname(folder) !== folder) {
        name = basename(folder);
        folder = dirname(folder);
      }
      if (model.owns(folder)) hints.push({ folder, name });
    }
    if (hints.length > 0) this.events(hints, reason);
  }

  /**
   * After a push into `repo` (its physical path: the hook's working folder): a
   * look at it where a watched folder holds it, else a walk of every root; but
   * nothing for a repository outside every served root. With the system-wide
   * hook every repository on the host asks, served or not, and a push changes
   * nothing hgweb serves there.
   */
  pushed(repo: string, reason: string): void {
    const folder = dirname(repo);
    if (this.model?.owns(folder)) return this.events([{ folder, name: basename(repo) }], reason);
    if (this.current !== undefined && !this.mayServe(repo)) {
      this.options.log.debug({ repo }, `push into ${repo}, outside every served root: nothing to look at`);
      return;
    }
    this.walkAll(reason);
  }

  /** Whether `repo` is a root, lies below one (as written or resolved), or below a folder a root watches (where its symlinks lead). */
  private mayServe(repo: string): boolean {
    const below = (top: string): boolean => repo === top || repo.startsWith(top.endsWith(sep) ? top : top + sep);
    const tops = this.current!.results.flatMap((r) => {
      if ('error' in r) return [physicalAbsolute(r.root.folder, this.options.cwd)];
      return r.root.kind === 'plain' ? [physicalAbsolute(r.root.path, this.options.cwd)] : [physicalAbsolute(r.root.folder, this.options.cwd), r.canonical];
    });
    if (tops.some(below)) return true;
    for (let folder = dirname(repo); ; folder = dirname(folder)) {
      if (this.model?.owns(folder)) return true;
      if (dirname(folder) === folder) return false;
    }
  }

  /** Whether a walk of every root is under way; if so, resolves true once it has ended (the next cycle takes it). */
  async walkEnded(): Promise<boolean> {
    if (this.walking === undefined || this.walking.outcome !== undefined) return this.walking !== undefined;
    await this.walkDone;
    return true;
  }

  /** Whether the next cycle has something to look at. */
  get wanted(): boolean {
    return this.fullWalk || this.hints.length > 0 || this.walking?.outcome !== undefined;
  }

  /** The next cycle checks the hook of every served repository, not only of those that arrived. */
  checkEveryHook(): void {
    this.checkAllHooks = true;
  }

  /** A reason the next cycle is logged with. */
  because(reason: string): void {
    this.reasons.add(reason);
  }

  /** The roots of the last walk of every root. */
  get roots(): readonly Root[] {
    return this.current?.roots ?? [];
  }

  /** Each root's part of the last walk of every root. */
  get results(): readonly RootResult[] {
    return this.current?.results ?? [];
  }

  status(): { roots: RootStatus[]; repositories: number; walks: number; lastScan: string | null; pending: boolean; pendingReasons: string[]; configError: string | null } {
    const failures = new Map(this.failures.map((f) => [f.error.root, f]));
    return {
      roots: this.roots.map((r) => ({
        kind: r.kind,
        prefix: r.prefix,
        folder: r.kind === 'plain' ? r.path : r.folder,
        ...(r.kind !== 'plain' && failures.has(r) ? failureStatus(failures.get(r)!) : {}),
      })),
      repositories: this.current?.repos.length ?? 0,
      walks: this.walks,
      lastScan: this.lastScan?.toISOString() ?? null,
      pending: this.secondLookTimer !== undefined,
      pendingReasons: [...this.reasons],
      configError: this.configError,
    };
  }

  /** Resolves once a walk of every root under way has ended (its result is dropped). */
  async close(): Promise<void> {
    if (this.secondLookTimer !== undefined) this.options.timers.clearTimeout(this.secondLookTimer);
    this.secondLookTimer = undefined;
    await this.walkDone;
  }

  private get webconf(): string {
    const { webconf } = this.options.settings();
    if (webconf === undefined) throw new HgreloadError('usage', 'no hgweb.config given', { hint: 'pass -w/--web-conf FILE, or set "webconf" in the settings file' });
    return webconf;
  }

  /**
   * A cycle. A walk of every root runs beside the cycles, not in one: the
   * cycles that come while it runs look at what their events name in the
   * model there is (a change made during a rescan is published as soon as at
   * any other time), and their events are looked at once more in the walk's
   * model, since the walk may have read a folder before the change. The cycle
   * after the walk ended takes its result.
   * @param firstChange when the first change this cycle answers came (timers.now()), for the latency metric
   * @returns false when it only started a walk of every root, or had nothing to look at: nothing a burst's
   * next change should wait behind (see Coalescer)
   */
  async cycle(firstChange?: number): Promise<boolean> {
    let done = (): void => undefined;
    this.foreground = new Promise((resolve) => (done = resolve));
    try {
      return await this.look(firstChange);
    } finally {
      this.foreground = undefined;
      done();
    }
  }

  private async look(firstChange: number | undefined): Promise<boolean> {
    const hints = distinct([...this.secondLooks, ...this.hints]);
    this.hints = [];
    this.secondLooks = [];
    if (this.secondLookTimer !== undefined) this.options.timers.clearTimeout(this.secondLookTimer);
    this.secondLookTimer = undefined;
    const walking = this.walking;
    if (walking !== undefined) {
      append(walking.hints, hints);
      if (walking.outcome !== undefined) return this.takeWalk(walking);
      if (hints.length === 0 || this.model === undefined) return false;
      const change = await this.model.update(hints);
      // What a look in part cannot tell, the walk under way will.
      if (change !== FULL) return this.applyChange(change, firstChange);
      return true;
    }
    const folders = new Set(hints.map((h) => h.folder)).size;
    if (!this.fullWalk && this.model !== undefined && folders <= MAX_FOLDERS) {
      const change = await this.model.update(hints);
      if (change !== FULL) return this.applyChange(change, firstChange);
      this.reasons.add('a walk in part could not tell: walking every root');
    } else if (!this.fullWalk && folders > MAX_FOLDERS) {
      this.reasons.add(`events in ${folders} folders at once: walking every root`);
    }
    const reasons = [...this.reasons];
    this.reasons.clear();
    const started: Walking = { hints: [], reasons, firstChange, force: this.forceWithWalk, outcome: undefined };
    this.forceWithWalk = false;
    this.walking = started;
    this.walkDone = this.walk(() => this.foreground).then(
      (state) => void (started.outcome = { state }),
      (err: unknown) => void (started.outcome = { err }),
    ).finally(() => this.options.wake());
    return false;
  }

  /** The cycle after a walk of every root ended: its list, and the events that came meanwhile looked at again in it. */
  private async takeWalk(walking: Walking): Promise<boolean> {
    this.walking = undefined;
    const outcome = walking.outcome!;
    for (const r of walking.reasons) this.reasons.add(r);
    if ('err' in outcome) {
      // hgweb.config edited into something Mercurial rejects: hgweb itself now fails, but the last good list is kept.
      const { err } = outcome;
      this.configError = err instanceof Error ? err.message : String(err);
      this.options.log.error({ err }, 'cannot use hgweb.config; keeping the last good list until it is fixed');
      this.reasons.clear();
      // What asked for this walk (a change only a full walk can tell, a new hgweb.config) still asks: the model
      // must not go on from events alone, the next cycle walks again.
      this.fullWalk = true;
      this.forceWithWalk ||= walking.force;
      return true;
    }
    this.configError = null;
    if (walking.force) this.options.gate.force();
    await this.apply(outcome.state, walking.firstChange, distinct(walking.hints));
    // Asked for while it ran: another walk of every root, or events.
    if (this.wanted) this.options.wake();
    return true;
  }

  /**
   * Reads hgweb.config and walks every root, timed for the metrics. It
   * answers every call for a walk of every root made before it began (the
   * start's walk too: the first change after `ready` is looked at in part).
   * @param hold beside the cycles: what to wait for at each of its yields (WalkOptions.hold)
   */
  async walk(hold?: () => Promise<void> | undefined): Promise<ServedState & { mounts: MountTable }> {
    this.fullWalk = false;
    this.walks++;
    const started = this.options.timers.now();
    const mounts = MountTable.fromSystem();
    const state = await loadServed(this.webconf, { ...this.discover, mounts, ...(hold === undefined ? {} : { hold }) });
    this.options.metrics.walked(this.options.timers.now() - started);
    return { ...state, mounts };
  }

  /**
   * A cycle that walked only what events named: the folders to watch change
   * by what changed, folders just watched are looked at once more, and hgweb
   * is reloaded with the change (publish writes only the change).
   */
  private async applyChange(first: ModelChange, firstChange: number | undefined): Promise<boolean> {
    const started = performance.now();
    const reasons = [...this.reasons];
    this.reasons.clear();
    const change = await this.watchChange(first);
    if (change === FULL) {
      this.fullWalk = true;
      this.reasons.add('a walk in part could not tell: walking every root');
      for (const r of reasons) this.reasons.add(r);
      return this.look(firstChange);
    }
    if (change.arrived.length > 0) this.lookAgain(change.arrived);
    this.current = { ...this.current!, repos: change.list.after.repos };
    this.lastScan = this.options.now();
    const inserted = change.list.splices.flatMap((s) => s.inserted);
    // From the list the last cycle ended with: the model's list is that list, changed only by its updates.
    const folders = { added: first.foldersAdded, removed: first.foldersRemoved };
    await this.served(this.list === change.list.before ? change.list : changeBetween(this.list ?? EMPTY_LIST, change.list.after), inserted, reasons, started, firstChange, folders);
    return true;
  }

  /**
   * The end of every cycle: hooks for the repositories that arrived, and a
   * reload when the list changed, or hgweb was not made to serve it yet, or
   * `touch` asked.
   * @param change from the list the last cycle ended with to this cycle's
   * @param arrived the repositories new in the list (all of them on a first scan or when every hook is checked)
   */
  private async served(
    change: ListChange,
    arrived: readonly ServedRepo[],
    reasons: string[],
    started: number,
    firstChange: number | undefined,
    folders: FolderChange = NO_FOLDERS,
  ): Promise<void> {
    if (change.before !== (this.list ?? EMPTY_LIST)) throw new Error('a cycle ended with a change that does not start from the last list');
    const repos = change.after.repos;
    if (this.options.settings().hooks.auto) {
      // Not awaited: a clone at work or a busy lock must not hold the reload back.
      void this.options.hooks.arrived((this.checkAllHooks ? repos : arrived).map((r) => physicalAbsolute(r.path, this.options.cwd)));
    }
    this.checkAllHooks = false;
    // The first cycle's change starts from nothing known: only the digest of the last reload (state.json) tells.
    const known = this.list !== undefined;
    this.list = change.after;
    if (known && (change.splices.length > 0 || folders.added.length > 0 || folders.removed.length > 0)) this.options.changed?.(change, folders);
    await this.options.gate.offer(change, known, reasons, started, firstChange);
  }

  private lookAgain(arrived: readonly Hint[]): void {
    append(this.secondLooks, arrived);
    this.secondLookTimer ??= this.options.timers.setTimeout(() => {
      this.secondLookTimer = undefined;
      this.events([], `a second look at ${this.secondLooks.length} new repositories`);
    }, this.options.settings().reload.debounce);
  }

  /** Applies a change's folders to the watches, then rechecks the folders newly watched. */
  private async watchChange(change: ModelChange): Promise<ModelChange | typeof FULL> {
    return this.recheck(await this.options.watches.update(change.foldersRemoved, change.foldersAdded), change);
  }

  /**
   * Looks at folders just watched (`fresh`) for what came between their read
   * and their watch, watching what that finds, until nothing is new; returns
   * `change` with what the looks found added.
   */
  private async recheck(fresh: readonly string[], change: ModelChange): Promise<ModelChange | typeof FULL> {
    let list = change.list;
    const arrived: Hint[] = [...change.arrived];
    for (let round = 0; fresh.length > 0; round++) {
      if (round === RECHECK_ROUNDS) {
        // Folders still appearing as fast as they are watched: the next cycle looks at them.
        this.events(fresh.map((folder) => ({ folder, name: null })), `new folders watched: ${fresh.slice(0, 3).join(', ')}`);
        break;
      }
      // A look at a folder walks what is below it: folders below another fresh one need none of their own.
      const again = await this.model!.update(outermost(fresh).map((folder) => ({ folder, name: null })), true);
      if (again === FULL) return FULL;
      list = compose(list, again.list);
      append(arrived, again.arrived);
      fresh = await this.options.watches.update(again.foldersRemoved, again.foldersAdded);
    }
    return { list, foldersRemoved: [], foldersAdded: [], arrived };
  }

  /**
   * Takes a walk of every root; `during`: events that came while it ran,
   * looked at again in its model; `check`: the stamps of the folders newly
   * watched are compared as they are watched (WatchSet.followWalk).
   */
  async apply(walked: ServedState & { mounts: MountTable }, firstChange?: number, during: readonly Hint[] = [], check?: StampCheck): Promise<void> {
    const started = performance.now();
    const reasons = [...this.reasons];
    this.reasons.clear();
    const firstScan = this.current === undefined;
    const previous = this.current?.repos ?? [];
    const held = this.current === undefined ? undefined : { repos: this.current.repos, folders: this.model?.folders() ?? this.current.folders };
    const { state: served, failures } = this.lastGood.apply(held === undefined ? walked : { ...walked, results: reuseUnchanged(walked.results, held) });
    // Events after a full walk that every root passed are applied in part; after a failed one, walked whole.
    this.model = failures.length === 0 ? ServedModel.of(served.results, this.discover, walked.mounts) : undefined;
    if (this.list !== undefined) this.model?.adopt(this.list);
    let list = this.model?.list ?? servedList(served.repos);
    let state: ServedState = { ...served, repos: list.repos };
    this.current = state;
    this.lastScan = this.options.now();
    this.reportRootFailures(failures);
    const newFolders = await this.options.watches.followWalk(state, [this.webconf, ...state.configFiles.map((f) => f.path)], check);
    if (during.length > 0) {
      const again = this.model === undefined ? FULL : await this.model.update(during);
      if (again === FULL) this.walkAll('events during the walk of every root, that a look in part could not tell');
      else {
        const fresh = await this.options.watches.update(again.foldersRemoved, again.foldersAdded);
        append(newFolders, fresh);
        list = again.list.after;
        state = this.current = { ...state, repos: list.repos };
      }
    }
    if (!firstScan && newFolders.length > 0) {
      // A repository made in a new folder between its walk and its watch would be missed: look once more.
      const again = this.model === undefined ? FULL : await this.recheck(newFolders, { list: noChange(list), foldersRemoved: [], foldersAdded: [], arrived: [] });
      if (again === FULL) this.walkAll(`new folders watched: ${newFolders.slice(0, 3).join(', ')}${newFolders.length > 3 ? ', ...' : ''}`);
      else {
        list = again.list.after;
        state = this.current = { ...state, repos: list.repos };
      }
    }
    const arrived = firstScan ? state.repos : newRepositories(previous, state.repos);
    await this.served(changeBetween(this.list ?? EMPTY_LIST, list), arrived, reasons, started, firstChange);
    this.options.walked?.();
  }

  /** A root's failure is logged when it starts or changes, and once more when the root reads again. */
  private reportRootFailures(failures: RootFailure[]): void {
    this.failures = failures;
    const now = new Map<string, { message: string; folder: string }>();
    for (const f of failures) {
      const message = f.error.error.message;
      now.set(f.key, { message, folder: f.error.root.folder });
      if (this.rootProblems.get(f.key)?.message === message) continue;
      const kept = f.kept === null ? 'no earlier list to keep: its repositories are not served' : `keeping its last good list (${f.kept} repositories)`;
      this.options.log.error({ err: f.error.error, root: f.error.root.folder, kept: f.kept }, `${message}; ${kept}`);
    }
    for (const [key, { folder }] of this.rootProblems) {
      if (!now.has(key)) this.options.log.info({ root: folder }, `${folder} walked well again; its list is current`);
    }
    this.rootProblems = now;
  }
}

/** A walk of every root under way: what asked for it, and the events that came since it began. */
interface Walking {
  readonly hints: Hint[];
  readonly reasons: readonly string[];
  readonly firstChange: number | undefined;
  readonly force: boolean;
  outcome: { readonly state: ServedState & { mounts: MountTable } } | { readonly err: unknown } | undefined;
}

/** Each (folder, name) once, where it first came: a look reads the disk as it is now, so one answers for all. */
function distinct(hints: readonly Hint[]): Hint[] {
  const seen = new Set<string>();
  return hints.filter((h) => {
    const key = `${h.folder}\0${h.name ?? '\0'}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Repositories (by path) in `after` that `before` did not have. */
function newRepositories(before: readonly ServedRepo[], after: readonly ServedRepo[]): ServedRepo[] {
  const known = new Set(before.map((r) => r.path));
  return after.filter((r) => !known.has(r.path));
}

function failureStatus(f: RootFailure): { error: string; kept?: number } {
  return f.kept === null ? { error: f.error.error.message } : { error: f.error.error.message, kept: f.kept };
}

