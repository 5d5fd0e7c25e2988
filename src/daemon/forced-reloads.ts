/**
 * Forced reloads (`hgreload touch`, whoever may use the control socket, so
 * also any CGI the web server's user runs) are spaced at least INTERVAL_MS
 * apart: with `touch`, `signal` or `command` each one restarts hgweb's
 * processes and cuts clones and pulls in the middle, and a loop of requests
 * must not turn that into a restart loop. A request within the interval is
 * not lost: it is carried out when the interval ends, once for all of them.
 */
import type { Timers } from './coalescer.js';

export const FORCED_RELOAD_INTERVAL_MS = 10_000;

export class ForcedReloads {
  private last = Number.NEGATIVE_INFINITY;
  private timer: unknown;

  constructor(
    private readonly timers: Timers,
    /** Called when a forced reload refused earlier may happen. */
    private readonly wake: () => void,
    private readonly intervalMs = FORCED_RELOAD_INTERVAL_MS,
  ) {}

  /** Whether a forced reload may happen now (it is then counted); if not, `wake` follows when it may. */
  take(): boolean {
    const now = this.timers.now();
    if (now - this.last >= this.intervalMs) {
      this.last = now;
      return true;
    }
    this.timer ??= this.timers.setTimeout(() => {
      this.timer = undefined;
      this.wake();
    }, this.last + this.intervalMs - now);
    return false;
  }

  /** A reload happened anyway (the list changed): it counts as the forced one. */
  reloaded(): void {
    this.last = this.timers.now();
  }

  close(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
