/**
 * The daemon's side of a cluster ([cluster] database): what its list keeper
 * finds is written as events, what other hosts wrote is looked at through
 * this host's mounts, the poll interval follows the database's reach, and
 * hooks go into new repositories only from the leader.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { clientConfig } from '../cluster/conninfo.js';
import { fsPath } from '../discovery/fs-names.js';
import { Cluster, type ClusterStatus } from '../cluster/cluster.js';
import type { ClusterEvent } from '../cluster/event-log.js';
import { RootPaths } from '../cluster/root-paths.js';
import { hookValue } from '../hooks/hook-script.js';
import { socketPath } from './control-protocol.js';
import type { Settings } from '../config/settings.js';
import type { ListChange } from '../model/served-list.js';
import type { Timers } from './coalescer.js';
import type { FolderChange, ListKeeper } from './list-keeper.js';
import type { Logger } from './logger.js';
import type { Publisher } from './reload-gate.js';

/** Opens and closes a folder (an error is the look's to find). */
async function revalidate(folder: string): Promise<void> {
  try {
    await (await open(fsPath(folder), constants.O_RDONLY | constants.O_DIRECTORY)).close();
  } catch {
    // Gone, or not readable: the look says what it finds.
  }
}

export interface ClusterLinkOptions {
  readonly settings: () => Settings;
  readonly cwd: string;
  readonly timers: Timers;
  readonly log: Logger;
  readonly keeper: () => ListKeeper;
  /** The interval folders are polled at changed (the database came or went). */
  readonly repoll: () => void;
  /** This daemon became the cluster's leader, or stopped being it. */
  readonly onLeading: (leader: boolean) => void;
}

/** Also [shared] folder's publisher: the cluster's leader publishes there. */
export class ClusterLink implements Publisher {
  private readonly cluster: Cluster;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Entries other hosts told of, not to be told back to them when this host's list follows. */
  private heardOf = new Set<string>();

  constructor(private readonly options: ClusterLinkOptions) {
    const { cluster } = options.settings();
    this.cluster = new Cluster({
      config: clientConfig(cluster.database!),
      name: cluster.name,
      leaseMs: cluster.lease,
      hook: hookValue(socketPath(options.settings().reload.state)),
      timers: options.timers,
      log: options.log,
      onEvents: (events) => this.heard(events),
      onMode: (_mode, back) => this.modeChanged(back),
      onLeading: (leading) => {
        // A new leader checks every hook: repositories may have come while no one led.
        if (leading && options.settings().hooks.auto) {
          options.keeper().checkEveryHook();
          options.keeper().events([], 'cluster: leading: checking the hook of every repository');
        }
        options.onLeading(leading);
      },
    });
  }

  /** One attempt to reach the database; the start goes on without it. */
  start(): Promise<void> {
    this.starting ??= this.cluster.start();
    return this.starting;
  }

  get leader(): boolean {
    return this.cluster.leading;
  }

  get leaderName(): string | undefined {
    return this.cluster.status().leader ?? undefined;
  }

  /** Whether this daemon still leads, checked in the database: while it cannot be reached, no daemon publishes. */
  confirm(): Promise<boolean> {
    return this.cluster.stillLeading('publishing the list to [shared] folder');
  }

  /** The poll interval: relaxed while other hosts' changes come as events. */
  pollInterval(): number {
    const { watch, cluster } = this.options.settings();
    return this.cluster.mode === 'database' ? cluster.pollInterval : watch.pollInterval;
  }

  /** This host's list changed: tell the others, but not what they told. */
  changed(change: ListChange, folders: FolderChange): void {
    const events = new RootPaths(this.options.keeper().results, this.options.cwd).events(change, folders).filter((e) => !this.heardOf.has(`${e.root}\0${e.folder}`));
    this.heardOf = new Set();
    this.cluster.send(events);
  }

  /** Whether hooks may go into new repositories now (only the leader writes them into the shared store). */
  mayInstallHooks(repositories: number): Promise<boolean> {
    return this.cluster.stillLeading(`hooks for ${repositories} repositories`);
  }

  status(): ClusterStatus & { readonly pollIntervalMs: number } {
    return { ...this.cluster.status(), pollIntervalMs: this.pollInterval() };
  }

  close(): Promise<void> {
    this.closing ??= this.cluster.close();
    return this.closing;
  }

  private heard(events: readonly ClusterEvent[]): void {
    const paths = new RootPaths(this.options.keeper().results, this.options.cwd);
    const found: string[] = [];
    for (const e of events) {
      const path = paths.path(e);
      if (path === undefined) continue;
      found.push(path);
      this.heardOf.add(`${e.root}\0${e.folder}`);
    }
    if (found.length === 0) return;
    const first = events[0]!;
    const more = events.length > 1 ? ` and ${events.length - 1} more` : '';
    const reason = `cluster: ${first.host}: ${first.kind} ${first.folder || '(the root)'}${more}`;
    // The other host's change may be newer than what this host's NFS client has cached of the
    // folder (a lookup it answered "no such entry" stays so for up to acdirmin): opening the folder
    // revalidates it (close-to-open), so that the look that follows sees the change.
    void Promise.all([...new Set(found.map((p) => dirname(p)))].map(revalidate)).then(() => this.options.keeper().heard(found, reason));
  }

  private modeChanged(back: boolean): void {
    this.options.repoll();
    if (back) this.options.keeper().walkAll('cluster: database back: walking every root for what no event told');
  }
}
