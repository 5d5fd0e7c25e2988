/**
 * Knowing, not guessing, that the kernel dropped events.
 *
 * The kernel queues at most fs.inotify.max_queued_events unread events per
 * inotify instance, then drops the rest and queues one IN_Q_OVERFLOW record,
 * which Node's fs.watch (libuv) throws away without a word. But libuv reads
 * that queue until it is empty within one turn of the event loop, handing
 * every event to its watcher there and then; and Node's fs.watch watchers all
 * share one inotify instance. So the events handed over within one turn, of
 * every kind (a file's content or attributes changed too: they fill the same
 * queue), tell how full the queue was: a turn that brings a whole queue's worth
 * means the queue filled, and events may have been lost.
 */
import { inotifyLimit } from './inotify-limits.js';

/** The kernel's default, where /proc cannot be read. */
const DEFAULT_QUEUE = 16_384;

export class QueueOverflow {
  private inTurn = 0;
  private told = false;
  private readonly limit: number;

  /**
   * @param onOverflow told once per turn in which the queue may have overflowed
   * @param queue the kernel's queue length (fs.inotify.max_queued_events)
   */
  constructor(
    private readonly onOverflow: () => void,
    queue = inotifyLimit('max_queued_events') ?? DEFAULT_QUEUE,
  ) {
    // The overflow record takes the queue's last place.
    this.limit = Math.max(1, queue - 1);
  }

  /** One event handed over by the kernel, whatever its kind. */
  event(): void {
    if (this.inTurn === 0) setImmediate(() => this.endTurn());
    this.inTurn++;
    if (this.inTurn >= this.limit && !this.told) {
      this.told = true;
      this.onOverflow();
    }
  }

  private endTurn(): void {
    this.inTurn = 0;
    this.told = false;
  }
}
