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
import { existsSync, type watch as fsWatch } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import cron from 'node-cron';
import { HgreloadError } from '../errors.js';
import type { Settings } from '../config/settings.js';
import { physicalAbsolute } from '../config/paths.js';
import { loadServed, type ServedState } from '../discovery/load-served.js';
import type { RootError, ServedRepo } from '../discovery/served-repos.js';
import { createReloader, type Reloader } from '../reload/reloader.js';
import { AutoHooks } from '../hooks/auto-install.js';
import { installInto, rootFolders } from '../hooks/install-hooks.js';
import { ConfigWatcher } from '../watch/config-watcher.js';
import { FolderPoller } from '../watch/folder-poller.js';
import { modifiedSince } from '../watch/modified-since.js';
import { TreeWatcher } from '../watch/tree-watcher.js';
import { networkFileSystem } from '../discovery/network-fs.js';
import { Coalescer, realTimers, type Timers } from './coalescer.js';
import { ForcedReloads } from './forced-reloads.js';
import { Leadership } from './leadership.js';
import { LastGoodRoots, type RootFailure } from './last-good.js';
import { socketPath } from './control-protocol.js';
import { ControlServer } from './control-server.js';
import { tapErrors, type Logger } from './logger.js';
import { DaemonMetrics } from './metrics.js';
import { MetricsFile } from './metrics-file.js';
import { diffServed } from './served-diff.js';
import { digestOf, readState, writeState } from './state-file.js';

/** A burst that never goes quiet still reloads this often. */
const MAX_WAIT_FACTOR = 10;
/** How far before the first walk a folder's change still counts as made during it. */
const SECOND_LOOK_SLACK_MS = 1000;
/** Names listed in a reload's log line; the count is always there. */
const NAMES_LOGGED = 20;

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

