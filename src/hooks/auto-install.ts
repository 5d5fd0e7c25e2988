/**
 * `[hooks] auto`: every served repository ends up hooked, whatever happens
 * around it.
 *
 * - `hg clone` makes `.hg` first and writes `.hg/hgrc` when it finishes: a hook
 *   added meanwhile is overwritten. So a new repository that is still locked
 *   (Mercurial's `wlock` or `store/lock`: a clone at work) waits until it is
 *   not, and every new repository is checked once more SETTLE_MS after its
 *   hook went in (a pull-based clone writes hgrc just after it unlocks).
 * - Another `install-hooks` holding the lock makes this install wait and try
 *   again RETRY_MS later, not give up.
 * - `everything()` (the scheduled rescan, `hgreload touch`) checks every served
 *   repository: whatever the above missed is mended then at the latest.
 *
 * Checking costs a read of each hgrc; a repository already hooked is left as it is.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../daemon/logger.js';
import type { Timers } from '../daemon/coalescer.js';
import { HgreloadError } from '../errors.js';
import type { RepoReport } from './repo-hgrc.js';

/** How long after its hook went in a new repository is checked again. */
export const SETTLE_MS = 5000;
/** How often locked repositories, or a busy install lock, are tried again. */
export const RETRY_MS = 2000;
/** A lock older than this is taken for one a crashed hg left behind: the hook goes in anyway. */
export const MAX_BUSY_MS = 10 * 60 * 1000;

export interface AutoHooksDeps {
  readonly install: (repos: readonly string[]) => Promise<RepoReport[]>;
  readonly log: Logger;
  readonly timers: Timers;
  /** Whether Mercurial is at work in the repository (a clone that will rewrite hgrc). */
  readonly busy?: (repo: string) => boolean;
}

export class AutoHooks {
  /** Repository -> the time from which it is to be checked (again). */
  private readonly due = new Map<string, number>();
  /** Repositories whose next check follows an install: a hook found gone then was overwritten. */
  private readonly settling = new Set<string>();
  /** Repository -> when it was first found locked. */
  private readonly lockedSince = new Map<string, number>();
  private timer: unknown;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly busy: (repo: string) => boolean;

  constructor(private readonly deps: AutoHooksDeps) {
    this.busy = deps.busy ?? mercurialAtWork;
  }

  /** New repositories: hooked now, or once the clone making them has finished. */
  arrived(repos: readonly string[]): Promise<void> {
    const now = this.deps.timers.now();
    for (const repo of repos) this.due.set(repo, now);
    return this.run();
  }

  /** Every served repository, checked now. */
  everything(repos: readonly string[]): Promise<void> {
    return this.arrived(repos);
  }

  /** Repositories still waiting (locked, settling, or behind a busy lock). */
  get waiting(): number {
    return this.due.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private run(): Promise<void> {
    // One pass at a time; a pass started while one runs picks up what was added.
    this.running = (this.running ?? Promise.resolve()).then(() => this.pass());
    return this.running;
  }

  private async pass(): Promise<void> {
    if (this.closed) return;
    const now = this.deps.timers.now();
    const ready = [...this.due].filter(([repo, at]) => at <= now && !this.stillLocked(repo, now)).map(([repo]) => repo);
    if (ready.length > 0) {
      let reports: RepoReport[];
      try {
        reports = await this.deps.install(ready);
      } catch (err) {
        // Another install-hooks holds the lock: try again shortly, never give up.
        const busy = err instanceof HgreloadError && err.code === 'busy';
        this.deps.log[busy ? 'info' : 'warn']({ err, repositories: ready.length }, `hooks not installed now (${(err as Error).message}); trying again in ${RETRY_MS} ms`);
        for (const repo of ready) this.due.set(repo, now + RETRY_MS);
        return this.schedule();
      }
      for (const r of reports) this.report(r, now);
      for (const repo of ready) if (!reports.some((r) => r.repo === repo)) this.finish(repo); // the same repository under two names
    }
    this.schedule();
  }

  private report(r: RepoReport, now: number): void {
    const settling = this.settling.has(r.repo);
    if (r.outcome === 'added' || r.outcome === 'updated') {
      this.deps.log.info({ repo: r.repo, outcome: r.outcome }, settling ? `hook added again (something rewrote ${r.hgrc}, as hg clone does when it finishes)` : `hook ${r.outcome}: ${r.hgrc}`);
    } else if (r.outcome === 'failed') {
      this.deps.log.error({ repo: r.repo }, `hook not installed: ${r.reason}`);
    } else if (r.outcome === 'skipped') {
      this.deps.log.warn({ repo: r.repo }, `hook not installed: ${r.reason}`);
    }
    if ((r.outcome === 'added' || r.outcome === 'updated') && !settling) {
      this.settling.add(r.repo);
      this.due.set(r.repo, now + SETTLE_MS);
    } else {
      this.finish(r.repo);
    }
  }

  private stillLocked(repo: string, now: number): boolean {
    if (!this.busy(repo)) return false;
    const since = this.lockedSince.get(repo) ?? now;
    this.lockedSince.set(repo, since);
    return now - since < MAX_BUSY_MS;
  }

  private finish(repo: string): void {
    this.due.delete(repo);
    this.settling.delete(repo);
    this.lockedSince.delete(repo);
  }

  private schedule(): void {
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.due.size === 0) return;
    // Not Math.min(...values): a first start's million repositories would overflow the call stack.
    let next = Infinity;
    for (const at of this.due.values()) next = Math.min(next, at);
    const wait = Math.max(RETRY_MS, next - this.deps.timers.now());
    this.timer = this.deps.timers.setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, wait);
  }
}

/** Mercurial's locks exist only while it works (symlinks naming host:pid, which lstat sees). */
function mercurialAtWork(repo: string): boolean {
  return ['wlock', 'store/lock'].some((lock) => {
    try {
      lstatSync(join(repo, '.hg', lock));
      return true;
    } catch {
      return false;
    }
  });
}
