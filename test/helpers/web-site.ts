/**
 * An hgweb site for the web tests: a tree under a `**` root, hgweb.config with
 * web.refreshinterval set to a day (so that only hgreload can make hgweb see a
 * change), hgreload's settings for a method, the script `hgreload wsgi`
 * prints, a web server (Apache or gunicorn) and the daemon. Several sites may
 * serve one store (front ends on several hosts): each is given its own mount
 * of the store's folder of repositories.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getIndex, getStatus, type IndexAnswer } from './apache.js';
import { DaemonProcess, isReload } from './daemon-process.js';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { runCli, runCliAsync } from './run.js';

export interface WebServer {
  readonly url: string;
  readonly pidfile: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

export function hgInit(path: string): void {
  const r = spawnSync('hg', ['init', path], { encoding: 'utf8', env: { ...process.env, HGRCPATH: '' } });
  assert.equal(r.status, 0, r.stderr);
}

const hgEnv = () => ({ ...process.env, HGRCPATH: '' });

/** A clone of `target` at `clone` with one new changeset (file f holding `content`), pushed back to `target`: the push's result. */
export function cloneCommitPush(target: string, clone: string, content: string): { status: number | null; output: string; stderr: string } {
  assert.equal(spawnSync('hg', ['clone', '-q', target, clone], { env: hgEnv() }).status, 0, `hg clone ${target}`);
  writeFileSync(join(clone, 'f'), `${content}\n`);
  assert.equal(spawnSync('hg', ['-R', clone, 'commit', '-q', '-A', '-m', content, '-u', 'test'], { env: hgEnv() }).status, 0, `hg commit in ${clone}`);
  const r = spawnSync('hg', ['-R', clone, 'push', target], { encoding: 'utf8', env: hgEnv() });
  return { status: r.status, output: r.stdout + r.stderr, stderr: r.stderr };
}

/**
 * Asks for the index until `done` holds (a server has no event for "restarted"),
 * `everyMs` apart; every answer is kept in `seen`.
 */
