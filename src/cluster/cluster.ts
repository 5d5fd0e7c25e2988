/**
 * This daemon's part in a cluster of daemons sharing one PostgreSQL: it
 * writes the changes its host saw as events, hears the others' (LISTEN, then
 * a read of every event after the last one applied), and takes part in the
 * leadership (LeaderLock).
 *
 * The database is never in the serving path. While it cannot be reached the
 * daemon says so (mode `polling`: its owner polls the shared store as it
 * would without a database) and reconnects, with growing delays; back, it
 * reads what it missed from the number it had reached, and its owner walks
 * every root once, for what no event told (changes made while events could
 * not be written).
 *
 * LISTEN connections can die without a sign (a half-open socket): a
 * heartbeat every lease / 3 that gets no answer within the lease cuts the
 * connection. Each heartbeat also reads the events after the last applied, so
 * a notification lost with a connection delays nothing longer than that.
 */
import type { ClientBase, ClientConfig } from 'pg';
import type { Timers } from '../daemon/coalescer.js';
import type { Logger } from '../daemon/logger.js';
import { appendEvents, CHANNEL, eventsAfter, heartbeat, lastEvent, prune, sameHook, type ClusterEvent, type NewEvent } from './event-log.js';
import { LeaderLock, RETRY_MS } from './leader-lock.js';
import { migrate } from './schema.js';
import { cut, openSession, type Session } from './session.js';
import { append } from '../util/append.js';

/** Events read at once; more are read in further rounds. */
const BATCH = 1000;
/** How often the leader prunes the events every daemon has applied. */
const PRUNE_EVERY_MS = 60_000;
/** How long the start waits for the database before it goes on without it. */
const START_WAIT_MS = 2000;
/** A connection attempt's limit when the setting names none (libpq's default is none at all). */
const CONNECT_TIMEOUT_MS = 10_000;
/** A daemon not heard of for this long walks every root when it is back: its events can go. */
const PRUNE_AFTER_MS = 10 * 60_000;

/** `connecting`: before the first attempt ended; `polling`: the database cannot be reached. */
export type ClusterMode = 'connecting' | 'database' | 'polling';

export interface ClusterOptions {
  readonly config: ClientConfig;
  readonly name: string;
  readonly leaseMs: number;
  /** The hook line this daemon writes into repositories (compared with the other daemons'). */
  readonly hook: string;
  readonly timers: Timers;
  readonly log: Logger;
  /** Events other daemons wrote, in order. */
  readonly onEvents: (events: readonly ClusterEvent[]) => void;
  /** The mode changed; `back`: the database is reachable again after it was lost (walk every root). */
  readonly onMode: (mode: ClusterMode, back: boolean) => void;
  /** This daemon became the leader, or stopped being it. */
  readonly onLeading: (leading: boolean) => void;
}

export interface ClusterStatus {
  readonly name: string;
  readonly mode: ClusterMode;
  readonly leading: boolean;
  /** The epoch this daemon leads with. */
  readonly epoch: number | null;
  /** The leader's name, as last read. */
  readonly leader: string | null;
  /** The last event applied. */
  readonly lastSeq: number;
  /** Events written and heard since the start. */
  readonly sent: number;
  readonly received: number;
}

export class Cluster {
  private session: Session | undefined;
  private modeNow: ClusterMode = 'connecting';
  /** The last event applied; undefined until the first connection (events before it are what the first walk saw). */
  private lastSeq: number | undefined;
  private leader: string | null = null;
  private sent = 0;
  private received = 0;
  /** Numbers of the events this daemon wrote, skipped when read back. */
  private readonly mine = new Set<number>();
  private queue: NewEvent[] = [];
  private flushing: Promise<void> | undefined;
  private fetching: Promise<void> | undefined;
  private fetchAgain = false;
  private timer: unknown;
  private failures = 0;
  private lastPrune = 0;
  private closed = false;
  private readonly lock: LeaderLock;
  private readonly config: ClientConfig;
  /** Stops a connection attempt under way when the daemon stops. */
  private readonly stopping = new AbortController();
  private lockStarted = false;
  /** The start went on without the database: when it is reached, every root is walked once, as after an outage. */
  private startedAlone = false;

