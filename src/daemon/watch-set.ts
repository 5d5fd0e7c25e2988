/**
 * Everything the daemon watches, and how: the folders (inotify, and polling
 * where inotify cannot see other hosts' changes), the file system of each
 * (its mount's, looked up once, again when something is mounted or
 * unmounted), the mount table, and hgweb.config with its includes. It turns what it
 * sees into what the list keeper acts on: events naming a folder's entry, or
 * "something changed, walk everything" (a config file, a mount, events the
 * kernel dropped). It decides nothing about the list.
 */
import { existsSync, type watch as fsWatch } from 'node:fs';
import { dirname } from 'node:path';
import type { Settings } from '../config/settings.js';
import { physicalAbsolute } from '../config/paths.js';
import type { ServedState } from '../discovery/load-served.js';
import { MountTable } from '../discovery/mount-table.js';
import { networkFileSystem } from '../discovery/network-fs.js';
import type { RootError } from '../discovery/served-repos.js';
import type { Hint } from '../model/served-model.js';
import { changedSince } from '../watch/changed-since.js';
import { ConfigWatcher } from '../watch/config-watcher.js';
import type { StampCheck } from '../watch/folder-watches.js';
import { FolderPoller } from '../watch/folder-poller.js';
import { MountWatcher } from '../watch/mount-watcher.js';
import { QueueOverflow } from '../watch/queue-overflow.js';
import { TreeWatcher, type WatchWay } from '../watch/tree-watcher.js';
import type { Timers } from './coalescer.js';
import type { Logger } from './logger.js';
import { append } from '../util/append.js';

/** How often the mount table is read again (see MountWatcher). */
const MOUNT_CHECK_MS = 2000;

export interface WatchSetOptions {
  /** [watch] of the settings in force (they change on SIGHUP). */
  readonly settings: () => Settings['watch'];
  /** hgweb's working folder, which relative roots are taken from. */
  readonly cwd: string;
  readonly timers: Timers;
  readonly log: Logger;
  /** Entries that appeared, vanished or changed in watched folders (`reason` for the log). */
  readonly onEvents: (hints: readonly Hint[], reason: string) => void;
  /** Something only a walk of every root can tell. */
  readonly onWalkAll: (reason: string) => void;
  /** The folder watch call (fs.watch); tests hand in one that runs out of watches. */
  readonly watch?: typeof fsWatch;
}

export interface WatchStatus {
  readonly watches: { readonly folders: number; readonly configFiles: number; readonly limitReached: boolean; readonly way: WatchWay };
  readonly polling: { readonly folders: number; readonly intervalMs: number; readonly fileSystems: readonly string[]; readonly lastPollMs: number | null };
}

export class WatchSet {
  private readonly trees: TreeWatcher;
  private readonly configs: ConfigWatcher;
  private readonly poller: FolderPoller;
  private mounts: MountWatcher | undefined;
  /** Every watched folder. */
  private watched = new Set<string>();
  /**
   * Mount point -> the network file system mounted there, or 'local': a
   * folder's file system is its mount's, looked up once per mount (a statfs
   * per folder cost 0.5 s at 100,000 folders). Forgotten when the mount
   * table changes.
   */
  private readonly fileSystems = new Map<string, string>();
  private mountTable = MountTable.fromSystem();
  /** Mount points whose file system came, went or changed since the last walk of every root: the folders at and below them are watched afresh. */
  private remounted: string[] = [];
  private pollSummary = '';
  private pollKinds: string[] = [];
  private limitReached = false;

