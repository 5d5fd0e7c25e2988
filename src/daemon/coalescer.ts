/**
 * Turns a stream of "something changed" into few reloads: one reload after
 * `quietMs` without changes, and no later than `maxWaitMs` after the first
 * change of a burst that never goes quiet. With `leading`, the first change
 * after a quiet period (no cycle for `quietMs`) runs a cycle at once, and the
 * rest of its burst waits as above: a lone change does not pay the quiet
 * period, a burst makes one or two cycles. A cycle that says it did nothing a
 * burst should wait behind (it only started work that runs beside the cycles,
 * say) does not end a quiet period. Reloads never overlap: changes that
 * arrive while one runs make exactly one more afterwards. A failed reload is
 * reported and waits for the next change (a retry loop would hammer a broken
 * server).
 */

export interface Timers {
  readonly setTimeout: (fn: () => void, ms: number) => unknown;
  readonly clearTimeout: (handle: unknown) => void;
  readonly now: () => number;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => Date.now(),
};

export interface CoalescerOptions {
  readonly quietMs: number;
  readonly maxWaitMs: number;
  readonly timers?: Timers;
  /** Run the first change after a quiet period at once (see above). */
  readonly leading?: boolean;
  /** Called with the error of a failed reload; the coalescer carries on. */
  readonly onError: (err: unknown) => void;
}

export class Coalescer {
  private readonly timers: Timers;
  private timer: unknown;
  private burstStart: number | undefined;
  /** When the first change that the next cycle answers came (during a running cycle too): for the latency metric only. */
  private firstChange: number | undefined;
  private running: Promise<void> | undefined;
  private dirtyWhileRunning = false;
  /** A cycle is due at once for the first change after a quiet period: later changes do not push it back. */
  private leadingDue = false;
  /** When the last cycle ended (timers.now()). */
  private lastEnd: number | undefined;
  private closed = false;
  private timing: { quietMs: number; maxWaitMs: number };

  constructor(
    /**
     * Gets the time (timers.now()) of the first change it answers; undefined when none asked for it (runNow alone).
     * Resolves false when it did nothing the next change should wait a quiet period behind.
     */
    private readonly reload: (firstChange: number | undefined) => Promise<boolean | void>,
    private readonly options: CoalescerOptions,
  ) {
    this.timers = options.timers ?? realTimers;
    this.timing = { quietMs: options.quietMs, maxWaitMs: options.maxWaitMs };
  }

  /**
   * New quiet period and longest wait (new settings), for the next burst. The
   * same coalescer goes on, so a cycle running now is never joined by a second.
   */
  retime(quietMs: number, maxWaitMs: number): void {
    this.timing = { quietMs, maxWaitMs };
  }

  /** Something changed: (re)start the quiet period. */
  notify(): void {
    if (this.closed) return;
    const now = this.timers.now();
    this.firstChange ??= now;
    if (this.running !== undefined) {
      this.dirtyWhileRunning = true;
      return;
    }
    if (this.leadingDue) return;
    const quiet = this.burstStart === undefined && (this.lastEnd === undefined || now - this.lastEnd >= this.timing.quietMs);
    this.burstStart ??= now;
    this.leadingDue = this.options.leading === true && quiet;
    // At once still goes through a timer: changes reported in the same turn (one read of the
    // kernel's events) join this cycle.
    const deadline = this.leadingDue ? now : Math.min(now + this.timing.quietMs, this.burstStart + this.timing.maxWaitMs);
    this.clearTimer();
    this.timer = this.timers.setTimeout(() => void this.fire(), Math.max(0, deadline - now));
  }

  /** Runs a cycle now, without the quiet period, after the one running (if any); resolves when it is done. */
  async runNow(): Promise<void> {
    while (this.running !== undefined) await this.running;
    if (this.closed) return;
    this.clearTimer();
    await this.fire();
  }

  /** Whether a reload is waiting for quiet or running. */
  get pending(): boolean {
    return this.timer !== undefined || this.running !== undefined;
  }

  /** Stops scheduling; resolves when a running reload has finished. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    await this.running;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    this.leadingDue = false;
    this.burstStart = undefined;
    const firstChange = this.firstChange;
    this.firstChange = undefined;
    let acted = true as boolean | void;
    this.running = this.reload(firstChange).then(
      (result) => void (acted = result),
      (err: unknown) => this.options.onError(err),
    );
    await this.running;
    this.running = undefined;
    if (acted !== false) this.lastEnd = this.timers.now();
    if (this.dirtyWhileRunning) {
      this.dirtyWhileRunning = false;
      this.notify();
    }
  }
}
