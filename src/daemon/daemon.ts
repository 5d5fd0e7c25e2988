/**
 * The long-running service: discover, watch, coalesce, reload.
 *
 * Source -> debounce -> action, each its own piece: the watchers (and the
 * schedule, and `hgreload touch`) only say that something may have changed;
 * the coalescer turns a burst of that into one cycle; a cycle re-reads
 * hgweb.config, walks the roots, points the watchers at the folders where a
 * repository could now appear, and reloads hgweb when the served list changed.
 * Runtime errors are logged and the loop goes on; only a bad start is fatal.
 */
import type { watch as fsWatch } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import cron from 'node-cron';
import { HgreloadError } from '../errors.js';
import type { Settings } from '../config/settings.js';
import { physicalAbsolute } from '../config/paths.js';
import { loadServed, type ServedState } from '../discovery/load-served.js';
import type { ServedRepo } from '../discovery/served-repos.js';
import { createReloader } from '../reload/reloader.js';
import { AutoHooks } from '../hooks/auto-install.js';
import { installInto, rootFolders } from '../hooks/install-hooks.js';
import { modifiedSince } from '../watch/modified-since.js';
import { networkFileSystem } from '../discovery/network-fs.js';
import { MountTable } from '../discovery/mount-table.js';
import { FULL, ServedModel, type Hint, type ModelChange } from '../model/served-model.js';
import { changeBetween, compose, EMPTY_LIST, noChange, servedList, type ListChange, type ServedList } from '../model/served-list.js';
import { Coalescer, realTimers, type Timers } from './coalescer.js';
import { LastGoodRoots, type RootFailure } from './last-good.js';
import { socketPath } from './control-protocol.js';
import { ControlServer } from './control-server.js';
import { tapErrors, type Logger } from './logger.js';
import { WatchSet } from './watch-set.js';
import { DaemonMetrics } from './metrics.js';
import { MetricsFile } from './metrics-file.js';
import { ReloadGate, type LastReload } from './reload-gate.js';

/** A burst that never goes quiet still reloads this often. */
const MAX_WAIT_FACTOR = 10;
/** How far before the first walk a folder's change still counts as made during it. */
const SECOND_LOOK_SLACK_MS = 1000;
/**
 * A cycle whose events name more folders than this walks every root instead:
 * it costs no more than walking each part again. (Lost events are told by
 * QueueOverflow, not guessed from a count here.)
 */
const MAX_FOLDERS = 1000;
/**
 * More events than this in one folder make one look at that folder whole:
 * an `hg update` writing thousands of files in a working copy under `**`
 * costs one walk of it, not thousands of looks (nor a walk of every root).
 */
const MAX_NAMES_PER_FOLDER = 100;
/** Rounds of looking at folders just watched, for what came between their read and their watch. */
const RECHECK_ROUNDS = 4;

export interface Scheduler {
  readonly validate: (expression: string) => boolean;
  readonly schedule: (expression: string, run: () => void) => { stop(): unknown };
}

export interface DaemonDeps {
  readonly logger: Logger;
  /** The working folder hgweb's relative roots are taken from. */
  readonly cwd: string;
  readonly timers?: Timers;
  readonly scheduler?: Scheduler;
  readonly now?: () => Date;
  /** The folder watch call (fs.watch); tests hand in one that runs out of watches. */
  readonly watch?: typeof fsWatch;
  /** How long the command method may run (default COMMAND_TIMEOUT_MS). */
  readonly commandTimeoutMs?: number;
}

const nodeCronScheduler: Scheduler = {
  validate: (expression) => cron.validate(expression),
  schedule: (expression, run) => cron.schedule(expression, run, { noOverlap: true }),
};