  constructor(private readonly options: WatchSetOptions) {
    const { timers, log } = options;
    this.poller = new FolderPoller({
      intervalMs: options.settings().pollInterval,
      timers,
      onChange: (folders) => options.onEvents(folders.map((folder) => ({ folder, name: null })), `poll: ${few(folders)} changed`),
    });
    const dropped = (): void => options.onWalkAll('the kernel dropped folder events (its queue, fs.inotify.max_queued_events, filled): walking every root');
    // Through fs.watch, every event of every watch counts toward the kernel's queue, files' too; the addon's instance says when its queue overflowed.
    const overflow = new QueueOverflow(dropped);
    this.trees = new TreeWatcher({
      onChange: (e) => options.onEvents([e], `${e.folder}/${e.name ?? ''}`),
      onAnyEvent: () => overflow.event(),
      onOverflow: dropped,
      onError: (folder, err) => log.debug({ folder, err }, 'folder watch ended'),
      ...(options.watch === undefined ? {} : { watch: options.watch }),
    });
    const { why } = this.trees.way;
    if (why !== undefined) log.warn({ why }, `watching folders through fs.watch, about 1 KB of memory each: hgreload's addon is not built (${why}); see the README's set-up`);
    this.configs = new ConfigWatcher({
      onAnyEvent: () => overflow.event(),
      onChange: (file) => options.onWalkAll(`config ${file}`),
      onError: (err) => log.warn({ err }, 'config file watch failed'),
    });
  }

  /** Starts reading the mount table: before the first walk, so that no mount between the two goes unseen. */
  watchMounts(): void {
    this.mounts ??= new MountWatcher({
      intervalMs: MOUNT_CHECK_MS,
      timers: this.options.timers,
      onChange: (changed) => {
        // Another program's mounts elsewhere on the host (a CI's FUSE and tmpfs, say) are none of ours.
        const points = changed.filter((p) => this.concerns(p));
        if (points.length === 0) return void this.options.log.debug({ points: changed }, 'file systems mounted or unmounted where nothing is watched');
        this.remounted.push(...points);
        this.options.onWalkAll(`file systems mounted or unmounted at ${few(points)}`);
      },
    });
  }

  /**
   * After a walk of every root: watches exactly its folders, and the nearest
   * existing folder above each missing root (afresh where a file system was
   * mounted or unmounted), polls anew by the settings of now, and watches
   * `configFiles`. Returns the folders newly watched. `check`: the stamps of
   * the folders newly watched (those the kernel refused too) are compared as
   * they are watched (see StampCheck).
   */
  async followWalk(state: ServedState, configFiles: readonly string[], check?: StampCheck): Promise<string[]> {
    const folders = new Set(state.folders);
    for (const e of state.errors) folders.add(this.nearestExisting(e));
    // A folder a file system was mounted over (or unmounted from) is another folder: watched afresh, its file system looked up again.
    const remounted = this.remounted;
    this.remounted = [];
    const covered = (f: string): boolean => remounted.some((m) => f === m || f.startsWith(m === '/' ? '/' : `${m}/`));
    if (remounted.length > 0) {
      this.mountTable = MountTable.fromSystem();
      this.fileSystems.clear();
    }
    const removed: string[] = [];
    for (const f of this.watched) if (!folders.has(f)) removed.push(f);
    // One pass over a walk's folders (100,000 at a large host): what to watch, what to poll.
    const added: string[] = [];
    const polled: string[] = [];
    for (const f of folders) {
      if (!this.trees.has(f) || covered(f)) added.push(f);
      if (this.polls(f)) polled.push(f);
    }
    this.watched = folders;
    // Polled anew by the settings of now (one stamp each for the folders new to it).
    await this.poller.set(polled);
    this.sayPolling();
    const fresh = this.watchTrees(removed, added, true, check);
    // Refused a watch, a folder is still looked at: a repository made there during the walk is no less served.
    if (check !== undefined && this.limitReached) append(check.changed, await changedSince(added.filter((f) => !this.trees.has(f)), check.ms));
    await this.configs.set(configFiles);
    return fresh;
  }

  /**
   * Stops watching `removed` and watches `added` (afresh, see
   * TreeWatcher.update), by inotify and, where it cannot see every change,
   * by polling. Returns the folders newly watched.
   */
  async update(removed: readonly string[], added: readonly string[]): Promise<string[]> {
    for (const folder of removed) this.watched.delete(folder);
    for (const folder of added) this.watched.add(folder);
    await this.poller.update(removed, added.filter((f) => this.polls(f)));
    this.sayPolling();
    return this.watchTrees(removed, added);
  }

  /**
   * Every folder to watch (those the kernel refused too) on a local file
   * system: where this host's clock stamps changes.
   */
  folders(): Iterable<string> {
    const network = [...this.fileSystems.values()].some((fs) => fs !== 'local');
    return network ? [...this.watched].filter((f) => this.fileSystemOf(f) === 'local') : this.watched;
  }

