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
import { installInto } from '../hooks/install-hooks.js';
import { ConfigWatcher } from '../watch/config-watcher.js';
import { TreeWatcher } from '../watch/tree-watcher.js';
import { Coalescer, type Timers } from './coalescer.js';
import { socketPath } from './control-protocol.js';
import { ControlServer } from './control-server.js';
import type { Logger } from './logger.js';
import { diffServed } from './served-diff.js';
import { digestOf, readState, writeState } from './state-file.js';

/** A burst that never goes quiet still reloads this often. */
const MAX_WAIT_FACTOR = 10;
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
  readonly roots: ReadonlyArray<{ kind: string; prefix: string; folder: string; error?: string }>;
  readonly repositories: number;
  readonly watches: { readonly folders: number; readonly configFiles: number; readonly limitReached: boolean };
  readonly lastReload: LastReload | null;
  readonly lastScan: string | null;
  readonly pending: boolean;
  readonly pendingReasons: readonly string[];
  readonly configError: string | null;
}

export class Daemon {
  private settings: Settings;
  private reloader: Reloader;
  private coalescer: Coalescer;
  private readonly trees: TreeWatcher;
  private readonly configs: ConfigWatcher;
  private control: ControlServer | undefined;
  private cronTask: { stop(): unknown } | undefined;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly startedAt: Date;

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
    this.log = deps.logger;
    this.now = deps.now ?? (() => new Date());
    this.startedAt = this.now();
    this.reloader = createReloader(settings, deps.commandTimeoutMs);
    this.coalescer = this.makeCoalescer();
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
  async start(): Promise<void> {
    const stateDir = this.settings.reload.state;
    await mkdir(stateDir, { recursive: true });
    const saved = await readState(stateDir);
    this.reloadedDigest = saved?.digest;
    // Fatal on a first scan that cannot read hgweb.config: nothing sensible to serve or watch yet.
    const state = await loadServed(this.webconf, { cwd: this.deps.cwd });
    this.reasons.add(saved === undefined ? 'first start' : 'start');
    await this.apply(state);
    // A restart catches up: one reload if the list changed while the daemon was down, none otherwise.
    const catchUp = this.lastReload === null ? 'unchanged since the last reload' : this.lastReload.ok ? 'reloaded' : 'reload failed';
    this.control = await ControlServer.listen(socketPath(stateDir), (request) => {
      if (request.command === 'status') return { ok: true, status: this.status() };
      this.requestReload(request.reason ?? 'hgreload touch', true);
      return { ok: true, queued: true };
    });
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
    const old = this.coalescer;
    this.settings = Object.freeze({ ...settings, reload: { ...settings.reload, state: this.settings.reload.state } });
    this.reloader = reloader;
    this.coalescer = this.makeCoalescer();
    await old.close();
    this.cronTask?.stop();
    this.startSchedule();
    this.log.info({ method: reloader.method, webconf: this.webconf }, 'settings reloaded');
    this.changed('settings reloaded');
  }

  status(): DaemonStatus {
    const errors = new Map((this.current?.errors ?? []).map((e) => [e.root, e.error.message]));
    return {
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      webconf: this.webconf,
      method: this.reloader.method,
      roots: (this.current?.roots ?? []).map((r) => ({
        kind: r.kind,
        prefix: r.prefix,
        folder: r.kind === 'plain' ? r.path : r.folder,
        ...(r.kind !== 'plain' && errors.has(r) ? { error: errors.get(r)! } : {}),
      })),
      repositories: this.current?.repos.length ?? 0,
      watches: { folders: this.trees.count, configFiles: this.configs.count, limitReached: this.watchLimitReached },
      lastReload: this.lastReload,
      lastScan: this.lastScan?.toISOString() ?? null,
      pending: this.coalescer.pending,
      pendingReasons: [...this.reasons],
      configError: this.configError,
    };
  }

