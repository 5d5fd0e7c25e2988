/**
 * The daemon's two schedules: the lost-change check (`[rescan] schedule`,
 * every ten minutes by default) and the walk of every root (`[rescan] full`,
 * daily by default).
 *
 * The check compares the change stamps of every folder the daemon watches
 * (and of those the kernel refused to watch) with the time of the last check,
 * and looks again at each folder that changed, in the model: what events
 * were lost (an overflowed queue, a refused watch, a change a poll missed) is
 * found at the cost of a stat per folder and a look per changed folder (about
 * 0.4 s of CPU at 100,000 folders here, in slices between which events go on),
 * where a walk of every root cost 6.7 s of CPU and held changes for 3 s. What a
 * stamp cannot show (a patch queue added inside `.hg`, a repository's `.hg`
 * removed alone under `*`, whose folder is not watched) waits for the walk of
 * every root. Stamps come from this host's clock only on local file systems:
 * where a watched folder is on a network file system and not polled, the
 * check walks every root instead.
 */
import { HgreloadError } from '../errors.js';
import type { Settings } from '../config/settings.js';
import { changedSince } from '../watch/changed-since.js';
import type { ListKeeper } from './list-keeper.js';
import type { Logger } from './logger.js';
import type { WatchSet } from './watch-set.js';

export interface Scheduler {
  readonly validate: (expression: string) => boolean;
  readonly schedule: (expression: string, run: () => void) => { stop(): unknown };
}

/** File system stamps are coarser than the clock, and a change may land while the last check read its folder. */
const STAMP_SLACK_MS = 1000;

export interface RescansOptions {
  readonly scheduler: Scheduler;
  readonly keeper: ListKeeper;
  readonly watches: WatchSet;
  readonly now: () => Date;
  readonly log: Logger;
}

export class Rescans {
  private tasks: Array<{ stop(): unknown }> = [];
  /** When the folders' stamps were last known to be seen (a walk of every root, or a check), less STAMP_SLACK_MS. */
  private seenUpTo: number;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly options: RescansOptions,
    /** When the start's walk began: what changed since then is what the first check looks for. */
    walkStarted: number,
  ) {
    this.seenUpTo = walkStarted - STAMP_SLACK_MS;
  }

  /** Throws a settings error when an expression is not one the scheduler takes (before anything changes). */
  static validate(rescan: Settings['rescan'], scheduler: Scheduler): void {
    for (const [key, expression] of Object.entries(rescan)) {
      if (!scheduler.validate(expression)) {
        throw new HgreloadError('settings', `"${key}" in [rescan] is not a cron expression: "${expression}"`, {
          hint: 'five fields, minute hour day month weekday; e.g. */10 * * * * for every ten minutes',
        });
      }
    }
  }

  /** What a look at every folder's stamps compares them with now: when the last one (or the start's walk) began, less the slack. */
  get since(): number {
    return this.seenUpTo;
  }

  /** Every folder's stamps were compared by a look made elsewhere (the start's, as each folder was watched), begun at `at`. */
  looked(at: number): void {
    this.seenUpTo = at - STAMP_SLACK_MS;
  }

  /** Schedules both (again, with new settings). */
  start(rescan: Settings['rescan']): void {
    Rescans.validate(rescan, this.options.scheduler);
    this.stop();
    const { scheduler, keeper } = this.options;
    this.tasks = [
      scheduler.schedule(rescan.schedule, () => {
        keeper.checkEveryHook();
        void this.check('scheduled rescan', true);
      }),
      scheduler.schedule(rescan.full, () => {
        keeper.checkEveryHook();
        keeper.walkAll('scheduled walk of every root');
      }),
    ];
  }

  stop(): void {
    for (const t of this.tasks) t.stop();
    this.tasks = [];
  }

  /** Resolves when a check under way has ended. */
  async close(): Promise<void> {
    this.stop();
    await this.checking;
  }

  /**
   * The lost-change check (`reason` for the log); one at a time (a slow one
   * is not joined by the next). Resolves once the changed folders are handed
   * to the keeper. `cycle`: a cycle even when no folder changed (it checks
   * every hook when asked, and tries a failed reload again).
   */
  check(reason: string, cycle = false): Promise<void> {
    this.checking ??= this.checkOnce(reason, cycle).finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkOnce(reason: string, cycle: boolean): Promise<void> {
    const { keeper, watches, now, log } = this.options;
    const since = this.seenUpTo;
    const began = now().getTime() - STAMP_SLACK_MS;
    if (watches.unpolledNetworkFolders()) {
      keeper.walkAll(`${reason}: folders on a network file system are not polled, walking every root`);
      this.seenUpTo = began;
      return;
    }
    const started = performance.now();
    const changed = await changedSince(watches.folders(), since);
    this.seenUpTo = began;
    log.debug({ changed: changed.length, ms: Math.round(performance.now() - started) }, `${reason}: folder stamps compared`);
    if (changed.length === 0 && !cycle) return;
    keeper.events(
      changed.map((folder) => ({ folder, name: null })),
      changed.length === 0 ? reason : `${reason}: ${changed.length} folder${changed.length === 1 ? '' : 's'} changed`,
    );
  }
}