  /**
   * Whether a mount at `point` can change what is served: it is, holds or lies
   * in a folder to watch (every one, before the first walk has told them).
   */
  private concerns(point: string): boolean {
    if (this.watched.size === 0) return true;
    const below = point === '/' ? '/' : `${point}/`;
    for (const f of this.watched) if (f === point || f.startsWith(below) || point.startsWith(f === '/' ? '/' : `${f}/`)) return true;
    return false;
  }

  /** Whether a folder to watch is on a network file system and not polled ([watch] poll = never). */
  unpolledNetworkFolders(): boolean {
    return this.options.settings().poll === 'never' && [...this.fileSystems.values()].some((fs) => fs !== 'local');
  }

  /** New settings: polling at the new interval. */
  retime(pollInterval: number): void {
    this.poller.retime(pollInterval);
  }

  status(): WatchStatus {
    return {
      watches: { folders: this.trees.count, configFiles: this.configs.count, limitReached: this.limitReached, way: this.trees.way.name },
      polling: { folders: this.poller.count, intervalMs: this.poller.intervalMs, fileSystems: this.pollKinds, lastPollMs: this.poller.lastPollMs ?? null },
    };
  }

  async close(): Promise<void> {
    this.mounts?.close();
    await this.poller.close();
    this.trees.close();
    await this.configs.close();
  }

  /**
   * The inotify part of update; says once when the kernel refuses more
   * watches. `every`: `added` is every folder not watched yet (after a walk of
   * every root), so success means none is left out.
   */
  private watchTrees(removed: readonly string[], added: readonly string[], every = false, check?: StampCheck): string[] {
    try {
      const fresh = this.trees.update(removed, added, check);
      if (every) this.limitReached = false;
      return fresh;
    } catch (err) {
      if (!this.limitReached) this.options.log.error({ err }, (err as Error).message);
      this.limitReached = true;
      return [];
    }
  }

  /** Says which folders are polled ([watch] poll) and why, when their number, file systems or interval changed. */
  private sayPolling(): void {
    const { poll, pollInterval } = this.options.settings();
    // The file systems are looked up only when the number or the interval moved: not a pass over every folder per cycle.
    if (this.pollSummary.startsWith(`${this.poller.count} `) && this.pollSummary.endsWith(` ${pollInterval}`)) return;
    const kinds = [...new Set([...this.poller.folders()].map((f) => this.fileSystemOf(f)))].sort();
    this.pollSummary = `${this.poller.count} ${kinds.join(',')} ${pollInterval}`;
    this.pollKinds = kinds;
    const { log } = this.options;
    if (this.poller.count === 0) return void log.info('polling no folders: inotify sees every change');
    const why = poll === 'always' ? '[watch] poll = always' : `on ${kinds.join(', ')}: inotify there does not see what other hosts change`;
    log.info({ folders: this.poller.count, intervalMs: pollInterval, fileSystems: kinds }, `polling ${this.poller.count} folders every ${pollInterval} ms (${why})`);
  }

  /** Whether `folder` is polled ([watch] poll). */
  private polls(folder: string): boolean {
    const { poll } = this.options.settings();
    if (poll === 'never') return false;
    return poll === 'always' || this.fileSystemOf(folder) !== 'local';
  }

  /** The network file system holding `folder`, or 'local': its mount's, looked up (a statfs) once per mount. */
  private fileSystemOf(folder: string): string {
    const point = this.mountTable.mountPointOf(folder) ?? folder;
    let fs = this.fileSystems.get(point);
    if (fs === undefined) {
      fs = networkFileSystem(folder) ?? 'local';
      this.fileSystems.set(point, fs);
    }
    return fs;
  }

  private nearestExisting({ root }: RootError): string {
    let folder = physicalAbsolute(root.folder, this.options.cwd);
    while (!existsSync(folder) && folder !== dirname(folder)) folder = dirname(folder);
    return folder;
  }
}

/** The first three, and "..." for the rest. */
function few(items: readonly string[]): string {
  return `${items.slice(0, 3).join(', ')}${items.length > 3 ? ', ...' : ''}`;
}
