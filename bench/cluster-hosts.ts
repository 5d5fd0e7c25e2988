/**
 * The cluster part's three hosts over one store, as the front ends test makes
 * them (test/helpers/front-ends.ts): A's, B's and C's own bindfs mount of the
 * store (`-o attr_timeout=0`), gunicorn and daemon (publish, debounce 50 ms),
 * one set-up's settings for all three. Everything they start is ended by
 * close(), and by a run that is interrupted or exits on an error: a daemon
 * paused by the bench would never act on SIGTERM, and a mount left behind
 * would make the run's temp folder impossible to remove.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { DaemonStatus } from '../src/daemon/daemon.js';
import type { ClusterStatus } from '../src/cluster/cluster.js';
import type { DaemonProcess, LogLine } from '../test/helpers/daemon-process.js';
import { host, mountStore, unmountStore, type Host } from '../test/helpers/front-ends.js';
import { Site } from '../test/helpers/web-site.js';

/** What a daemon's status says of the cluster (null without [cluster] database). */
export type Status = DaemonStatus & { readonly cluster: (ClusterStatus & { readonly pollIntervalMs: number }) | null };

/** How often statuses are asked while waiting for a state (each ask is a CLI run). */
const STATUS_EVERY_MS = 100;
const STATUS_TIMEOUT_MS = 30_000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ClusterHosts {
  /** Daemons the bench paused (SIGSTOP): continued before anything stops them. */
  private readonly paused = new Set<number>();
  private closing: Promise<void> | undefined;
  /** Synchronous, for an exit or a signal: no promise is awaited there. */
  private readonly emergency = (): void => this.endAllNow();

  private constructor(readonly hosts: readonly Host[]) {
    process.on('exit', this.emergency);
    // Before run.ts's own handler, which removes the run's folder and exits: the mounts must be gone first.
    for (const signal of SIGNALS) process.prependListener(signal, this.emergency);
  }

  /**
   * Hosts `names` in `dir`, each mounting `store` and serving its
   * `repos/*`; `webConfig` is appended to each hgweb.config and `settings`
   * (after `[watch] poll = auto`, `poll_interval = watchPollMs`) to each
   * hgreload.ini, where `{name}` is the host's name. Started one after the
   * other (A's site makes `first` unless the store holds it), each after the
   * first a random pause of up to `spreadMs` after the one before.
   */
  static async start(dir: string, store: string, names: readonly string[], watchPollMs: number, settings: string, webConfig: string, spreadMs = 0): Promise<ClusterHosts> {
    const hosts = names.map((name) => {
      const made = host(dir, name, watchPollMs, settings.replaceAll('{name}', name));
      return { ...made, site: new Site({ ...made.site.options, webConfig }) };
    });
    const cluster = new ClusterHosts(hosts);
    try {
      for (const h of hosts) mountStore(store, h.mount);
      for (const [i, h] of hosts.entries()) {
        if (i > 0 && spreadMs > 0) await delay(Math.random() * spreadMs);
        await h.site.start();
      }
      return cluster;
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }

  daemon(h: Host): DaemonProcess {
    return h.site.daemon!;
  }

  /** Every daemon's status, asked at once. */
  statuses(): Promise<Status[]> {
    return Promise.all(this.hosts.map((h) => h.site.status() as Promise<Status>));
  }

  /** Asks for the statuses until `done` holds for them. */
  async statusesUntil(done: (statuses: readonly Status[]) => boolean, what: string): Promise<Status[]> {
    const deadline = Date.now() + STATUS_TIMEOUT_MS;
    for (;;) {
      const statuses = await this.statuses();
      if (done(statuses)) return statuses;
      if (Date.now() > deadline) {
        const seen = this.hosts.map((h, i) => `${h.name}: ${JSON.stringify(statuses[i]!.cluster)}`).join('\n');
        throw new Error(`within ${STATUS_TIMEOUT_MS / 1000} s, never ${what}; the last cluster statuses:\n${seen}\n${this.tails()}`);
      }
      await delay(STATUS_EVERY_MS);
    }
  }

  /** The first line matching `match` in the logs of `of` (from `marks` on): whose, and the line. */
  async firstLogged(of: readonly Host[], marks: readonly number[], match: (l: LogLine) => boolean, what: string, timeoutMs = 15_000): Promise<{ host: Host; line: LogLine }> {
    try {
      return await Promise.any(of.map(async (h, i) => ({ host: h, line: await this.daemon(h).waitFor(match, what, { from: marks[i], timeoutMs }) })));
    } catch (err) {
      const why = err instanceof AggregateError ? err.errors.map((e: Error) => e.message.slice(0, 200)).join('\n') : String(err);
      throw new Error(`no daemon of ${of.map((h) => h.name).join(', ')} logged ${what} within ${timeoutMs} ms:\n${why}\n${this.tails()}`);
    }
  }

  pause(h: Host): void {
    const pid = this.daemon(h).pid;
    this.paused.add(pid);
    process.kill(pid, 'SIGSTOP');
  }

  resume(h: Host): void {
    const pid = this.daemon(h).pid;
    process.kill(pid, 'SIGCONT');
    this.paused.delete(pid);
  }

  /** The last lines of each daemon's output, for an error's message. */
  tails(): string {
    return this.hosts.map((h) => `--- ${h.name}'s daemon, last lines:\n${(h.site.daemon?.output ?? []).slice(-6).join('\n')}`).join('\n');
  }

  /** Continues what was paused, stops every daemon and server, unmounts; a second call waits for the first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.continuePaused();
      await Promise.allSettled(this.hosts.map((h) => h.site.stop()));
      for (const h of this.hosts) unmountStore(h.mount);
      process.off('exit', this.emergency);
      for (const signal of SIGNALS) process.off(signal, this.emergency);
    })();
    return this.closing;
  }

  private continuePaused(): void {
    for (const pid of this.paused) signal(pid, 'SIGCONT');
    this.paused.clear();
  }

  /** Kills daemons and servers outright and unmounts lazily (a process that held a mount may not be gone yet). */
  private endAllNow(): void {
    this.continuePaused();
    for (const h of this.hosts) {
      if (h.site.daemon?.running === true) signal(h.site.daemon.pid, 'SIGKILL');
      const master = gunicornPid(h.server.pidfile);
      if (master !== undefined) signal(master, 'SIGTERM');
    }
    for (const h of this.hosts) spawnSync('fusermount', ['-u', '-z', h.mount]);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // it is gone already
  }
}

function gunicornPid(pidfile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined; // not started, or stopped
  }
}
