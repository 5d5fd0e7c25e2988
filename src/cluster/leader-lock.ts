/**
 * Leadership among the daemons of one database: what must be done once for
 * every host (hooks into new repositories on the shared store, pruning the
 * events) is done by the holder of a session-level advisory lock.
 *
 * A standby waits for the lock in a query of its own session; the server
 * grants it the moment the leader's session ends: its process died (the
 * socket closes), or it stayed silent past the lease, which the leader's own
 * session enforces with `idle_session_timeout` (and, inside a transaction,
 * `idle_in_transaction_session_timeout`) while it proves itself alive every
 * lease / 3. A leader that was paused (a stopped VM, a long pause) therefore
 * finds its session ended when it runs again.
 *
 * Each new leader takes the next epoch from the leadership row. Work done as
 * the leader runs in a transaction that first checks that epoch against the
 * row (a fencing token): a paused ex-leader's work is rejected, not applied,
 * even if it reconnected meanwhile. Work outside the database (writing hooks)
 * is checked the same way right before it starts.
 */
import type { ClientBase, ClientConfig } from 'pg';
import type { Timers } from '../daemon/coalescer.js';
import type { Logger } from '../daemon/logger.js';
import { openSession, cut, type Session } from './session.js';

const LOCK = "hashtextextended('hgreload.leader', 0)";
/** Reconnect delays after a lost or refused session, growing to the last. */
export const RETRY_MS = [250, 500, 1000, 2000, 5000] as const;

export interface LeaderLockOptions {
  readonly config: ClientConfig;
  readonly name: string;
  readonly leaseMs: number;
  readonly timers: Timers;
  readonly log: Logger;
  /** This daemon became the leader (with `epoch`), or stopped being it (epoch null). */
  readonly onChange: (epoch: number | null) => void;
}

export class LeaderLock {
  private session: Session | undefined;
  private epochHeld: number | null = null;
  private timer: unknown;
  private failures = 0;
  private closed = false;
  /** Work as the leader, one at a time: each is a transaction on the one session. */
  private work: Promise<unknown> = Promise.resolve();
  /** Stops a connection attempt under way when the daemon stops. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: LeaderLockOptions) {}

  /** The epoch this daemon leads with; null while it does not lead. */
  get epoch(): number | null {
    return this.epochHeld;
  }

  /** Connects and waits for the lock in the background (a standby waits there until the leader goes). */
  start(): void {
    void this.run();
  }

  /**
   * Runs `work` as the leader, in a transaction that first checks this
   * daemon's epoch: undefined (nothing done) when it does not lead, or no
   * longer does. `what` names the work for the log.
   */
  fenced<T>(what: string, work: (client: ClientBase) => Promise<T>): Promise<T | undefined> {
    const run = this.work.then(() => this.inTransaction(what, work));
    this.work = run.catch(() => undefined);
    return run;
  }

  /** Whether this daemon still leads, checked in the database now: asked right before work outside it. */
  stillLeading(what: string): Promise<boolean> {
    return this.fenced(what, async () => true).then((done) => done === true);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.work;
    // Ending the session gives the lock up: a standby takes over at once.
    await this.session?.end();
    this.session = undefined;
    this.epochHeld = null;
  }

  private async inTransaction<T>(what: string, work: (client: ClientBase) => Promise<T>): Promise<T | undefined> {
    const { session, epochHeld: epoch } = this;
    if (session === undefined || session.lost || epoch === null) return undefined;
    const { client } = session;
    try {
      await client.query('BEGIN');
      const { rowCount } = await client.query('SELECT 1 FROM hgreload.leadership WHERE epoch = $1 FOR SHARE', [epoch]);
      if (rowCount === 0) {
        await client.query('ROLLBACK');
        this.fence(what, `epoch ${epoch} is no longer the leadership's`);
        return undefined;
      }
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (session.lost) {
        this.fence(what, `its session ended (${(err as Error).message})`);
        return undefined;
      }
      throw err;
    }
  }

  private fence(what: string, why: string): void {
    this.options.log.warn({ what, epoch: this.epochHeld }, `cluster: fenced: ${what} not done: ${why}; this daemon no longer leads`);
    this.lost();
  }

  private async run(): Promise<void> {
    if (this.closed) return;
    const opened: { session?: Session } = {};
    try {
      const session = (opened.session = await openSession(this.options.config, (err) => this.onLost(opened.session, err), this.stopping.signal));
      this.session = session;
      const lease = `${this.options.leaseMs}ms`;
      // A leader that stops answering (paused, cut off) has its session ended by the server after the lease.
      await session.client.query(`SET idle_session_timeout = '${lease}'`);
      await session.client.query(`SET idle_in_transaction_session_timeout = '${lease}'`);
      await session.client.query(`SELECT pg_advisory_lock(${LOCK})`);
      const { rows } = await session.client.query<{ epoch: string }>(
        'UPDATE hgreload.leadership SET epoch = epoch + 1, holder = $1, since = now() RETURNING epoch',
        [this.options.name],
      );
      this.failures = 0;
      if (this.closed) return;
      this.epochHeld = Number(rows[0]!.epoch);
      this.options.log.info({ epoch: this.epochHeld }, `cluster: leading (epoch ${this.epochHeld})`);
      this.options.onChange(this.epochHeld);
      this.beat(session);
    } catch (err) {
      if (this.closed) return;
      if (this.session !== undefined && !this.session.lost) await this.session.end();
      this.session = undefined;
      this.retry(err as Error);
    }
  }

  /** Proves the leader alive to its session every lease / 3, and checks its epoch is still the row's. */
  private beat(session: Session): void {
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined;
      if (this.closed || session !== this.session) return;
      void this.fenced('the leader\'s heartbeat', async () => true).then((ok) => {
        if (ok === true && session === this.session) this.beat(session);
      }, (err: unknown) => {
        this.options.log.warn({ err }, `cluster: the leader's heartbeat failed: ${(err as Error).message}`);
        cut(session);
      });
    }, Math.max(100, Math.floor(this.options.leaseMs / 3)));
  }

  private onLost(session: Session | undefined, err: Error | undefined): void {
    if (session === undefined || session !== this.session) return;
    if (this.epochHeld !== null) this.options.log.warn({ err, epoch: this.epochHeld }, `cluster: no longer leading: the session holding the lock ended${err ? ` (${err.message})` : ''}`);
    this.lost();
  }

  /** Steps down (if leading), ends the session and waits for the lock again. */
  private lost(): void {
    const was = this.epochHeld;
    this.epochHeld = null;
    const session = this.session;
    this.session = undefined;
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    if (was !== null) this.options.onChange(null);
    void session?.end();
    if (!this.closed) this.retry(undefined);
  }

  private retry(err: Error | undefined): void {
    if (this.closed || this.timer !== undefined) return;
    const delay = RETRY_MS[Math.min(this.failures++, RETRY_MS.length - 1)]!;
    if (err !== undefined) this.options.log.debug({ err, retryMs: delay }, `cluster: leadership session failed: ${err.message}`);
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delay);
  }
}
