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
import cron from 'node-cron';
import { HgreloadError } from '../errors.js';
import { checkDaemonSettings, type Settings } from '../config/settings.js';
import { physicalAbsolute } from '../config/paths.js';
import { createReloader } from '../reload/reloader.js';
import { AutoHooks } from '../hooks/auto-install.js';
import { installInto, rootFolders } from '../hooks/install-hooks.js';
import { Rescans, type Scheduler } from './rescans.js';
import type { WalkFs } from '../discovery/dir-reader.js';
import { networkFileSystem } from '../discovery/network-fs.js';
import type { Hint } from '../model/served-model.js';
import { Coalescer, realTimers, type Timers } from './coalescer.js';
import { ListKeeper, type RootStatus } from './list-keeper.js';
import { socketPath } from './control-protocol.js';
import { ControlServer } from './control-server.js';
import { tapErrors, type Logger } from './logger.js';
import { WatchSet, type WatchStatus } from './watch-set.js';
import { DaemonMetrics } from './metrics.js';
import { MetricsFile } from './metrics-file.js';
import { ClusterLink } from './cluster-link.js';
import { ReloadGate, type LastReload } from './reload-gate.js';

/** A burst that never goes quiet still reloads this often. */
const MAX_WAIT_FACTOR = 10;

export interface DaemonDeps {
  readonly logger: Logger;
  /** The working folder hgweb's relative roots are taken from. */
  readonly cwd: string;
  readonly timers?: Timers;
  readonly scheduler?: Scheduler;
  readonly now?: () => Date;
  /** The folder watch call (fs.watch); tests hand in one that runs out of watches. */
  readonly watch?: typeof fsWatch;
  /** Gives back to the system what a walk of every root left behind (util/heap.ts); none in tests. */
  readonly compactHeap?: () => void;
  /** How long the command method may run (default COMMAND_TIMEOUT_MS). */
  readonly commandTimeoutMs?: number;
  /** How folders are read; tests hand in one that holds a walk of every root half-way. */
  readonly walkFs?: WalkFs;
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
  readonly roots: readonly RootStatus[];
  readonly repositories: number;
  /** Walks of every root since the start: the start's, the schedule's, `touch`, and what only such a walk can tell. */
  readonly walks: number;
  readonly watches: WatchStatus['watches'];
  /** Folders polled beside inotify ([watch] poll), the file systems that made them so, and the last poll's duration. */
  /** [shared] folder: whether this daemon publishes, and who does. */
  readonly leadership: { readonly leading: boolean; readonly leader: string | null } | null;
  /** [cluster] database: whether it is reached (else: polling), who leads, how far this daemon has followed the events. */
  readonly cluster: ReturnType<ClusterLink['status']> | null;
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
  private readonly hooks: AutoHooks;
  private readonly requests: Record<string, number> = {};
  private starting: Promise<void> | undefined;
  private readonly watches: WatchSet;
  private control: ControlServer | undefined;
  private rescans: Rescans | undefined;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly startedAt: Date;
  private readonly metrics: DaemonMetrics;
  private readonly metricsFile: MetricsFile;

  private readonly keeper: ListKeeper;
  private readonly clusterLink: ClusterLink | undefined;
  private closing: Promise<void> | undefined;
  /** The start has ended (its `ready` line): later walks of every root are collected after them. */
  private ready = false;