  constructor(private readonly options: ClusterOptions) {
    this.config = { ...options.config, connectionTimeoutMillis: options.config.connectionTimeoutMillis || CONNECT_TIMEOUT_MS };
    this.lock = new LeaderLock({
      config: { ...this.config, application_name: `hgreload ${options.name} (leadership)` },
      name: options.name,
      leaseMs: options.leaseMs,
      timers: options.timers,
      log: options.log,
      onChange: (epoch) => {
        if (epoch !== null) this.leader = options.name;
        options.onLeading(epoch !== null);
      },
    });
  }

  get mode(): ClusterMode {
    return this.modeNow;
  }

  get leading(): boolean {
    return this.lock.epoch !== null;
  }

  /**
   * Connects, waiting at most START_WAIT_MS: the start goes on without the
   * database (an unreachable host can take a connect timeout to say so), and
   * the attempts go on in the background.
   */
  async start(): Promise<void> {
    let timer: unknown;
    const waited = new Promise<void>((resolve) => (timer = this.options.timers.setTimeout(resolve, START_WAIT_MS)));
    await Promise.race([this.connect(), waited]);
    this.options.timers.clearTimeout(timer);
    if (this.modeNow === 'connecting') this.startedAlone = true;
  }

  /** Writes what this host saw; while the database is unreachable nothing is kept (every daemon walks on the way back). */
  send(events: readonly NewEvent[]): void {
    if (this.modeNow !== 'database' || events.length === 0) return;
    append(this.queue, events);
    this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
  }

  /** Runs `work` in the database as the leader, fenced by its epoch: undefined when this daemon does not lead (see LeaderLock). */
  fenced<T>(what: string, work: (client: ClientBase) => Promise<T>): Promise<T | undefined> {
    return this.lock.fenced(what, work);
  }

  /** Whether this daemon leads, checked in the database now (before work outside it). */
  stillLeading(what: string): Promise<boolean> {
    return this.lock.stillLeading(what);
  }

  status(): ClusterStatus {
    return {
      name: this.options.name,
      mode: this.modeNow,
      leading: this.leading,
      epoch: this.lock.epoch,
      leader: this.leader,
      lastSeq: this.lastSeq ?? 0,
      sent: this.sent,
      received: this.received,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.fetching;
    await this.lock.close();
    // Gone, not silent: its events need not wait for it (a new start begins from the newest anyway).
    await this.session?.client.query("UPDATE hgreload.daemons SET seen = '-infinity' WHERE name = $1", [this.options.name]).catch(() => undefined);
    await this.session?.end();
    this.session = undefined;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const opened: { session?: Session } = {};
    let leader: string | null;
    try {
      const config = { ...this.config, application_name: `hgreload ${this.options.name} (events)` };
      const session = (opened.session = await openSession(config, (err) => this.onLost(opened.session, err), this.stopping.signal));
      const migration = await migrate(session.client);
      if (migration.from !== migration.to) this.options.log.info(migration, `cluster: the schema "hgreload" brought from version ${migration.from} to ${migration.to}`);
      this.lastSeq ??= await lastEvent(session.client);
      ({ leader } = await heartbeat(session.client, this.options.name, this.lastSeq));
      // The daemons running now: each proves itself alive every lease / 3.
      const others = await sameHook(session.client, this.options.name, this.options.hook, 3 * this.options.leaseMs);
      if (others.length > 0) {
        this.options.log.warn(
          { hook: this.options.hook, others },
          `cluster: ${others.map((o) => o.name).join(', ')} write${others.length === 1 ? 's' : ''} another hook line than this daemon: the leader's goes into every repository, and a push through a host whose daemon is not where that line points tells no daemon there`,
        );
      }
      session.client.on('notification', () => this.fetch());
      await session.client.query(`LISTEN ${CHANNEL}`);
      if (this.closed) return void (await session.end());
      this.session = session;
    } catch (err) {
      await opened.session?.end();
      if (this.closed) return;
      return this.unreachable(err as Error);
    }
    const back = this.modeNow === 'polling' || this.startedAlone;
    this.startedAlone = false;
    this.failures = 0;
    this.modeNow = 'database';
    this.options.log.info(
      { lastSeq: this.lastSeq, leader: this.leader },
      back ? `cluster: database back: reading events after ${this.lastSeq}, and walking every root for what none told` : 'cluster: connected to PostgreSQL',
    );
    this.options.onMode('database', back);
    this.seeLeader(leader);
    if (!this.lockStarted) {
      this.lockStarted = true;
      this.lock.start();
    }
    this.fetch();
    this.beat(this.session);
  }

  private onLost(session: Session | undefined, err: Error | undefined): void {
    if (session === undefined || session !== this.session) return;
    this.session = undefined;
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.unreachable(err ?? new Error('the connection ended'));
  }

  /** Mode `polling` (said once per outage), and another attempt after a delay. */
  private unreachable(err: Error): void {
    if (this.closed) return;
    this.queue = [];
    if (this.modeNow !== 'polling') {
      this.modeNow = 'polling';
      this.options.log.warn({ err }, `cluster: database unreachable (${err.message}): falling back to polling the shared store, and trying again`);
      this.options.onMode('polling', false);
    }
    const delay = RETRY_MS[Math.min(this.failures++, RETRY_MS.length - 1)]!;
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, delay);
  }

