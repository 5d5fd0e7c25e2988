/**
 * One publisher among daemons that share a folder on the shared store
 * ([shared] folder): one daemon per front end, or a standby beside the one
 * where the store is local. Each keeps walking and watching, so a standby is
 * ready; only the leader publishes.
 *
 * The lease is a file, `leader.lock`, made with O_EXCL (atomic on local file
 * systems and on NFS since version 3), holding its owner's token. The leader
 * rewrites it every lease / 3 ms; the file server stamps its mtime, so ages
 * are taken on the server's clock: a standby writes a probe file of its own
 * and compares the two mtimes, never its own clock with another host's. A
 * lease older than `lease` belonged to a daemon that died (or hangs): a
 * standby moves it aside, checks that what it moved is what it judged stale
 * (another standby may have taken over meanwhile, and that one is put back),
 * and makes its own. Before each publish the leader reads the lease again:
 * one that is no longer its own means it was judged dead, and it steps down.
 * A daemon that stops gives the lease up at once.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { link, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { errnoCode } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Timers } from './coalescer.js';
import type { Logger } from './logger.js';

export const LEASE_FILE = 'leader.lock';

export interface LeadershipOptions {
  readonly folder: string;
  readonly leaseMs: number;
  readonly timers: Timers;
  readonly log: Logger;
  /** Called when this daemon becomes the leader, or stops being it. */
  readonly onChange: (leader: boolean) => void;
}

interface Holder {
  readonly token: string;
  readonly host: string;
  readonly pid: number;
}

export class Leadership {
  private readonly me: Holder = { token: randomBytes(8).toString('hex'), host: hostname(), pid: process.pid };
  private readonly lease: string;
  private readonly probe: string;
  private leading = false;
  private holder: Holder | undefined;
  private timer: unknown;
  private running: Promise<void> | undefined;
  private closed = false;
  private beats = 0;

  constructor(private readonly options: LeadershipOptions) {
    this.lease = join(options.folder, LEASE_FILE);
    this.probe = join(options.folder, `standby.${this.me.host}.${this.me.pid}`);
  }

  get leader(): boolean {
    return this.leading;
  }

  /** Who leads, as last seen: "host pid N". */
  get leaderName(): string | undefined {
    return this.holder === undefined ? undefined : `${this.holder.host} pid ${this.holder.pid}`;
  }

  /** Takes the lease if it is free or stale; either way, goes on checking every lease / 3 ms. */
  async start(): Promise<void> {
    await mkdir(this.options.folder, { recursive: true });
    await this.step();
  }

  /** Whether this daemon still holds the lease (read now): to be asked right before publishing. */
  async confirm(): Promise<boolean> {
    if (!this.leading) return false;
    const now = await this.read();
    if (now?.token === this.me.token) return true;
    this.become(false, now);
    return false;
  }

  /** Stops checking; a leader gives the lease up, so that a standby takes over at once. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    await this.running;
    await rm(this.probe, { force: true }).catch(() => undefined);
    if (this.leading && (await this.read())?.token === this.me.token) await rm(this.lease, { force: true }).catch(() => undefined);
    this.leading = false;
  }

  private async step(): Promise<void> {
    this.running = (async () => {
      try {
        if (this.leading) await this.renew();
        else await this.tryToLead();
      } catch (err) {
        // The shared store failing (EIO, ESTALE): a leader that cannot renew will be judged dead by the others.
        this.options.log.warn({ err, lease: this.lease }, `lease check failed: ${(err as Error).message}`);
      }
    })();
    await this.running;
    this.running = undefined;
    if (!this.closed) {
      this.timer = this.options.timers.setTimeout(() => {
        this.timer = undefined;
        void this.step();
      }, Math.max(100, Math.floor(this.options.leaseMs / 3)));
    }
  }

  private async renew(): Promise<void> {
    const now = await this.read();
    if (now?.token !== this.me.token) return this.become(false, now);
    // Written, not touched: the server stamps the mtime with its own clock. Replaced whole, so
    // that no one reads it half-written (and a standby that moved the old one aside sees a new inode).
    await writeFileAtomic(this.lease, this.text(++this.beats), { mode: 0o644 });
  }

  private async tryToLead(): Promise<void> {
    if (await this.create()) return;
    const held = await this.read();
    if (held === undefined) return; // gone meanwhile: the next step creates it
    const seen = await stat(this.lease).catch(() => undefined);
    if (seen === undefined) return;
    await writeFile(this.probe, this.me.token);
    const age = (await stat(this.probe)).mtimeMs - seen.mtimeMs;
    if (age <= this.options.leaseMs) {
      if (this.holder?.token !== held.token) {
        this.holder = held;
        this.options.log.info({ leader: this.leaderName, lease: this.lease }, `standby: ${this.leaderName} publishes`);
      }
      return;
    }
    // Stale: move it aside, and make sure it was that one.
    const aside = `${this.lease}.stale.${this.me.token}`;
    try {
      await rename(this.lease, aside);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return; // another standby moved it first
      throw err;
    }
    const moved = await stat(aside);
    if (moved.ino !== seen.ino || moved.mtimeMs !== seen.mtimeMs) {
      // A fresh lease, another standby's: back it goes, unless yet another took its place.
      await link(aside, this.lease).catch(() => undefined);
      await rm(aside, { force: true });
      return;
    }
    await rm(aside, { force: true });
    this.options.log.warn({ leader: `${held.host} pid ${held.pid}`, ageMs: Math.round(age) }, `the leader's lease is ${Math.round(age)} ms old: taking over`);
    await this.create();
  }

  /** Makes the lease file, which fails when one exists. */
  private async create(): Promise<boolean> {
    let file;
    try {
      file = await open(this.lease, 'wx', 0o644);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return false;
      throw err;
    }
    try {
      await file.writeFile(this.text(0));
    } finally {
      await file.close();
    }
    this.become(true, this.me);
    return true;
  }

  private become(leader: boolean, holder: Holder | undefined): void {
    this.holder = holder;
    if (leader === this.leading) return;
    this.leading = leader;
    if (leader) this.options.log.info({ lease: this.lease }, 'leading: this daemon publishes');
    else this.options.log.warn({ leader: this.leaderName, lease: this.lease }, `no longer leading: ${this.leaderName ?? 'another daemon'} holds the lease`);
    this.options.onChange(leader);
  }

  private async read(): Promise<Holder | undefined> {
    try {
      const doc = JSON.parse(await readFile(this.lease, 'utf8')) as Partial<Holder>;
      return typeof doc.token === 'string' ? { token: doc.token, host: String(doc.host), pid: Number(doc.pid) } : undefined;
    } catch {
      return undefined; // missing, or caught half-written: the next step looks again
    }
  }

  private text(beat: number): string {
    return `${JSON.stringify({ ...this.me, beat })}\n`;
  }
}