export interface LastReload {
  readonly at: string;
  readonly reasons: readonly string[];
  readonly ok: boolean;
  readonly result: string;
  readonly ms: number;
  readonly added: number;
  readonly removed: number;
}

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
  private reloader: Reloader;
  private readonly coalescer: Coalescer;
  private readonly forced: ForcedReloads;
  private readonly lastGood = new LastGoodRoots();
  private readonly hooks: AutoHooks;
  /** Root key -> the failure last logged for it, so that a lasting one is logged once. */
  private rootProblems = new Map<string, { message: string; folder: string }>();
  private failures: RootFailure[] = [];
  private readonly requests: Record<string, number> = {};
  /** The next cycle checks the hook of every served repository (scheduled rescan, `hgreload touch`). */
  private checkAllHooks = false;
  private starting: Promise<void> | undefined;
  private readonly poller: FolderPoller;
  /** [shared] folder: one publisher among the daemons sharing it. */
  private readonly leadership: Leadership | undefined;
  /** Folder -> the network file system it is on, or 'local' (one statfs per folder, once). */
  private readonly fileSystems = new Map<string, string>();
  private pollSummary = '';
  private pollKinds: string[] = [];
  private readonly trees: TreeWatcher;
  private readonly configs: ConfigWatcher;
  private control: ControlServer | undefined;
  private cronTask: { stop(): unknown } | undefined;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly timers: Timers;
  private readonly startedAt: Date;
  private readonly metrics: DaemonMetrics;
  private readonly metricsFile: MetricsFile;

  private current: ServedState | undefined;
  /** Digest of the list hgweb was last made to serve (from the state file on start). */
  private reloadedDigest: string | undefined;
  private lastReload: LastReload | null = null;
  private lastScan: Date | null = null;
  private configError: string | null = null;
  private watchLimitReached = false;
  private reasons = new Set<string>();
  private forceReload = false;
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
    this.reloader = createReloader(settings, deps.commandTimeoutMs);
    this.coalescer = this.makeCoalescer();
    this.forced = new ForcedReloads(timers, () => this.changed('hgreload touch (spaced from the last forced reload)'));
    this.leadership =
      settings.shared.folder === undefined || settings.reload.method !== 'publish'
        ? undefined
        : new Leadership({
            folder: settings.shared.folder,
            leaseMs: settings.shared.lease,
            timers,
            log: this.log,
            // A new leader publishes what it sees at once, whatever the last leader published.
            onChange: (leader) => {
              if (!leader) return;
              this.reloadedDigest = undefined;
              this.changed('took over as the publisher');
            },
          });
    this.poller = new FolderPoller({
      intervalMs: settings.watch.pollInterval,
      timers,
      onChange: (folders) => this.changed(`poll: ${folders.slice(0, 3).join(', ')}${folders.length > 3 ? ', ...' : ''} changed`),
    });
    this.hooks = new AutoHooks({
      install: (repos) =>
        installInto(repos, this.settings, { uninstall: false, dryRun: false, within: rootFolders(this.current?.roots ?? [], this.deps.cwd) }),
      log: this.log,
      timers,
    });
    this.trees = new TreeWatcher({
      onChange: (e) => this.changed(`${e.folder}/${e.name ?? ''}`),
      onError: (folder, err) => this.log.debug({ folder, err }, 'folder watch ended'),
      ...(deps.watch === undefined ? {} : { watch: deps.watch }),
    });
    this.configs = new ConfigWatcher({
      onChange: (file) => this.changed(`config ${file}`),
      onError: (err) => this.log.warn({ err }, 'config file watch failed'),
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
    this.log.info({ webconf: this.webconf, method: this.reloader.method }, 'starting: first walk');
    await mkdir(stateDir, { recursive: true });
    const saved = await readState(stateDir);
    this.reloadedDigest = saved?.digest;
    await this.leadership?.start();
    // Fatal on a first scan that cannot read hgweb.config: nothing sensible to serve or watch yet.
    // (A second behind: file system timestamps are coarser than the clock.)
    const walkStarted = this.now().getTime() - SECOND_LOOK_SLACK_MS;
    const state = await this.walk();
    if (this.closing !== undefined) return; // stopped during the first walk
    this.reasons.add(saved === undefined ? 'first start' : 'start');
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
    const catchUp = this.lastReload === null ? 'unchanged since the last reload' : this.lastReload.ok ? 'reloaded' : 'reload failed';
    this.control = await ControlServer.listen(socketPath(stateDir), (request) => {
      this.requests[request.command] = (this.requests[request.command] ?? 0) + 1;
      if (request.command === 'status') return { ok: true, status: this.status() };
      if (request.command === 'rescan') {
        this.changed(request.reason ?? 'rescan requested');
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
        method: this.reloader.method,
        repositories: state.repos.length,
        folders: this.trees.count,
        configFiles: this.configs.count,
        socket: this.control.path,
        catchUp,
      },
      'ready',
    );
  }

  /** Something may have changed: rescan after the quiet period, reload if the list changed. */
  changed(reason: string): void {
    this.reasons.add(reason);
    this.coalescer.notify();
  }

  /** Reload hgweb after the quiet period even if the list is the same (`hgreload touch`). */
  requestReload(reason: string, force: boolean): void {
    this.forceReload ||= force;
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
    this.reloader = reloader;
    this.coalescer.retime(...coalescerTiming(settings.reload.debounce));
    this.poller.retime(settings.watch.pollInterval);
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
      method: this.reloader.method,
      roots: (this.current?.roots ?? []).map((r) => ({
        kind: r.kind,
        prefix: r.prefix,
        folder: r.kind === 'plain' ? r.path : r.folder,
        ...(r.kind !== 'plain' && failures.has(r) ? failureStatus(failures.get(r)!) : {}),
      })),
      repositories: this.current?.repos.length ?? 0,
      watches: { folders: this.trees.count, configFiles: this.configs.count, limitReached: this.watchLimitReached },
      leadership: this.leadership === undefined ? null : { leading: this.leadership.leader, leader: this.leadership.leaderName ?? null },
      polling: { folders: this.poller.count, intervalMs: this.poller.intervalMs, fileSystems: this.pollKinds, lastPollMs: this.poller.lastPollMs ?? null },
      lastReload: this.lastReload,
      lastScan: this.lastScan?.toISOString() ?? null,
      pending: this.coalescer.pending,
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
      this.forced.close();
      await this.coalescer.close();
      await this.leadership?.close();
      await this.hooks.close();
      await this.poller.close();
      this.trees.close();
      await this.configs.close();
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
    let state: ServedState;
    try {
      state = await this.walk();
    } catch (err) {
      // hgweb.config edited into something Mercurial rejects: hgweb itself now fails, but the last good list is kept.
      this.configError = err instanceof Error ? err.message : String(err);
      this.log.error({ err }, 'cannot use hgweb.config; keeping the last good list until it is fixed');
      this.reasons.clear();
      return;
    }
    this.configError = null;
    await this.apply(state, firstChange);
  }

  /** Reads hgweb.config and walks every root, timed for the metrics. */
  private async walk(): Promise<ServedState> {
    const started = this.timers.now();
    const state = await loadServed(this.webconf, { cwd: this.deps.cwd });
    this.metrics.walked(this.timers.now() - started);
    return state;
  }

  private async apply(walked: ServedState, firstChange?: number): Promise<void> {
    const started = performance.now();
    const reasons = [...this.reasons];
    this.reasons.clear();
    const firstScan = this.current === undefined;
    const previous = this.current?.repos ?? [];
    const { state, failures } = this.lastGood.apply(walked);
    this.current = state;
    this.lastScan = this.now();
    this.reportRootFailures(failures);
    const newFolders = await this.watch(state);
    await this.configs.set([this.webconf, ...state.configFiles.map((f) => f.path)]);
    if (!firstScan && newFolders.length > 0) {
      // A repository made in a new folder between its walk and its watch would be missed: look once more.
      this.changed(`new folders watched: ${newFolders.slice(0, 3).join(', ')}${newFolders.length > 3 ? ', ...' : ''}`);
    }

    if (this.settings.hooks.auto) {
      const all = firstScan || this.checkAllHooks;
      // Not awaited: a clone at work or a busy lock must not hold the reload back.
      void this.hooks.arrived((all ? state.repos : newRepositories(previous, state.repos)).map((r) => physicalAbsolute(r.path, this.deps.cwd)));
    }
    this.checkAllHooks = false;

    const digest = digestOf(state.repos);
    const changed = digest !== this.reloadedDigest;
    // A forced reload too soon after the last one waits (ForcedReloads wakes a cycle for it); a changed list satisfies it.
    const force = this.forceReload && (changed || this.forced.take());
    if (force || changed) this.forceReload = false;
    if (force && changed) this.forced.reloaded();
    if (!force && !changed) {
      this.log.debug({ reasons, repositories: state.repos.length }, 'served list unchanged; no reload');
      return;
    }
    await this.reload(state.repos, digest, previous, reasons, started, firstChange);
  }

  private async reload(
    repos: readonly ServedRepo[],
    digest: string,
    previous: readonly ServedRepo[],
    reasons: string[],
    started: number,
    firstChange: number | undefined,
  ): Promise<void> {
    if (this.leadership !== undefined && !(await this.leadership.confirm())) {
      // A standby: the leader publishes; this one is ready to take over with the same list.
      this.log.debug({ reasons, leader: this.leadership.leaderName }, 'standby: not publishing');
      return;
    }
    const { added, removed } = diffServed(previous, repos);
    const at = this.now();
    let result: string;
    let ok = true;
    try {
      result = await this.reloader.reload(repos);
    } catch (err) {
      ok = false;
      result = err instanceof Error ? err.message : String(err);
      // Not recorded as reloaded: the next change (or rescan) tries again.
      this.log.error({ err, reasons, method: this.reloader.method }, `reload failed: ${result}`);
    }
    const ms = Math.round(performance.now() - started);
    this.metrics.reloaded(this.reloader.method, ok, firstChange === undefined ? undefined : this.timers.now() - firstChange);
    this.lastReload = { at: at.toISOString(), reasons, ok, result, ms, added: added.length, removed: removed.length };
    if (!ok) return;
    this.reloadedDigest = digest;
    await writeState(this.settings.reload.state, { digest, repos: repos.length, reloadedAt: at.toISOString(), method: this.reloader.method });
    this.log.info(
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

  /** Points the tree watcher at the walked folders, and at the nearest existing folder above each missing root. */
  private async watch(state: ServedState): Promise<string[]> {
    const folders = [...state.folders, ...state.errors.map((e) => this.nearestExisting(e))];
    await this.poll(folders);
    try {
      const added = this.trees.set(folders);
      this.watchLimitReached = false;
      return added;
    } catch (err) {
      if (!this.watchLimitReached) this.log.error({ err }, (err as Error).message);
      this.watchLimitReached = true;
      return [];
    }
  }

  /** Points the poller at the folders inotify cannot fully see ([watch] poll), and says which when that changes. */
  private async poll(folders: readonly string[]): Promise<void> {
    const { poll, pollInterval } = this.settings.watch;
    const polled = new Map<string, string>();
    for (const folder of folders) {
      if (poll === 'never') break;
      let fs = this.fileSystems.get(folder);
      if (fs === undefined) {
        fs = networkFileSystem(folder) ?? 'local';
        this.fileSystems.set(folder, fs);
      }
      if (poll === 'always' || fs !== 'local') polled.set(folder, fs);
    }
    const current = new Set(folders);
    for (const folder of this.fileSystems.keys()) if (!current.has(folder)) this.fileSystems.delete(folder);
    await this.poller.set(polled.keys());
    const kinds = [...new Set(polled.values())].sort();
    const summary = `${polled.size} ${kinds.join(',')} ${pollInterval}`;
    if (summary === this.pollSummary) return;
    this.pollSummary = summary;
    this.pollKinds = kinds;
    if (polled.size === 0) return void this.log.info('polling no folders: inotify sees every change');
    const why = poll === 'always' ? '[watch] poll = always' : `on ${kinds.join(', ')}: inotify there does not see what other hosts change`;
    this.log.info({ folders: polled.size, intervalMs: pollInterval, fileSystems: kinds }, `polling ${polled.size} folders every ${pollInterval} ms (${why})`);
  }

  private nearestExisting({ root }: RootError): string {
    let folder = physicalAbsolute(root.folder, this.deps.cwd);
    while (!existsSync(folder) && folder !== dirname(folder)) folder = dirname(folder);
    return folder;
  }
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
