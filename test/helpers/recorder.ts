/**
 * What arrives one at a time (a daemon's log lines, a watcher's events), kept
 * in order, with a wait for the first that matches. The wait has a bounded
 * timeout: tests wait for what they expect, never for a fixed time.
 */
export class Recorder<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<() => void>();

  /** @param describe what a timeout reports beside what was awaited: by default every item so far */
  constructor(private readonly describe: () => string = () => `got:\n${this.items.map((i) => JSON.stringify(i)).join('\n')}`) {}

  /** Records an item; an arrow so that it can be handed over as a callback. */
  readonly push = (item: T): void => {
    this.items.push(item);
    for (const wake of this.waiters) wake();
  };

  /** The index the next item will have: pass it as `from` to wait only for what comes after. */
  get mark(): number {
    return this.items.length;
  }

  /**
   * Resolves with the first item (from index `from` on) that matches; rejects
   * after `timeoutMs`, or as soon as `hopeless` resolves (with why: the
   * process that would have said it is gone, say).
   */
  waitFor(match: (item: T) => boolean, what: string, { from = 0, timeoutMs = 15_000, hopeless }: { from?: number; timeoutMs?: number; hopeless?: Promise<string> } = {}): Promise<T> {
    return new Promise((resolve, reject) => {
      const stop = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = (): void => {
        const found = this.items.slice(from).find(match);
        if (found === undefined) return;
        stop();
        resolve(found);
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`timed out waiting for ${what}; ${this.describe()}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
      void hopeless?.then((why) => {
        if (!this.waiters.has(check)) return;
        // What arrived with the end still counts.
        check();
        if (!this.waiters.has(check)) return;
        stop();
        reject(new Error(`${why} before ${what}; ${this.describe()}`));
      });
    });
  }
}