export interface DaemonStatus {
  readonly pid: number;
  readonly startedAt: string;
  readonly webconf: string;
  readonly method: string;
  /** `error`: why the root's last walk failed; `kept`: how many repositories of its last good walk are still served. */
  readonly roots: ReadonlyArray<{ kind: string; prefix: string; folder: string; error?: string; kept?: number }>;
  readonly repositories: number;
  readonly watches: { readonly folders: number; readonly configFiles: number; readonly limitReached: boolean };
  /** Folders polled beside inotify ([watch] poll), the file systems that made them so, and the last poll's duration. */
  /** [shared] folder: whether this daemon publishes, and who does. */
  readonly leadership: { readonly leading: boolean; readonly leader: string | null } | null;
  readonly polling: { readonly folders: number; readonly intervalMs: number; readonly fileSystems: readonly string[]; readonly lastPollMs: number | null };
  readonly lastReload: LastReload | null;
  readonly lastScan: string | null;
  readonly pending: boolean;
  readonly pendingReasons: readonly string[];
  readonly configError: string | null;
  /** Control requests received since the start, by command (the hook sends `rescan`). */
  readonly requests: Readonly<Record<string, number>>;
  /** `[hooks] auto`: repositories waiting for their hook (a clone at work, a busy lock). */
  readonly hooksWaiting: number;
}

export class Daemon {
  private settings: Settings;
  private readonly gate: ReloadGate;
  private readonly coalescer: Coalescer;
  private readonly lastGood = new LastGoodRoots();
  private readonly hooks: AutoHooks;
  /** Root key -> the failure last logged for it, so that a lasting one is logged once. */
  private rootProblems = new Map<string, { message: string; folder: string }>();
  private failures: RootFailure[] = [];
  private readonly requests: Record<string, number> = {};
  /** The next cycle checks the hook of every served repository (scheduled rescan, `hgreload touch`). */
  private checkAllHooks = false;
  private starting: Promise<void> | undefined;
  private readonly watches: WatchSet;
  private control: ControlServer | undefined;
  private cronTask: { stop(): unknown } | undefined;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly timers: Timers;
  private readonly startedAt: Date;
  private readonly metrics: DaemonMetrics;
  private readonly metricsFile: MetricsFile;

  private current: ServedState | undefined;
  /** The list the last cycle ended with (`current.repos`), published or not: the next cycle's change starts from it. */
  private list: ServedList | undefined;
  /** What hgweb serves, kept current by folder events between full walks; undefined until a full walk that every root passed. */
  private model: ServedModel | undefined;
  /** Folder events waiting for the next cycle, and whether it must walk everything instead. */
  private hints: Hint[] = [];
  private fullWalk = true;
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
  private closing: Promise<void> | undefined;

  constructor(
    settings: Settings,
    private readonly deps: DaemonDeps,
  ) {
    this.settings = settings;
    this.now = deps.now ?? (() => new Date());
    const timers = (this.timers = deps.timers ?? realTimers);
    this.startedAt = this.now();
    this.metrics = new DaemonMetrics({ now: this.now });
    this.metricsFile = new MetricsFile({ file: settings.metrics.file, render: (up) => this.metrics.render(this.status(), up), timers, log: deps.logger });
    // Every error logged, by the daemon or the pieces it hands its log to, is the metrics' last error.
    this.log = tapErrors(deps.logger, (message) => {
      this.metrics.errorLogged(message);
      this.metricsFile.update();
    });
    this.gate = new ReloadGate({
      settings,
      reloader: createReloader(settings, deps.commandTimeoutMs),
      timers,
      now: this.now,
      log: this.log,
      metrics: this.metrics,
      wake: (reason) => this.changed(reason),
    });
    this.coalescer = this.makeCoalescer();
    this.hooks = new AutoHooks({
      install: (repos) =>
        installInto(repos, this.settings, { uninstall: false, dryRun: false, within: rootFolders(this.current?.roots ?? [], this.deps.cwd) }),
      log: this.log,
      timers,
    });
    this.watches = new WatchSet({
      settings: () => this.settings.watch,
      cwd: deps.cwd,
      timers,
      log: this.log,
      onEvents: (hints, reason) => this.folderChanged(hints, reason),
      onWalkAll: (reason) => this.changed(reason),
      ...(deps.watch === undefined ? {} : { watch: deps.watch }),
    });
  }

  private get webconf(): string {
    const { webconf } = this.settings;
    if (webconf === undefined) throw new HgreloadError('usage', 'no hgweb.config given', { hint: 'pass -w/--web-conf FILE, or set "webconf" in the settings file' });
    return webconf;
  }

