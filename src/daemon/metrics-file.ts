/**
 * Keeps the metrics file that node_exporter's textfile collector reads: the
 * daemon's unit has no network (PrivateNetwork=yes), so nothing can scrape it.
 *
 * Each write replaces the file atomically (a temp file in the same folder,
 * renamed over it), so the collector never reads half a file; the temp file's
 * name does not end in `.prom`, so the collector never reads it either. A write
 * follows soon after each request (a cycle, a reload, an error), but never
 * within a second of the last one however often it is asked for, and one comes
 * every minute regardless: the file's mtime (node_textfile_mtime_seconds) then
 * tells a live daemon from a stuck one. Writes never overlap. A write that fails
 * is logged once (warn) until one succeeds again; the daemon goes on without it.
 */
import { rm } from 'node:fs/promises';
import { errnoCode, strerror } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Timers } from './coalescer.js';
import type { Logger } from './logger.js';

/** No two writes closer than this. */
export const MIN_INTERVAL_MS = 1000;
/** A write at least this often, asked for or not. */
export const REFRESH_MS = 60_000;

export interface MetricsFileOptions {
  readonly file: string | undefined;
  /** The file's text; `up` false for the last one, written on close. */
  readonly render: (up: boolean) => Promise<string>;
  readonly timers: Timers;
  readonly log: Logger;
  readonly write?: (path: string, text: string) => Promise<void>;
  readonly remove?: (path: string) => Promise<void>;
  readonly minIntervalMs?: number;
  readonly refreshMs?: number;
}

// node_exporter runs as its own user (`prometheus` on Debian): the file must be readable by
// others, whatever the unit's UMask=0077 would make of it.
const writeReadable = (path: string, text: string): Promise<void> => writeFileAtomic(path, text, { mode: 0o644 });

export class MetricsFile {
  private file: string | undefined;
  private timer: unknown;
  /** Something changed since the last write. */
  private dirty = false;
  private writing = false;
  private lastWrite = -Infinity;
  private failing = false;
  /** Every write and removal, one after another. */
  private queue: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private readonly minIntervalMs: number;
  private readonly refreshMs: number;

  constructor(private readonly options: MetricsFileOptions) {
    this.file = options.file;
    this.minIntervalMs = options.minIntervalMs ?? MIN_INTERVAL_MS;
    this.refreshMs = options.refreshMs ?? REFRESH_MS;
  }

  /** The figures changed: write them soon (now, if the last write is a second old). */
  update(): void {
    if (this.file === undefined || this.closing !== undefined) return;
    this.dirty = true;
    this.schedule();
  }

  /**
   * Writes to `file` from now on (new settings). The old file is removed, not
   * marked down: this daemon still runs, it only reports elsewhere.
   */
  async setFile(file: string | undefined): Promise<void> {
    if (file === this.file || this.closing !== undefined) return;
    const old = this.file;
    this.file = file;
    this.failing = false;
    this.clearTimer();
    if (old !== undefined) await this.enqueue(() => this.removeFile(old));
    this.update();
  }

  /**
   * Idempotent: the last file, with `hgreload_up 0`. Written rather than
   * removed: node_exporter serves whatever file is there, so a removed file
   * reads the same as a daemon never set up to write one, and an alert on
   * `absent()` cannot tell them apart; `up 0` says that this daemon stopped,
   * and when, beside its last figures.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.clearTimer();
      const file = this.file;
      if (file !== undefined) await this.enqueue(() => this.writeFile(file, false));
      else await this.queue;
    })();
    return this.closing;
  }

  private schedule(): void {
    if (this.file === undefined || this.closing !== undefined || this.writing) return; // the write running schedules the next
    this.clearTimer();
    const wait = Math.max(0, this.lastWrite + (this.dirty ? this.minIntervalMs : this.refreshMs) - this.options.timers.now());
    this.timer = this.options.timers.setTimeout(() => this.flush(), wait);
    // Housekeeping: this timer alone must not keep the process alive.
    (this.timer as { unref?: () => void } | undefined)?.unref?.();
  }

  private flush(): void {
    this.timer = undefined;
    const file = this.file;
    if (file === undefined || this.closing !== undefined) return;
    this.dirty = false;
    this.writing = true;
    void this.enqueue(() => this.writeFile(file, true)).then(() => {
      this.writing = false;
      this.lastWrite = this.options.timers.now();
      this.schedule();
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step);
    return this.queue;
  }

  /** Never rejects: a failure is logged (once while it lasts). */
  private async writeFile(file: string, up: boolean): Promise<void> {
    try {
      await (this.options.write ?? writeReadable)(file, await this.options.render(up));
    } catch (err) {
      if (!this.failing) {
        this.options.log.warn(
          { err, file },
          `cannot write the metrics file ${file} (${strerror(err)}); the daemon goes on without it. ` +
            "The daemon's user needs write access to its folder, and under the unit a drop-in with ReadWritePaths= for it",
        );
      }
      this.failing = true;
      return;
    }
    if (this.failing) this.options.log.info({ file }, `metrics file ${file} written again`);
    this.failing = false;
  }

  private async removeFile(file: string): Promise<void> {
    try {
      await (this.options.remove ?? ((path: string) => rm(path)))(file);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.options.log.warn({ err, file }, `cannot remove the old metrics file ${file} (${strerror(err)})`);
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