export async function indexUntil(url: string, done: (a: IndexAnswer) => boolean, what: string, seen: IndexAnswer[], everyMs = 50): Promise<IndexAnswer> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await getIndex(url);
    seen.push(answer);
    if (done(answer)) return answer;
    if (Date.now() > deadline) throw new Error(`index never showed ${what}; last: ${JSON.stringify(answer)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Asks for `path` until it answers `status`, `everyMs` apart; every status answered, in order. */
export async function statusUntil(url: string, path: string, status: number, what: string, everyMs = 50): Promise<number[]> {
  const deadline = Date.now() + 30_000;
  const answers: number[] = [];
  for (;;) {
    answers.push(await getStatus(url, path));
    if (answers.at(-1) === status) return answers;
    if (Date.now() > deadline) throw new Error(`${path} never answered ${status} (${what}); answers: ${answers.join(' ')}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface SiteOptions {
  readonly base: string;
  readonly method: 'touch' | 'signal' | 'publish';
  readonly signal?: string;
  readonly script: string;
  readonly server: WebServer;
  /** The daemon's quiet period, ms (default 100). */
  readonly debounce?: number;
  /** The folder of repositories (default BASE/repos): on a shared store, this host's mount of it. */
  readonly repos?: string;
  /** hgweb.config's root under it: `**` (the default) or `*`. */
  readonly glob?: '*' | '**';
  /** More of hgreload's settings, whole sections appended to the file (`[watch]\npoll = auto\n`). */
  readonly settings?: string;
  /** More of hgweb.config, whole sections appended (`[paths]\n/more = /srv/more/**\n`: a second root). */
  readonly webConfig?: string;
  /**
   * Start the daemon before the server (method publish): a WSGI process that
   * finds no published list walks the tree itself, as hgweb does, and on a
   * tree of 100,000 repositories that takes minutes.
   */
  readonly daemonFirst?: boolean;
  /** How long the daemon may take to be ready, ms (default 15,000; a big tree takes longer). */
  readonly readyTimeoutMs?: number;
}

export class Site {
  daemon: DaemonProcess | undefined;
  readonly seen: IndexAnswer[] = [];
  /** The folder of repositories this site's hgweb.config names. */
  readonly repos: string;
  /** hgreload's settings file, which start() writes. */
  readonly ini: string;

  constructor(readonly options: SiteOptions) {
    this.repos = options.repos ?? join(options.base, 'repos');
    this.ini = join(options.base, 'hgreload.ini');
  }

  /**
   * Writes the tree (`first`, unless the store already holds it: another
   * front end's site made it), configs and script, then starts the server and
   * the daemon (server first unless `daemonFirst`: signal needs its pidfile).
   * The configs, the script and the daemon's state are in BASE, outside a
   * shared store.
   */
  async start(): Promise<void> {
    const { base, method, signal = 'SIGUSR1', script, server, debounce = 100, glob = '**', settings = '', webConfig = '', daemonFirst = false } = this.options;
    if (!existsSync(join(this.repos, 'first'))) hgInit(join(this.repos, 'first'));
    writeFileSync(join(base, 'hgweb.config'), `[web]\nrefreshinterval = 86400\n[paths]\n/ = ${this.repos}/${glob}\n${webConfig}`);
    const ini = this.ini;
    writeFileSync(
      ini,
      `webconf = hgweb.config\n[reload]\nmethod = ${method}\nwsgi = ${script}\npidfile = ${server.pidfile}\nsignal = ${signal}\nstate = state\ndebounce = ${debounce}\n${settings}`,
    );
    const wsgi = runCli(['-c', ini, 'wsgi']);
    assert.equal(wsgi.status, 0, wsgi.stderr);
    writeFileSync(script, wsgi.stdout);
    if (!daemonFirst) await server.start();
    await this.startDaemon();
    if (daemonFirst) await server.start();
  }

  /** Starts the daemon on the settings start() wrote (again, after a test killed it); resolves once it is ready. */
  async startDaemon(): Promise<void> {
    this.daemon = new DaemonProcess(['-c', this.ini]);
    await this.daemon.waitFor((l) => l.msg === 'ready', 'ready', { timeoutMs: this.options.readyTimeoutMs });
  }

  /** The daemon's `status --json`, asked through the CLI without blocking the test's other waits. */
  async status(): Promise<DaemonStatus> {
    const r = await runCliAsync(['-c', this.ini, 'status', '--json']);
    assert.equal(r.status, 0, `hgreload status: ${r.stderr}`);
    return JSON.parse(r.stdout) as DaemonStatus;
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
    await this.options.server.stop();
  }

  /** Makes a repository with hg init and waits until the index shows it. */
  async create(name: string): Promise<void> {
    const from = this.daemon!.mark;
    hgInit(join(this.repos, name));
    await this.daemon!.waitFor((l) => isReload(l) && (l.added as string[]).includes(name), `reload for ${name}`, { from });
    await indexUntil(this.options.server.url, (a) => a.repos.includes(name), name, this.seen);
  }

  /** Removes a repository with rm -rf and waits until the index no longer shows it. */
  async remove(name: string): Promise<IndexAnswer> {
    const from = this.daemon!.mark;
    rmSync(join(this.repos, name), { recursive: true });
    await this.daemon!.waitFor((l) => isReload(l) && (l.removed as string[]).includes(name), `reload for ${name} removed`, { from });
    return indexUntil(this.options.server.url, (a) => a.status === 200 && !a.repos.includes(name), `${name} gone`, this.seen);
  }

  /** Every answer that was a server error, with the server's log for the report. */
  failures(): { failed: IndexAnswer[]; log: string } {
    return { failed: this.seen.filter((a) => a.status >= 500), log: this.options.server.log() };
  }
}
