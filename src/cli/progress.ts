/**
 * A long command's progress on stderr: on a terminal one line rewritten in
 * place (counts, rate, time left), at most five times a second; elsewhere (a
 * log, a pipe) a plain line every few seconds, so that a log shows it is
 * alive without a line per item.
 */
const TERMINAL_EVERY_MS = 200;
const PLAIN_EVERY_MS = 5000;

export interface ProgressOptions {
  /** What is counted, for the line ("repositories"). */
  readonly what: string;
  readonly total: number;
  readonly write: (text: string) => void;
  readonly terminal: boolean;
  readonly now?: () => number;
}

export class Progress {
  private readonly started: number;
  private last: number;
  private done = 0;
  private shown = false;
  private readonly now: () => number;

  constructor(private readonly options: ProgressOptions) {
    this.now = options.now ?? Date.now;
    this.started = this.last = this.now();
  }

  /** One more done; shows the line when it is time. */
  step(): void {
    this.done++;
    const now = this.now();
    if (now - this.last < (this.options.terminal ? TERMINAL_EVERY_MS : PLAIN_EVERY_MS) || this.done === this.options.total) return;
    this.last = now;
    this.show(now);
  }

  /** Takes the line away on a terminal; returns "N in S s (R/s)" for a summary. */
  finish(): string {
    if (this.shown && this.options.terminal) this.options.write('\r\x1b[K');
    const seconds = (this.now() - this.started) / 1000;
    return `${this.done} ${this.options.what} in ${seconds.toFixed(1)} s${seconds > 0 ? ` (${Math.round(this.done / seconds)}/s)` : ''}`;
  }

  private show(now: number): void {
    const { total, what, terminal } = this.options;
    const rate = this.done / Math.max((now - this.started) / 1000, 0.001);
    const left = rate > 0 ? Math.ceil((total - this.done) / rate) : undefined;
    const text = `${this.done} of ${total} ${what}, ${Math.round(rate)}/s${left === undefined ? '' : `, about ${left} s left`}`;
    this.shown = true;
    this.options.write(terminal ? `\r\x1b[K${text}` : `${text}\n`);
  }
}