  constructor(
    settings: Settings,
    private readonly deps: DaemonDeps,
  ) {
    checkDaemonSettings(settings);
    this.settings = settings;
    this.now = deps.now ?? (() => new Date());
    const timers = deps.timers ?? realTimers;
    this.startedAt = this.now();
    this.metrics = new DaemonMetrics({ now: this.now });
    this.metricsFile = new MetricsFile({ file: settings.metrics.file, render: (up) => this.metrics.render(this.status(), up), timers, log: deps.logger });
    // Every error logged, by the daemon or the pieces it hands its log to, is the metrics' last error.
    this.log = tapErrors(deps.logger, (message) => {
      this.metrics.errorLogged(message);
      this.metricsFile.update();
    });
    this.clusterLink =
      settings.cluster.database === undefined
        ? undefined
        : new ClusterLink({
            settings: () => this.settings,
            cwd: deps.cwd,
            timers,
            log: this.log,
            keeper: () => this.keeper,
            repoll: () => this.watches.retime(this.watchSettings().pollInterval),
            onLeading: (leader) => this.gate.leadershipChanged(leader),
          });
    this.gate = new ReloadGate({
      settings,
      reloader: createReloader(settings, deps.commandTimeoutMs),
      timers,
      now: this.now,
      log: this.log,
      metrics: this.metrics,
      wake: (reason) => this.changed(reason),
      // [shared] folder's one publisher is the cluster's leader (the settings require a database with it).
      ...(settings.shared.folder === undefined || settings.reload.method !== 'publish' || this.clusterLink === undefined ? {} : { publisher: this.clusterLink }),
    });
    this.coalescer = this.makeCoalescer();
    this.hooks = new AutoHooks({
      // In a cluster, only the leader writes into the shared store.
      install: async (repos) =>
        this.clusterLink === undefined || (await this.clusterLink.mayInstallHooks(repos.length))
          ? installInto(repos, this.settings, { uninstall: false, dryRun: false, within: rootFolders(this.keeper.roots, this.deps.cwd) })
          : [],
      log: this.log,
      timers,
    });
    this.watches = new WatchSet({
      settings: () => this.watchSettings(),
      cwd: deps.cwd,
      timers,
      log: this.log,
      onEvents: (hints, reason) => this.folderChanged(hints, reason),
      onWalkAll: (reason) => this.changed(reason),
      ...(deps.watch === undefined ? {} : { watch: deps.watch }),
    });
    this.keeper = new ListKeeper({
      settings: () => this.settings,
      cwd: deps.cwd,
      ...(deps.walkFs === undefined ? {} : { walkFs: deps.walkFs }),
      timers,
      now: this.now,
      log: this.log,
      metrics: this.metrics,
      watches: this.watches,
      gate: this.gate,
      hooks: this.hooks,
      wake: () => this.coalescer.notify(),
      // After the cycle, not in it: the change it publishes does not wait for the collection. The
      // start's walks are followed by one collection, right before `ready` (startOnce).
      walked: () => void (this.ready && timers.setTimeout(() => this.deps.compactHeap?.(), 0)),
      changed: (change, folders) => this.clusterLink?.changed(change, folders),
    });
  }

  /** [watch], with the poll interval of the cluster's mode. */
  private watchSettings(): Settings['watch'] {
    const { watch } = this.settings;
    const pollInterval = this.clusterLink?.pollInterval() ?? watch.pollInterval;
    return pollInterval === watch.pollInterval ? watch : { ...watch, pollInterval };
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
    // [shared] folder on the store: made by whichever daemon starts first.
    if (this.settings.shared.folder !== undefined) await mkdir(this.settings.shared.folder, { recursive: true });
    const firstStart = await this.gate.start();
    // Before the first walk: events other hosts write from now on are looked at after it.
    if (this.clusterLink !== undefined) {
      await this.clusterLink.start();
      if (this.closing !== undefined) return;
    }
    // Fatal on a first scan that cannot read hgweb.config: nothing sensible to serve or watch yet.
    // (A second behind: file system timestamps are coarser than the clock.)
    this.rescans = new Rescans({ scheduler: this.deps.scheduler ?? nodeCronScheduler, keeper: this.keeper, watches: this.watches, now: this.now, log: this.log }, this.now().getTime());
    this.watches.watchMounts();
    const state = await this.keeper.walk();
    if (this.closing !== undefined) return; // stopped during the first walk
    this.keeper.because(firstStart ? 'first start' : 'start');
    // Watches are set only after the first walk has read each folder: a repository made in
    // a folder already read, before its watch, would wait for the schedule. Each folder's
    // stamps, compared with the walk's start right after its watch is set (a stat each),
    // tell which to look at again; "ready" means nothing was missed. On network file
    // systems the server's clock stamps folders, so every root is walked again there.
    const onNetwork = state.roots.some((r) => r.kind !== 'plain' && networkFileSystem(physicalAbsolute(r.folder, this.deps.cwd)) !== undefined);
    const look = { ms: this.rescans.since, changed: [] as string[] };
    const lookStarted = this.now().getTime();
    await this.keeper.apply(state, undefined, [], onNetwork ? undefined : look);
    if (this.closing !== undefined) return;
    if (onNetwork) this.keeper.walkAll('second look after the first walk (a network file system)');
    else {
      this.rescans.looked(lookStarted);
      this.log.debug({ changed: look.changed.length }, 'second look after the first walk: folder stamps compared as they were watched');
      const n = look.changed.length;
      if (n > 0) this.keeper.events(look.changed.map((folder) => ({ folder, name: null })), `second look after the first walk: ${n} folder${n === 1 ? '' : 's'} changed`);
    }
    if (this.keeper.wanted) await this.coalescer.runNow();
    // A walk of every root that the look started runs beside the cycles: ready once its list is taken.
    while (this.closing === undefined && (await this.keeper.walkEnded())) await this.coalescer.runNow();
    if (this.closing !== undefined) return;
    // A restart catches up: one reload if the list changed while the daemon was down, none otherwise.
    const last = this.gate.last;
    const catchUp = last === null ? 'unchanged since the last reload' : last.ok ? 'reloaded' : 'reload failed';
    this.control = await ControlServer.listen(socketPath(stateDir), (request) => {
      this.requests[request.command] = (this.requests[request.command] ?? 0) + 1;
      if (request.command === 'status') return { ok: true, status: this.status() };
      if (request.command === 'rescan') {
        // After a push: a look at that repository is enough where a watched folder holds it.
        const reason = request.reason ?? 'rescan requested';
        if (request.path !== undefined) this.keeper.pushed(request.path, reason);
        else this.changed(reason);
      } else {
        this.keeper.checkEveryHook();
        this.requestReload(request.reason ?? 'hgreload touch', true);
      }
      return { ok: true, queued: true };
    });
    if (this.closing !== undefined) return void (await this.control.close());
    this.rescans.start(this.settings.rescan);
    // What is resident at `ready` is what the daemon keeps: the start's garbage (its walk, its
    // second look) is collected before, not some time after.
    this.deps.compactHeap?.();
    this.ready = true;
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
    this.keeper.walkAll(reason);
  }