  /** Every lease / 3: says this daemon is alive and how far it has applied, reads who leads and what it missed; prunes as the leader. */
  private beat(session: Session): void {
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined;
      if (this.closed || session !== this.session) return;
      const silent = this.options.timers.setTimeout(() => cut(session), this.options.leaseMs);
      void heartbeat(session.client, this.options.name, this.lastSeq!)
        .then(async (seen) => {
          this.seeLeader(seen.leader);
          const now = this.options.timers.now();
          if (this.leading && now - this.lastPrune >= PRUNE_EVERY_MS) {
            this.lastPrune = now;
            const pruned = await this.lock.fenced('pruning events', (client) => prune(client, PRUNE_AFTER_MS));
            if (pruned !== undefined && pruned > 0) this.options.log.debug({ pruned }, `cluster: pruned ${pruned} events every daemon has applied`);
          }
        })
        .then(
          () => {
            this.options.timers.clearTimeout(silent);
            this.fetch();
            if (session === this.session) this.beat(session);
          },
          (err: unknown) => {
            this.options.timers.clearTimeout(silent);
            this.options.log.debug({ err }, `cluster: heartbeat failed: ${(err as Error).message}`);
            if (!session.lost) cut(session);
          },
        );
    }, Math.max(100, Math.floor(this.options.leaseMs / 3)));
  }

  /** Who leads, as the leadership row says: a standby says when that changes. */
  private seeLeader(leader: string | null): void {
    if (this.leading) return void (this.leader = this.options.name);
    if (leader === this.leader) return;
    this.leader = leader;
    this.options.log.info({ leader }, `cluster: standby: ${leader ?? 'no daemon'} leads`);
  }

  /** Reads and hands on every event after the last applied; one read at a time, again if asked meanwhile. */
  private fetch(): void {
    if (this.fetching !== undefined) {
      this.fetchAgain = true;
      return;
    }
    this.fetching = (async () => {
      do {
        this.fetchAgain = false;
        for (;;) {
          const session = this.session;
          if (session === undefined || session.lost) return;
          const events = await eventsAfter(session.client, this.lastSeq!, BATCH);
          if (events.length === 0) break;
          this.lastSeq = events.at(-1)!.seq;
          // Its own, by number; and by name, for those read back before their numbers came.
          const others = events.filter((e) => !this.mine.delete(e.seq) && e.host !== this.options.name);
          this.received += others.length;
          if (others.length > 0) this.options.onEvents(others);
          if (events.length < BATCH) break;
        }
      } while (this.fetchAgain && !this.closed);
    })()
      .catch((err: unknown) => this.options.log.debug({ err }, `cluster: reading events failed: ${(err as Error).message}`))
      .finally(() => (this.fetching = undefined));
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, BATCH);
      const session = this.session;
      if (session === undefined || session.lost) return void (this.queue = []);
      try {
        for (const seq of await appendEvents(session.client, this.options.name, batch)) this.mine.add(seq);
        this.sent += batch.length;
      } catch (err) {
        // Lost with the connection: the other daemons walk every root when it is back.
        this.options.log.warn({ err, events: batch.length }, `cluster: ${batch.length} events not written: ${(err as Error).message}`);
      }
    }
  }
}
