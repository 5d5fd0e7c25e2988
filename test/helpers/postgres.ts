/**
 * A real PostgreSQL (Debian's server) for one test suite: a cluster of its own
 * in a temp folder, run by Debian's `postgres` account (the server refuses to
 * run as root, and the package made that account for exactly this), reached
 * only through a Unix socket in that folder: no TCP at all.
 *
 * Local connections are `trust`ed, as any role: the tests run as root, which
 * has no role, and the socket folder is the server account's with mode 0700,
 * so only that account and root can reach it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, chownSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { commandLine, makeTempDir, runProgram } from './run.js';
import { idsOf } from './users.js';

const SERVER_USER = 'postgres';
const READY = 'database system is ready to accept connections';
const START_TIMEOUT = 30_000;

/** Debian installs each major version's programs in /usr/lib/postgresql/<major>/bin: the newest one. */
function serverProgram(name: 'initdb' | 'postgres'): string {
  const majors = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (majors.length === 0) throw new Error('no PostgreSQL server in /usr/lib/postgresql: run scripts/test-prerequisites.sh');
  return join('/usr/lib/postgresql', majors[0]!, 'bin', name);
}

/** Whether a process of group `pgid` still runs (a zombie holds no memory, so it does not count). */
function groupAlive(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // it ended while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so count from the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

export class Postgres {
  private child: ChildProcess | undefined;
  private output = '';
  private databases = 0;
  private closing: Promise<void> | undefined;
  private readonly killOnExit = (): void => this.signal('SIGKILL');

  private constructor(
    private readonly temp: { path: string; remove: () => void },
    private readonly dataDir: string,
    /** Where the server's socket is: libpq's and pg's `host` for a Unix socket. */
    readonly socketDir: string,
  ) {}

  /** initdb a new cluster and start it. */
  static async create(): Promise<Postgres> {
    const temp = makeTempDir('hgreload-pg-');
    const server = new Postgres(temp, join(temp.path, 'data'), join(temp.path, 'socket'));
    const { uid, gid } = idsOf(SERVER_USER);
    for (const dir of [server.dataDir, server.socketDir]) {
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, uid, gid);
    }
    // --no-sync and fsync=off: a test's cluster need not survive a power cut, and syncing costs seconds.
    // synchronous_commit stays on: kill() must not lose a commit that was acknowledged (WAL still in
    // shared memory dies with the server; written WAL sits in the kernel's cache and survives).
    const initdb = runProgram(
      [serverProgram('initdb'), '-D', server.dataDir, `--username=${SERVER_USER}`, '--auth-local=trust', '--auth-host=reject', '--no-locale', '--encoding=UTF8', '--no-sync'],
      { user: SERVER_USER },
    );
    if (initdb.status !== 0) {
      temp.remove();
      throw new Error(`initdb failed (${initdb.status}): ${initdb.stderr}`);
    }
    appendFileSync(
      join(server.dataDir, 'postgresql.conf'),
      [`listen_addresses = ''`, `unix_socket_directories = '${server.socketDir}'`, 'fsync = off', 'full_page_writes = off', ''].join('\n'),
    );
    process.on('exit', server.killOnExit);
    try {
      await server.start();
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  /** The libpq form (what `[cluster] database` holds, what psql takes). */
  conninfo(database = 'postgres'): string {
    return `host=${this.socketDir} user=${SERVER_USER} dbname=${database}`;
  }

  /** The same for pg, which does not parse libpq's key=value form. */
  clientConfig(database = 'postgres'): pg.ClientConfig {
    return { host: this.socketDir, user: SERVER_USER, database };
  }

  /**
   * A connected client; the caller ends it. Stopping or killing the server
   * makes it emit 'error', which a test that does so must handle.
   */
  async connect(database = 'postgres'): Promise<pg.Client> {
    const client = new pg.Client(this.clientConfig(database));
    await client.connect();
    return client;
  }

  /** One statement on a connection of its own. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<pg.QueryResult<R>> {
    const client = await this.connect(database);
    try {
      return await client.query<R>(sql, params);
    } finally {
      await client.end();
    }
  }

  /** A new empty database, so that each test starts from nothing: its name. */
  async freshDatabase(): Promise<string> {
    const name = `test_${++this.databases}`;
    await this.query(`CREATE DATABASE ${name}`);
    return name;
  }

  /** Starts the server and waits for it to say it accepts connections (after a kill, once it has recovered). */
  async start(): Promise<void> {
    if (this.running()) return;
    const { cmd, args, env } = commandLine([serverProgram('postgres'), '-D', this.dataDir], { user: SERVER_USER });
    // Its own process group: kill() takes the backends down with the postmaster, as a crash of the host would.
    const child = spawn(cmd, args, { env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let seen = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`PostgreSQL not ready within ${START_TIMEOUT} ms:\n${seen}`)), START_TIMEOUT);
      const done = (err?: Error): void => {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        child.off('exit', onExit);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onData = (text: string): void => {
        seen += text;
        if (seen.includes(READY)) done();
      };
      const onExit = (code: number | null, signal: string | null): void => done(new Error(`PostgreSQL exited (${code ?? signal}) before it was ready:\n${seen}`));
      child.stderr!.setEncoding('utf8').on('data', onData);
      child.once('exit', onExit);
    });
    child.stderr!.on('data', (text: string) => (this.output += text));
    await ready;
  }

  /** A fast shutdown (SIGINT): open sessions are ended, the server exits cleanly. */
  async stop(): Promise<void> {
    await this.until('SIGINT');
  }

  /**
   * SIGKILL to the server and every backend: it recovers from its WAL at the
   * next start(). Returns once every one of them is gone, not only the
   * postmaster: a backend still attached to the old shared memory makes the
   * next postmaster refuse to start ("pre-existing shared memory block is
   * still in use").
   */
  async kill(): Promise<void> {
    const group = this.child?.pid;
    await this.until('SIGKILL');
    if (group === undefined) return;
    const deadline = Date.now() + 10_000;
    while (groupAlive(group)) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL's processes (group ${group}) outlived SIGKILL by 10 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** What the server wrote to stderr since create(), for a failing test's message. */
  log(): string {
    return this.output;
  }

  /** Stops the server and removes its folder; a second call waits for the first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.stop();
      process.off('exit', this.killOnExit);
      this.temp.remove();
    })();
    return this.closing;
  }

  private running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async until(signal: 'SIGINT' | 'SIGKILL'): Promise<void> {
    if (!this.running()) return;
    const exited = once(this.child!, 'exit');
    this.signal(signal);
    await exited;
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.running()) process.kill(signal === 'SIGKILL' ? -this.child!.pid! : this.child!.pid!, signal);
  }
}