  /** Entries appeared or vanished in watched folders: look at those after the quiet period. */
  private folderChanged(hints: readonly Hint[], reason: string): void {
    this.keeper.events(hints, reason);
  }

  /** Reload hgweb after the quiet period even if the list is the same (`hgreload touch`). */
  requestReload(reason: string, force: boolean): void {
    this.keeper.walkAll(reason, force);
  }

  /** SIGHUP: take new settings; a broken file keeps the current ones (the caller logs why). */
  async useSettings(settings: Settings): Promise<void> {
    checkDaemonSettings(settings);
    const reloader = createReloader(settings, this.deps.commandTimeoutMs); // throws before anything changes
    Rescans.validate(settings.rescan, this.deps.scheduler ?? nodeCronScheduler);
    if (settings.reload.state !== this.settings.reload.state) {
      this.log.warn({ state: this.settings.reload.state }, 'a new state folder takes effect on restart');
    }
    // [hooks] auto just turned on: every served repository gets its hook, not only new ones.
    if (settings.hooks.auto && !this.settings.hooks.auto) this.keeper.checkEveryHook();
    if (JSON.stringify(settings.cluster) !== JSON.stringify(this.settings.cluster)) {
      this.log.warn({ cluster: this.settings.cluster }, 'new [cluster] settings take effect on restart');
    }
    this.settings = Object.freeze({ ...settings, reload: { ...settings.reload, state: this.settings.reload.state }, cluster: this.settings.cluster });
    this.gate.useReloader(reloader);
    this.coalescer.retime(...coalescerTiming(settings.reload.debounce));
    this.watches.retime(this.watchSettings().pollInterval);
    await this.metricsFile.setFile(settings.metrics.file);
    this.rescans?.start(settings.rescan);
    this.log.info({ method: reloader.method, webconf: this.webconf }, 'settings reloaded');
    this.changed('settings reloaded');
  }

  status(): DaemonStatus {
    const { pending, ...list } = this.keeper.status();
    return {
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      webconf: this.webconf,
      method: this.gate.method,
      roots: list.roots,
      repositories: list.repositories,
      walks: list.walks,
      ...this.watches.status(),
      leadership: this.gate.leadershipStatus(),
      cluster: this.clusterLink?.status() ?? null,
      lastReload: this.gate.last,
      lastScan: list.lastScan,
      pending: this.coalescer.pending || pending,
      pendingReasons: list.pendingReasons,
      configError: list.configError,
      requests: { ...this.requests },
      hooksWaiting: this.hooks.waiting,
    };
  }

  /** Idempotent; resolves when a running cycle has finished and every watch and socket is closed. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // A start in progress finishes first (it checks `closing` and stops short).
      await this.starting?.catch(() => undefined);
      await this.rescans?.close();
      // First: a leader gives the lock up at once, for a standby to take over.
      await this.clusterLink?.close();
      await this.keeper.close();
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
    return new Coalescer((firstChange) => this.keeper.cycle(firstChange).finally(() => this.metricsFile.update()), {
      quietMs,
      maxWaitMs,
      // A lone change (a new repository) is published at once; a burst waits for quiet.
      leading: true,
      ...(this.deps.timers === undefined ? {} : { timers: this.deps.timers }),
      onError: (err) => this.log.error({ err }, 'rescan failed'),
    });
  }
}

function coalescerTiming(debounceMs: number): [quietMs: number, maxWaitMs: number] {
  return [debounceMs, Math.max(debounceMs * MAX_WAIT_FACTOR, 1000)];
}