  /**
   * First scan, catch-up reload, watches, control socket, schedule. Throws
   * (fatal) when hgweb.config cannot be used at all or the state folder is unusable.
   */
  start(): Promise<void> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    const stateDir = this.settings.reload.state;
    this.log.info({ webconf: this.webconf, method: this.gate.method }, 'starting: first walk');
    await mkdir(stateDir, { recursive: true });
    const firstStart = await this.gate.start();
    // Fatal on a first scan that cannot read hgweb.config: nothing sensible to serve or watch yet.
    // (A second behind: file system timestamps are coarser than the clock.)
    const walkStarted = this.now().getTime() - SECOND_LOOK_SLACK_MS;
    this.watches.watchMounts();
    const state = await this.walk();
    if (this.closing !== undefined) return; // stopped during the first walk
    this.reasons.add(firstStart ? 'first start' : 'start');
    await this.apply(state);
    if (this.closing !== undefined) return;
    // Watches were set only after the first walk had read each folder: a repository made in
    // a folder already read, before its watch, would wait for the schedule. One more look,
    // now that every folder is watched, finds it; "ready" means nothing was missed. Where no
    // watched folder changed since the walk began (a stat each), there is nothing to find:
    // a second walk would only cost its time and its garbage (20 MB at 10,000 repositories).
    // On network file systems the server's clock stamps folders, so the look is always taken.
    const onNetwork = (this.current?.roots ?? []).some((r) => r.kind !== 'plain' && networkFileSystem(physicalAbsolute(r.folder, this.deps.cwd)) !== undefined);
    if (onNetwork || (await modifiedSince(this.current?.folders ?? [], walkStarted))) {
      this.reasons.add('second look after the first walk');
      await this.coalescer.runNow();
    }
    if (this.closing !== undefined) return;
    // A restart catches up: one reload if the list changed while the daemon was down, none otherwise.
    const last = this.gate.last;
    const catchUp = last === null ? 'unchanged since the last reload' : last.ok ? 'reloaded' : 'reload failed';
    this.control = await ControlServer.listen(socketPath(stateDir), (request) => {
      this.requests[request.command] = (this.requests[request.command] ?? 0) + 1;
      if (request.command === 'status') return { ok: true, status: this.status() };
      if (request.command === 'rescan') {
        // After a push: a look at that repository is enough where a watched folder holds it.
        const folder = request.path === undefined ? undefined : dirname(request.path);
        const reason = request.reason ?? 'rescan requested';
        if (folder !== undefined && this.model?.owns(folder)) this.folderChanged([{ folder, name: basename(request.path!) }], reason);
        else this.changed(reason);
      } else {
        this.checkAllHooks = true;
        this.requestReload(request.reason ?? 'hgreload touch', true);
      }
      return { ok: true, queued: true };
    });
    if (this.closing !== undefined) return void (await this.control.close());
    this.startSchedule();
    this.log.info(
      {
        webconf: this.webconf,
        method: this.gate.method,
        repositories: state.repos.length,
        folders: this.watches.status().watches.folders,
        configFiles: this.watches.status().watches.configFiles,
        socket: this.control.path,
        catchUp,
      },
      'ready',
    );
  }

  /** Something may have changed anywhere: walk every root after the quiet period, reload if the list changed. */
  changed(reason: string): void {
    this.fullWalk = true;
    this.reasons.add(reason);
    this.coalescer.notify();
  }

  /** Entries appeared or vanished in watched folders: look at those after the quiet period. */
  private folderChanged(hints: readonly Hint[], reason: string): void {
    for (const h of hints) this.hints.push(h);
    this.reasons.add(reason);
    this.coalescer.notify();
  }

  /** Reload hgweb after the quiet period even if the list is the same (`hgreload touch`). */
  requestReload(reason: string, force: boolean): void {
    if (force) this.gate.force();
    this.changed(reason);
  }

  /** SIGHUP: take new settings; a broken file keeps the current ones (the caller logs why). */
  async useSettings(settings: Settings): Promise<void> {
    const reloader = createReloader(settings, this.deps.commandTimeoutMs); // throws before anything changes
    if (!(this.deps.scheduler ?? nodeCronScheduler).validate(settings.rescan.schedule)) throw scheduleError(settings.rescan.schedule);
    if (settings.reload.state !== this.settings.reload.state) {
      this.log.warn({ state: this.settings.reload.state }, 'a new state folder takes effect on restart');
    }
    // [hooks] auto just turned on: every served repository gets its hook, not only new ones.
    if (settings.hooks.auto && !this.settings.hooks.auto) this.checkAllHooks = true;
    this.settings = Object.freeze({ ...settings, reload: { ...settings.reload, state: this.settings.reload.state } });
    this.gate.useReloader(reloader);
    this.coalescer.retime(...coalescerTiming(settings.reload.debounce));
    this.watches.retime(settings.watch.pollInterval);
    await this.metricsFile.setFile(settings.metrics.file);
    this.cronTask?.stop();
    this.startSchedule();
    this.log.info({ method: reloader.method, webconf: this.webconf }, 'settings reloaded');
    this.changed('settings reloaded');
  }

  status(): DaemonStatus {
    const failures = new Map(this.failures.map((f) => [f.error.root, f]));
    return {
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      webconf: this.webconf,
      method: this.gate.method,
      roots: (this.current?.roots ?? []).map((r) => ({
        kind: r.kind,
        prefix: r.prefix,
        folder: r.kind === 'plain' ? r.path : r.folder,
        ...(r.kind !== 'plain' && failures.has(r) ? failureStatus(failures.get(r)!) : {}),
      })),
      repositories: this.current?.repos.length ?? 0,
      ...this.watches.status(),
      leadership: this.gate.leadershipStatus(),
      lastReload: this.gate.last,
      lastScan: this.lastScan?.toISOString() ?? null,
      pending: this.coalescer.pending || this.secondLookTimer !== undefined,
      pendingReasons: [...this.reasons],
      configError: this.configError,
      requests: { ...this.requests },
      hooksWaiting: this.hooks.waiting,
    };
  }

  /** Idempotent; resolves when a running cycle has finished and every watch and socket is closed. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // A start in progress finishes first (it checks `closing` and stops short).
      await this.starting?.catch(() => undefined);
      this.cronTask?.stop();
      if (this.secondLookTimer !== undefined) this.timers.clearTimeout(this.secondLookTimer);
      await this.coalescer.close();
      await this.gate.close();
      await this.hooks.close();
      await this.watches.close();
      await this.control?.close();
      await this.metricsFile.close(); // the last figures, with hgreload_up 0
    })();
    return this.closing;
  }

  private makeCoalescer(): Coalescer {
    const [quietMs, maxWaitMs] = coalescerTiming(this.settings.reload.debounce);
    return new Coalescer((firstChange) => this.cycle(firstChange).finally(() => this.metricsFile.update()), {
      quietMs,
      maxWaitMs,
      // A lone change (a new repository) is published at once; a burst waits for quiet.
      leading: true,
      ...(this.deps.timers === undefined ? {} : { timers: this.deps.timers }),
      onError: (err) => this.log.error({ err }, 'rescan failed'),
    });
  }

  private startSchedule(): void {
    const scheduler = this.deps.scheduler ?? nodeCronScheduler;
    const expression = this.settings.rescan.schedule;
    if (!scheduler.validate(expression)) throw scheduleError(expression);
    this.cronTask = scheduler.schedule(expression, () => {
      this.checkAllHooks = true;
      this.changed('scheduled rescan');
    });
  }

  /** @param firstChange when the first change this cycle answers came (timers.now()), for the latency metric */
  private async cycle(firstChange?: number): Promise<void> {
    const hints = perFolder([...this.secondLooks, ...this.hints]);
    this.hints = [];
    this.secondLooks = [];
    if (this.secondLookTimer !== undefined) this.timers.clearTimeout(this.secondLookTimer);
    this.secondLookTimer = undefined;
    const folders = new Set(hints.map((h) => h.folder)).size;
    if (!this.fullWalk && this.model !== undefined && folders <= MAX_FOLDERS) {
      const change = await this.model.update(hints);
      if (change !== FULL) return this.applyChange(change, firstChange);
      this.reasons.add('a walk in part could not tell: walking every root');
    } else if (!this.fullWalk && folders > MAX_FOLDERS) {
      this.reasons.add(`events in ${folders} folders at once: walking every root`);
    }
    this.fullWalk = false;
    let state: Awaited<ReturnType<Daemon['walk']>>;
    try {
      state = await this.walk();
    } catch (err) {
      // hgweb.config edited into something Mercurial rejects: hgweb itself now fails, but the last good list is kept.
      this.configError = err instanceof Error ? err.message : String(err);
      this.log.error({ err }, 'cannot use hgweb.config; keeping the last good list until it is fixed');
      this.reasons.clear();
      // What asked for this walk (a change only a full walk can tell, a new hgweb.config) still asks: the model
      // must not go on from events alone, the next cycle walks again.
      this.fullWalk = true;
      return;
    }
    this.configError = null;
    await this.apply(state, firstChange);
  }

  /** Reads hgweb.config and walks every root, timed for the metrics. */
  private async walk(): Promise<ServedState & { mounts: MountTable }> {
    const started = this.timers.now();
    const mounts = MountTable.fromSystem();
    const state = await loadServed(this.webconf, { cwd: this.deps.cwd, mounts });
    this.metrics.walked(this.timers.now() - started);
    return { ...state, mounts };
  }

  /**
   * A cycle that walked only what events named: the folders to watch change
   * by what changed, folders just watched are looked at once more, and hgweb
   * is reloaded with the change (publish writes only the change).
   */
  private async applyChange(first: ModelChange, firstChange: number | undefined): Promise<void> {
    const started = performance.now();
    const reasons = [...this.reasons];
    this.reasons.clear();
    const change = await this.watchChange(first);
    if (change === FULL) {
      this.fullWalk = true;
      this.reasons.add('a walk in part could not tell: walking every root');
      for (const r of reasons) this.reasons.add(r);
      return this.cycle(firstChange);
    }
    if (change.arrived.length > 0) this.lookAgain(change.arrived);
    this.current = { ...this.current!, repos: change.list.after.repos };
    this.lastScan = this.now();
    const inserted = change.list.splices.flatMap((s) => s.inserted);
    // From the list the last cycle ended with: the model's list is that list, changed only by its updates.
    await this.served(this.list === change.list.before ? change.list : changeBetween(this.list ?? EMPTY_LIST, change.list.after), inserted, reasons, started, firstChange);
  }

  /**
   * The end of every cycle: hooks for the repositories that arrived, and a
   * reload when the list changed, or hgweb was not made to serve it yet, or
   * `touch` asked.
   * @param change from the list the last cycle ended with to this cycle's
   * @param arrived the repositories new in the list (all of them on a first scan or when every hook is checked)
   */
  private async served(change: ListChange, arrived: readonly ServedRepo[], reasons: string[], started: number, firstChange: number | undefined): Promise<void> {
    if (change.before !== (this.list ?? EMPTY_LIST)) throw new Error('a cycle ended with a change that does not start from the last list');
    const repos = change.after.repos;
    if (this.settings.hooks.auto) {
      // Not awaited: a clone at work or a busy lock must not hold the reload back.
      void this.hooks.arrived((this.checkAllHooks ? repos : arrived).map((r) => physicalAbsolute(r.path, this.deps.cwd)));
    }
    this.checkAllHooks = false;
    // The first cycle's change starts from nothing known: only the digest of the last reload (state.json) tells.
    const known = this.list !== undefined;
    this.list = change.after;
    await this.gate.offer(change, known, reasons, started, firstChange);
  }

  private lookAgain(arrived: readonly Hint[]): void {
    this.secondLooks.push(...arrived);
    this.secondLookTimer ??= this.timers.setTimeout(() => {
      this.secondLookTimer = undefined;
      this.folderChanged([], `a second look at ${this.secondLooks.length} new repositories`);
    }, this.settings.reload.debounce);
  }

  /** Applies a change's folders to the watches, then rechecks the folders newly watched. */
  private async watchChange(change: ModelChange): Promise<ModelChange | typeof FULL> {
    return this.recheck(await this.watches.update(change.foldersRemoved, change.foldersAdded), change);
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
        this.folderChanged(fresh.map((folder) => ({ folder, name: null })), `new folders watched: ${fresh.slice(0, 3).join(', ')}`);
        break;
      }
      // A look at a folder walks what is below it: folders below another fresh one need none of their own.
      const again = await this.model!.update(outermost(fresh).map((folder) => ({ folder, name: null })), true);
      if (again === FULL) return FULL;
      list = compose(list, again.list);
      arrived.push(...again.arrived);
      fresh = await this.watches.update(again.foldersRemoved, again.foldersAdded);
    }
    return { list, foldersRemoved: [], foldersAdded: [], arrived };
  }

  private async apply(walked: ServedState & { mounts: MountTable }, firstChange?: number): Promise<void> {
    const started = performance.now();
    const reasons = [...this.reasons];
    this.reasons.clear();
    const firstScan = this.current === undefined;
    const previous = this.current?.repos ?? [];
    const { state: served, failures } = this.lastGood.apply(walked);
    // Events after a full walk that every root passed are applied in part; after a failed one, walked whole.
    this.model = failures.length === 0 ? ServedModel.of(served.results, { cwd: this.deps.cwd }, walked.mounts) : undefined;
    let list = this.model?.list ?? servedList(served.repos);
    let state: ServedState = { ...served, repos: list.repos };
    this.current = state;
    this.lastScan = this.now();
    this.reportRootFailures(failures);
    const newFolders = await this.watches.followWalk(state, [this.webconf, ...state.configFiles.map((f) => f.path)]);
    if (!firstScan && newFolders.length > 0) {
      // A repository made in a new folder between its walk and its watch would be missed: look once more.
      const again = this.model === undefined ? FULL : await this.recheck(newFolders, { list: noChange(list), foldersRemoved: [], foldersAdded: [], arrived: [] });
      if (again === FULL) this.changed(`new folders watched: ${newFolders.slice(0, 3).join(', ')}${newFolders.length > 3 ? ', ...' : ''}`);
      else {
        list = again.list.after;
        state = this.current = { ...state, repos: list.repos };
      }
    }
    const arrived = firstScan ? state.repos : newRepositories(previous, state.repos);
    await this.served(changeBetween(this.list ?? EMPTY_LIST, list), arrived, reasons, started, firstChange);
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
      this.log.error({ err: f.error.error, root: f.error.root.folder, kept: f.kept }, `${message}; ${kept}`);
    }
    for (const [key, { folder }] of this.rootProblems) {
      if (!now.has(key)) this.log.info({ root: folder }, `${folder} walked well again; its list is current`);
    }
    this.rootProblems = now;
  }
}

