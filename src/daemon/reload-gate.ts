/**
 * What decides and does the reload at the end of a cycle: whether hgweb must
 * be made to serve the cycle's list (it changed; hgweb was not made to serve
 * it yet after a failed reload, a start or a takeover; `hgreload touch`
 * asked, no sooner than ForcedReloads allows), whether this daemon is the one
 * to do it ([shared] folder: the leader), the reload by the configured
 * method, and what is kept of it (the state file, for a restart; the last
 * reload, for status and the metrics).
 */
import type { Settings } from '../config/settings.js';
import type { ListChange } from '../model/served-list.js';
import type { Splice } from '../model/splice.js';
import type { Reloader } from '../reload/reloader.js';
import type { Timers } from './coalescer.js';
import { ForcedReloads } from './forced-reloads.js';
import type { Logger } from './logger.js';
import type { DaemonMetrics } from './metrics.js';
import { diffServed, type ServedDiff } from './served-diff.js';
import { readState, writeState } from './state-file.js';

/** Names listed in a reload's log line; the count is always there. */
const NAMES_LOGGED = 20;

export interface LastReload {
  readonly at: string;
  readonly reasons: readonly string[];
  readonly ok: boolean;
  readonly result: string;
  readonly ms: number;
  readonly added: number;
  readonly removed: number;
}

export interface ReloadGateOptions {
  readonly settings: Settings;
  readonly reloader: Reloader;
  readonly timers: Timers;
  readonly now: () => Date;
  readonly log: Logger;
  readonly metrics: DaemonMetrics;
  /** A cycle is wanted (a forced reload that had to wait, a takeover). */
  readonly wake: (reason: string) => void;
  /** [shared] folder: the one among the daemons sharing it that publishes (see leadershipChanged). */
  readonly publisher?: Publisher;
}

/** Who publishes among daemons that share [shared] folder: the cluster's leader. */
export interface Publisher {
  readonly leader: boolean;
  /** Who leads, as last seen. */
  readonly leaderName: string | undefined;
  start(): Promise<void>;
  /** Whether this daemon still leads, asked right before it publishes. */
  confirm(): Promise<boolean>;
  close(): Promise<void>;
}

export class ReloadGate {
  private reloader: Reloader;
  private readonly forced: ForcedReloads;
  /** [shared] folder: one publisher among the daemons sharing it. */
  private readonly leadership: Publisher | undefined;
  /** Digest (order-aware) of the list hgweb was last made to serve (from the state file on start); undefined: unknown. */
  private reloadedDigest: string | undefined;
  private forceNext = false;
  last: LastReload | null = null;

  constructor(private readonly options: ReloadGateOptions) {
    this.reloader = options.reloader;
    this.forced = new ForcedReloads(options.timers, () => options.wake('hgreload touch (spaced from the last forced reload)'));
    this.leadership = options.publisher;
  }

  /** The publisher's leadership came or went: a new leader publishes what it sees at once, whatever the last one published. */
  leadershipChanged(leader: boolean): void {
    if (!leader || this.leadership === undefined) return;
    this.reloadedDigest = undefined;
    this.options.wake('took over as the publisher');
  }

  /** Reads what the last run reloaded (state.json), and takes part in the election; true on a first start. */
  async start(): Promise<boolean> {
    const saved = await readState(this.options.settings.reload.state);
    this.reloadedDigest = saved?.digest;
    await this.leadership?.start();
    return saved === undefined;
  }

  get method(): Reloader['method'] {
    return this.reloader.method;
  }

  /** New settings' reload method (the state folder stays: it takes effect on restart). */
  useReloader(reloader: Reloader): void {
    this.reloader = reloader;
  }

  /** `hgreload touch`: the next change reloads, changed or not. */
  force(): void {
    this.forceNext = true;
  }

  leadershipStatus(): { readonly leading: boolean; readonly leader: string | null } | null {
    return this.leadership === undefined ? null : { leading: this.leadership.leader, leader: this.leadership.leaderName ?? null };
  }

  /**
   * The end of a cycle: reloads hgweb with `change` when it must.
   * @param fromKnownList whether `change` starts from a list this daemon knew (not on its first cycle, whose change starts from nothing)
   * @param started performance.now() when the cycle began; @param firstChange timers.now() of the first change it answers
   */
  async offer(change: ListChange, fromKnownList: boolean, reasons: string[], started: number, firstChange: number | undefined): Promise<void> {
    const force = this.mustReload(change, fromKnownList);
    if (force === undefined) {
      this.options.log.debug({ reasons, repositories: change.after.repos.length }, 'served list unchanged; no reload');
      return;
    }
    await this.reload(change, force, reasons, started, firstChange);
  }

  async close(): Promise<void> {
    this.forced.close();
    await this.leadership?.close();
  }

  /**
   * Whether hgweb must be reloaded: the list changed, or hgweb was not made to
   * serve it yet (a failed reload, a start that found another list than the
   * last one reloaded, a takeover), or `hgreload touch` asked (no sooner than
   * ForcedReloads allows). undefined: no reload; else whether it is forced.
   */
  private mustReload(change: ListChange, fromKnownList: boolean): boolean | undefined {
    const changed = (fromKnownList && change.splices.length > 0) || change.after.digest !== this.reloadedDigest;
    // A forced reload too soon after the last one waits (ForcedReloads wakes a cycle for it); a changed list satisfies it.
    const force = this.forceNext && (changed || this.forced.take());
    if (force || changed) this.forceNext = false;
    if (force && changed) this.forced.reloaded();
    return force || changed ? force : undefined;
  }

  /** @param force the whole list, not only the change (`hgreload touch`) */
  private async reload(change: ListChange, force: boolean, reasons: string[], started: number, firstChange: number | undefined): Promise<void> {
    const { log, metrics, timers } = this.options;
    const repos = change.after.repos;
    const digest = change.after.digest;
    if (this.leadership !== undefined && !(await this.leadership.confirm())) {
      // A standby: the leader publishes; this one is ready to take over with the same list.
      log.debug({ reasons, leader: this.leadership.leaderName }, 'standby: not publishing');
      return;
    }
    const { added, removed } = namesOf(change.splices);
    const at = this.options.now();
    let result: string;
    let ok = true;
    try {
      result = await this.reloader.reload(change, force);
    } catch (err) {
      ok = false;
      result = err instanceof Error ? err.message : String(err);
      // Not recorded as reloaded: the next change (or rescan) tries again.
      log.error({ err, reasons, method: this.reloader.method }, `reload failed: ${result}`);
    }
    const ms = Math.round(performance.now() - started);
    metrics.reloaded(this.reloader.method, ok, firstChange === undefined ? undefined : timers.now() - firstChange);
    this.last = { at: at.toISOString(), reasons, ok, result, ms, added: added.length, removed: removed.length };
    if (!ok) return;
    this.reloadedDigest = digest;
    await writeState(this.options.settings.reload.state, { digest, repos: repos.length, reloadedAt: at.toISOString(), method: this.reloader.method });
    log.info(
      {
        reasons,
        method: this.reloader.method,
        repositories: repos.length,
        added: added.slice(0, NAMES_LOGGED),
        removed: removed.slice(0, NAMES_LOGGED),
        addedCount: added.length,
        removedCount: removed.length,
        ms,
      },
      `reloaded: ${result}`,
    );
  }
}

/** Names that came and went through splices (a repository moved shows in both; one a walked-again run kept shows in neither). */
function namesOf(splices: readonly Splice[]): ServedDiff {
  return diffServed(
    splices.flatMap((s) => s.removed),
    splices.flatMap((s) => s.inserted),
  );
}
