/**
 * The daemon as the paths part drives it: with the systemd unit's Node
 * options, method publish into its own state folder, the bench's short quiet period, scheduled rescans off unless a row
 * asks for one, and the debug log (a rescan that finds nothing new logs its
 * end only there). Every time it gives is checked: a change counts as
 * published once the daemon logged the reload naming it and the list a WSGI
 * process would read (snapshot and journal) holds it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DaemonProcess, isReload, type LogLine } from '../test/helpers/daemon-process.js';
import { publishedNames, readPublished } from '../test/helpers/published.js';
import type { ServedRepo } from '../src/discovery/served-repos.js';
import { PROJECT_ROOT, runCli } from '../test/helpers/run.js';
import { readUnit, unitList } from '../src/util/unit-file.js';
import { DEBOUNCE_MS } from './daemon-bench.js';
import { cpuMs, quietCpuMs, rssMb } from './process-use.js';

/** Once a year: the rows that do not time a scheduled rescan must not meet one. */
const SCHEDULE_OFF = '0 0 1 1 *';
/** A change's second look starts within one quiet period (see scale-bench.ts). */
export const QUIET_MS = 5 * DEBOUNCE_MS;
/** Generous: a change during a rescan of a large tree waits for the rescan. */
export const CHANGE_TIMEOUT_MS = 300_000;

export interface Use {
  /** utime + stime since the start. */
  readonly cpuMs: number;
  readonly rssMb: number;
}

export class PathsDaemon {
  readonly state: string;
  private readonly ini: string;

  private constructor(
    dir: string,
    private readonly config: string,
    private readonly watch: string,
    readonly process: DaemonProcess,
  ) {
    this.state = join(dir, 'state');
    this.ini = join(dir, 'hgreload.ini');
  }

  /**
   * Starts the daemon for hgweb.config `config` with settings in `dir`
   * (`watch`: a [watch] section, or ''); resolves at its `ready` line with
   * the wall time from the spawn and what it used by then.
   */
  static async start(dir: string, config: string, watch: string, readyTimeoutMs: number): Promise<{ daemon: PathsDaemon; ready: LogLine; readyMs: number; use: Use }> {
    writeFileSync(join(dir, 'hgreload.ini'), settings(config, SCHEDULE_OFF, watch));
    const t0 = performance.now();
    const process = new DaemonProcess(['--log-level', 'debug', '-c', join(dir, 'hgreload.ini')], { env: { NODE_OPTIONS: unitNodeOptions() } });
    const daemon = new PathsDaemon(dir, config, watch, process);
    try {
      const ready = await process.waitFor((l) => l.msg === 'ready', 'ready', { timeoutMs: readyTimeoutMs });
      const readyMs = performance.now() - t0;
      return { daemon, ready, readyMs, use: daemon.use() };
    } catch (err) {
      await process.stop();
      throw err;
    }
  }

  get pid(): number {
    return this.process.pid;
  }

  use(): Use {
    return { cpuMs: cpuMs(this.pid), rssMb: rssMb(this.pid) };
  }

  /** Its CPU once quiet (nothing left of the last change, its second look included). */
  quiet(): Promise<number> {
    return quietCpuMs(this.pid, QUIET_MS, CHANGE_TIMEOUT_MS);
  }

  /** Makes a change with `make`, then times it until `name` is published (the time from `make`'s return); with the reload's log line. */
  async change(name: string, make: () => void): Promise<{ ms: number; line: LogLine }> {
    const from = this.process.mark;
    make();
    const t0 = performance.now();
    const line = await this.published(name, from);
    const ms = performance.now() - t0;
    this.expectPublished(name);
    return { ms, line };
  }

  /** The reload line (from log index `from` on) that names `name` as added. */
  published(name: string, from: number): Promise<LogLine> {
    return this.process.waitFor((l) => isReload(l) && (l.added as string[] | undefined)?.includes(name) === true, `the reload that publishes ${name}`, {
      from,
      timeoutMs: CHANGE_TIMEOUT_MS,
    });
  }

  /** The list a WSGI process would take holds `name`: the daemon's log line alone does not prove it. */
  expectPublished(name: string): void {
    if (!publishedNames(this.state).includes(name)) throw new Error(`the daemon logged ${name} as published, but ${this.state} does not hold it`);
  }

  /**
   * Why the daemon walked every root, from log index `from` on, for
   * something outside the bench: it reads the host's whole mount table, and
   * a mount anywhere (another user's tests mount FUSE and tmpfs) makes it
   * walk. A sample that met one times that walk, not its own path.
   */
  disturbance(from: number): string | undefined {
    return this.process.lines
      .slice(from)
      .flatMap(reasonsOf)
      .find((r) => r.startsWith('file systems mounted or unmounted'));
  }

  /** The list published, as a WSGI process would take it. */
  publishedList(): ServedRepo[] {
    return readPublished(this.state);
  }

  /** The number of repositories published, as a WSGI process would take them. */
  publishedCount(): number {
    return publishedNames(this.state).length;
  }

  /**
   * `hgreload touch` through the CLI; returns once the daemon answered (its
   * rescan starts at once), having checked that it went to the daemon: with
   * no daemon the command reloads by itself.
   */
  touch(): void {
    const r = runCli(['-c', this.ini, 'touch']);
    if (r.status !== 0 || !r.stdout.includes('queued in the running daemon')) {
      throw new Error(`hgreload touch did not go to the daemon: exit status ${r.status}\n${r.stdout}${r.stderr}`);
    }
  }

  /** Writes the WSGI script `hgreload wsgi` prints for these settings to `file`. */
  writeWsgiScript(file: string): void {
    const r = runCli(['-c', this.ini, 'wsgi']);
    if (r.status !== 0) throw new Error(`hgreload wsgi failed: exit status ${r.status}\n${r.stderr}`);
    writeFileSync(file, r.stdout);
  }

  /**
   * Sets `[rescan] schedule` to fire once, at `moment` (whole seconds, local
   * time, as node-cron reads its six fields), and has the daemon read it
   * (SIGHUP, which also walks every root once).
   */
  scheduleAt(moment: Date): void {
    const expression = `${moment.getSeconds()} ${moment.getMinutes()} ${moment.getHours()} * * *`;
    writeFileSync(this.ini, settings(this.config, expression, this.watch));
    this.process.signal('SIGHUP');
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}

/** Node's options as the systemd unit gives them to the daemon (its Environment=NODE_OPTIONS=), so that the bench measures the daemon as it runs there. */
function unitNodeOptions(): string | undefined {
  const unit = readUnit(join(PROJECT_ROOT, 'systemd/hgreload.service'));
  const set = unitList(unit, 'Service', 'Environment').find((e) => e.startsWith('NODE_OPTIONS='));
  return set?.slice('NODE_OPTIONS='.length);
}

function settings(config: string, schedule: string, watch: string): string {
  return `webconf = ${config}\n[reload]\nmethod = publish\nstate = state\ndebounce = ${DEBOUNCE_MS}\n[rescan]\nschedule = ${schedule}\n${watch}`;
}

/** When a log line was written (pino's ISO time, in ms since the epoch). */
export const loggedAt = (line: LogLine): number => Date.parse(line.time as string);

/** The reasons a cycle's log line gives. */
export const reasonsOf = (line: LogLine): string[] => (line.reasons as string[] | undefined) ?? [];