/** The hints, with those of a folder that has more than MAX_NAMES_PER_FOLDER made one look at it whole (where its first stood). */
function perFolder(hints: readonly Hint[]): Hint[] {
  const count = new Map<string, number>();
  for (const h of hints) count.set(h.folder, (count.get(h.folder) ?? 0) + 1);
  const whole = new Set<string>();
  const out: Hint[] = [];
  for (const h of hints) {
    if (count.get(h.folder)! <= MAX_NAMES_PER_FOLDER) out.push(h);
    else if (!whole.has(h.folder)) {
      whole.add(h.folder);
      out.push({ folder: h.folder, name: null });
    }
  }
  return out;
}

/** The folders not below another of them. */
export function outermost(folders: readonly string[]): string[] {
  const all = new Set(folders);
  const below = (f: string): boolean => {
    for (let up = dirname(f); up !== f; f = up, up = dirname(up)) if (all.has(up)) return true;
    return false;
  };
  return [...all].filter((f) => !below(f));
}

/** Repositories (by path) in `after` that `before` did not have. */
function newRepositories(before: readonly ServedRepo[], after: readonly ServedRepo[]): ServedRepo[] {
  const known = new Set(before.map((r) => r.path));
  return after.filter((r) => !known.has(r.path));
}

function coalescerTiming(debounceMs: number): [quietMs: number, maxWaitMs: number] {
  return [debounceMs, Math.max(debounceMs * MAX_WAIT_FACTOR, 1000)];
}

function failureStatus(f: RootFailure): { error: string; kept?: number } {
  return f.kept === null ? { error: f.error.error.message } : { error: f.error.error.message, kept: f.kept };
}

function scheduleError(expression: string): HgreloadError {
  return new HgreloadError('settings', `"schedule" in [rescan] is not a cron expression: "${expression}"`, {
    hint: 'five fields, minute hour day month weekday; e.g. */10 * * * * for every ten minutes',
  });
}