  /** Idempotent; resolves when a running cycle has finished and every watch and socket is closed. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.cronTask?.stop();
      await this.coalescer.close();
      this.trees.close();
      await this.configs.close();
      await this.control?.close();
    })();
    return this.closing;
  }

  private makeCoalescer(): Coalescer {
    const quietMs = this.settings.reload.debounce;
    return new Coalescer(() => this.cycle(), {
      quietMs,
      maxWaitMs: Math.max(quietMs * MAX_WAIT_FACTOR, 1000),
      ...(this.deps.timers === undefined ? {} : { timers: this.deps.timers }),
      onError: (err) => this.log.error({ err }, 'rescan failed'),
    });
  }

  private startSchedule(): void {
    const scheduler = this.deps.scheduler ?? nodeCronScheduler;
    const expression = this.settings.rescan.schedule;
    if (!scheduler.validate(expression)) throw scheduleError(expression);
    this.cronTask = scheduler.schedule(expression, () => this.changed('scheduled rescan'));
  }

  private async cycle(): Promise<void> {
    let state: ServedState;
    try {
      state = await loadServed(this.webconf, { cwd: this.deps.cwd });
    } catch (err) {
      // hgweb.config edited into something Mercurial rejects: hgweb itself now fails, but the last good list is kept.
      this.configError = err instanceof Error ? err.message : String(err);
      this.log.error({ err }, 'cannot use hgweb.config; keeping the last good list until it is fixed');
      this.reasons.clear();
      return;
    }
    this.configError = null;
    await this.apply(state);
  }

  private async apply(state: ServedState): Promise<void> {
    const started = performance.now();
    const reasons = [...this.reasons];
    this.reasons.clear();
    const force = this.forceReload;
    this.forceReload = false;
    const firstScan = this.current === undefined;
    const previous = this.current?.repos ?? [];
    this.current = state;
    this.lastScan = this.now();
    for (const { error } of state.errors) this.log.error({ err: error }, error.message);
    const newFolders = this.watch(state);
    await this.configs.set([this.webconf, ...state.configFiles.map((f) => f.path)]);
    if (!firstScan && newFolders.length > 0) {
      // A repository made in a new folder between its walk and its watch would be missed: look once more.
      this.changed(`new folders watched: ${newFolders.slice(0, 3).join(', ')}${newFolders.length > 3 ? ', ...' : ''}`);
    }

    if (this.settings.hooks.auto) await this.installHooks(firstScan ? state.repos : newRepositories(previous, state.repos));

    const digest = digestOf(state.repos);
    if (!force && digest === this.reloadedDigest) {
      this.log.debug({ reasons, repositories: state.repos.length }, 'served list unchanged; no reload');
      return;
    }
    await this.reload(state.repos, digest, previous, reasons, started);
  }

  private async reload(repos: readonly ServedRepo[], digest: string, previous: readonly ServedRepo[], reasons: string[], started: number): Promise<void> {
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

  /**
   * `[hooks] auto`: the hook goes into repositories as they appear (into all of them on start,
   * which also catches those made while the daemon was down; an hgrc that has it is left as it is).
   */
  private async installHooks(repos: readonly ServedRepo[]): Promise<void> {
    if (repos.length === 0) return;
    try {
      const reports = await installInto(
        repos.map((r) => physicalAbsolute(r.path, this.deps.cwd)),
        this.settings,
        { uninstall: false, dryRun: false },
      );
      for (const r of reports) {
        if (r.outcome === 'added' || r.outcome === 'updated') this.log.info({ repo: r.repo, outcome: r.outcome }, `hook ${r.outcome}: ${r.hgrc}`);
        else if (r.outcome === 'failed') this.log.error({ repo: r.repo }, `hook not installed: ${r.reason}`);
        else if (r.outcome === 'skipped') this.log.warn({ repo: r.repo }, `hook not installed: ${r.reason}`);
      }
    } catch (err) {
      // Another install-hooks holds the lock, say: the next change or restart tries again.
      this.log.warn({ err }, `hooks not installed now: ${(err as Error).message}`);
    }
  }

  /** Points the tree watcher at the walked folders, and at the nearest existing folder above each missing root. */
  private watch(state: ServedState): string[] {
    const folders = [...state.folders, ...state.errors.map((e) => this.nearestExisting(e))];
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

function scheduleError(expression: string): HgreloadError {
  return new HgreloadError('settings', `"schedule" in [rescan] is not a cron expression: "${expression}"`, {
    hint: 'five fields, minute hour day month weekday; e.g. */10 * * * * for every ten minutes',
  });
}
