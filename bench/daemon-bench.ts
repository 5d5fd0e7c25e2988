/**
 * The daemon against real Apache + mod_wsgi (daemon mode, 2 processes x 4
 * threads, web.refreshinterval a day): per reload method, the time from a
 * finished `hg init` to the repository in the index and the slowest request a
 * client making requests without pause saw meanwhile; a burst of new
 * repositories; and, on stand-in trees, the daemon's start, memory, watches
 * and idle CPU. Reuses the test helpers that start Apache and the daemon.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DaemonStatus } from '../src/daemon/daemon.js';
import { Apache, getIndex } from '../test/helpers/apache.js';
import { DaemonProcess, isReload } from '../test/helpers/daemon-process.js';
import { Gunicorn } from '../test/helpers/gunicorn.js';
import { runCli } from '../test/helpers/run.js';
import { hgInit, Site, type SiteOptions, type WebServer } from '../test/helpers/web-site.js';
import { cpuMs, rssMb } from './process-use.js';
import { median } from './timing.js';
import { buildTree } from './tree.js';

export const METHODS = ['publish', 'touch', 'signal'] as const;
export type Method = (typeof METHODS)[number];
/** What each server is measured with: mod_wsgi restarts on touch; gunicorn has no equivalent. */
export const SERVER_METHODS: ReadonlyArray<readonly [ServerKind, Method]> = [
  ['apache', 'publish'],
  ['apache', 'touch'],
  ['apache', 'signal'],
  ['gunicorn', 'publish'],
  ['gunicorn', 'signal'],
];
/** The quiet period used here; part of every "visible after" figure. */
export const DEBOUNCE_MS = 100;

export interface MethodResult {
  readonly server: ServerKind;
  readonly method: Method;
  readonly visibleMs: number[];
  readonly idleRequestMs: number;
  readonly slowestRequestMs: number;
  readonly requests: number;
  readonly failedRequests: number;
}

export interface BurstResult {
  readonly repos: number;
  readonly reloads: number;
  readonly allVisibleMs: number;
}

export interface ScaleResult {
  readonly repos: number;
  readonly readyMs: number;
  readonly rssMb: number;
  readonly watchedFolders: number;
  readonly foldersNotRepos: number;
  /** CPU used in the first SETTLE_SECONDS after ready (start-up garbage collection). */
  readonly settleCpuMs?: number;
  /** CPU used while idle after that, and over how long. */
  readonly idleCpuMs?: number;
  readonly idleSeconds?: number;
}

/** V8 collects the daemon's start-up garbage once, ~15 s after start: CPU measured after this many seconds misses it. */
export const SETTLE_SECONDS = 30;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

export type ServerKind = 'apache' | 'gunicorn';

/** Site options that a part may set beyond the server and the method. */
export type MoreSiteOptions = Pick<SiteOptions, 'webConfig' | 'settings' | 'daemonFirst' | 'readyTimeoutMs'>;

/** An hgweb behind Apache or gunicorn and an hgreload daemon, in `dir` (the tests' Site). */
export async function startSite(dir: string, kind: ServerKind, method: Method, more: MoreSiteOptions = {}): Promise<Site> {
  mkdirSync(dir, { recursive: true });
  const script = join(dir, 'hgweb.wsgi');
  const server =
    kind === 'apache' ? new Apache({ dir, wsgiScript: script, group: `hb${method[0]}${process.pid % 100_000}` }) : new Gunicorn(dir, script);
  const site = new Site({ base: dir, method, signal: kind === 'gunicorn' ? 'SIGHUP' : 'SIGUSR1', script, server, debounce: DEBOUNCE_MS, ...more });
  try {
    await site.start();
    // Let the first reload (a restart, for touch and signal) settle before measuring.
    for (let i = 0; i < 4; i++) await until(server.url, (repos) => repos.includes('first'), server);
  } catch (err) {
    // A server or daemon that started must not outlive a failed start.
    await site.stop();
    throw err;
  }
  return site;
}

/** One request of a client's: when it started and ended (performance.now()), and its status (0: no answer at all). */
export interface ClientAnswer {
  readonly start: number;
  readonly end: number;
  readonly status: number;
}

/** A server error or no answer: what a client must never get. */
export const isFailure = (a: ClientAnswer): boolean => a.status === 0 || a.status >= 500;

/** Sends `request` one after another, without pause, until stopped; keeps every answer. */
export function client(request: () => Promise<{ readonly status: number }>) {
  let running = true;
  const answers: ClientAnswer[] = [];
  const done = (async () => {
    while (running) {
      const start = performance.now();
      let status = 0;
      try {
        ({ status } = await request());
      } catch {
        // a connection refused or reset: status 0
      }
      answers.push({ start, end: performance.now(), status });
    }
  })();
  return {
    stop: async (): Promise<ClientAnswer[]> => {
      running = false;
      await done;
      return answers;
    },
  };
}

/** Asks for the index without pause until an answer of 200 satisfies `ok`; `what` names it in the error. */
export async function until(url: string, ok: (repos: string[]) => boolean, server: WebServer, what = 'the new repository'): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const answer = await getIndex(url);
    // An error page lists no repository: it must not pass for "gone".
    if (answer.status === 200 && ok(answer.repos)) return;
    if (performance.now() > deadline) throw new Error(`the index did not show ${what} within 60 s; last answer ${answer.status}; server log:\n${server.log().slice(-2000)}`);
  }
}

export async function benchMethod(dir: string, kind: ServerKind, method: Method, iterations: number): Promise<MethodResult> {
  log(`daemon, ${kind}, method ${method}: ${iterations} repositories, one at a time`);
  const site = await startSite(dir, kind, method);
  const apache = site.options.server;
  try {
    const idle: number[] = [];
    for (let i = 0; i < 20; i++) idle.push((await getIndex(apache.url)).ms);
    const visibleMs: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const name = `new-${i}`;
      hgInit(join(dir, 'repos', name));
      const t0 = performance.now();
      await until(apache.url, (repos) => repos.includes(name), apache);
      visibleMs.push(performance.now() - t0);
      log(`  ${name}: visible after ${Math.round(visibleMs[i]!)} ms`);
    }
    // The slowest request during reloads, measured apart: on 2 cores an `hg init` (a Python start)
    // slows a concurrent request by ~100 ms by itself, reload or not. Here a stand-in repository
    // (mkdir .hg) triggers each reload.
    const background = client(() => getIndex(apache.url));
    for (let i = 0; i < iterations; i++) {
      const name = `standin-${i}`;
      mkdirSync(join(dir, 'repos', name, '.hg'), { recursive: true });
      await until(apache.url, (repos) => repos.includes(name), apache);
    }
    const answers = await background.stop();
    const times = answers.filter((a) => a.status !== 0).map((a) => a.end - a.start);
    return {
      server: kind,
      method,
      visibleMs,
      idleRequestMs: median(idle),
      slowestRequestMs: Math.max(...times),
      requests: times.length,
      failedRequests: answers.filter(isFailure).length,
    };
  } finally {
    await site.stop();
  }
}

export async function benchBurst(dir: string, count: number): Promise<BurstResult> {
  log(`daemon, burst: ${count} new repositories at once (Apache, publish)`);
  const site = await startSite(dir, 'apache', 'publish');
  const apache = site.options.server;
  const daemon = site.daemon!;
  try {
    const from = daemon.mark;
    mkdirSync(join(dir, 'repos/burst'));
    const t0 = performance.now();
    // Stand-ins (an empty .hg is a repository to hgweb): as fast as a script or an rsync makes them.
    for (let i = 0; i < count; i++) mkdirSync(join(dir, `repos/burst/r${i}/.hg`), { recursive: true });
    await until(apache.url, (repos) => repos.filter((r) => r.startsWith('burst/')).length === count, apache);
    const allVisibleMs = performance.now() - t0;
    // Any reload still pending for this burst shows within a few quiet periods.
    await daemon.waitFor(() => false, 'nothing', { from, timeoutMs: DEBOUNCE_MS * 20 }).catch(() => undefined);
    return { repos: count, reloads: daemon.lines.slice(from).filter(isReload).length, allVisibleMs };
  } finally {
    await site.stop();
  }
}

/** Timing a daemon that serves the wrong list is worthless: its own count must be the tree's. */
export function expectDaemonCount(ini: string, expected: number): void {
  const answer = runCli(['-c', ini, 'status', '--json']);
  if (answer.status !== 0) throw new Error(`hgreload status --json: exit status ${answer.status}\n${answer.stderr}`);
  const { repositories } = JSON.parse(answer.stdout) as DaemonStatus;
  if (repositories !== expected) throw new Error(`the daemon reports ${repositories} repositories; the tree has ${expected}`);
}

export async function benchScale(dir: string, count: number, idleSeconds: number): Promise<ScaleResult> {
  log(`daemon, scale: ${count.toLocaleString('en-US')} stand-in repositories`);
  const tree = await buildTree(dir, count);
  const ini = join(dir, 'hgreload.ini');
  // Scheduled rescans off (once a year): each is one walk, timed in the discovery table; a */10
  // schedule firing inside the idle window would be counted as idle CPU.
  writeFileSync(ini, `webconf = ${tree.config}\n[reload]\nmethod = publish\nstate = state\n[rescan]\nschedule = 0 0 1 1 *\n`);
  const t0 = performance.now();
  const daemon = new DaemonProcess(['-c', ini]);
  try {
    const ready = await daemon.waitFor((l) => l.msg === 'ready', 'ready', { timeoutMs: 120_000 });
    const readyMs = performance.now() - t0;
    const groups = new Set(tree.names.map((n) => n.slice(0, n.lastIndexOf('/'))));
    for (const g of [...groups]) if (g.includes('/')) groups.add(g.slice(0, g.indexOf('/')));
    const result: ScaleResult = {
      repos: count,
      readyMs,
      rssMb: rssMb(daemon.pid),
      watchedFolders: ready.folders as number,
      foldersNotRepos: groups.size + 1,
    };
    expectDaemonCount(ini, tree.names.length);
    if (idleSeconds <= 0) return result;
    // The start-up garbage collection (~40 ms of CPU) measured apart: the idle window starts after it.
    log(`  settling for ${SETTLE_SECONDS} s, then idle for ${idleSeconds} s`);
    const started = cpuMs(daemon.pid);
    await new Promise((r) => setTimeout(r, SETTLE_SECONDS * 1000));
    const before = cpuMs(daemon.pid);
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    return { ...result, settleCpuMs: before - started, idleCpuMs: cpuMs(daemon.pid) - before, idleSeconds };
  } finally {
    await daemon.stop();
  }
}

export const ms = (n: number): string => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`);

export function daemonMarkdown(methods: readonly MethodResult[], burst: BurstResult | undefined, scale: readonly ScaleResult[]): string {
  const lines = [
    `Apache 2.4 + mod_wsgi 4.9 daemon mode, and gunicorn: 2 processes x 4 threads each; hgweb with web.refreshinterval = 86400; debounce = ${DEBOUNCE_MS} ms.`,
    '"Visible after" runs from the end of `hg init` to the first index that lists the repository. The slowest concurrent request comes from a client requesting the index without pause while as many reloads are triggered by stand-in repositories (mkdir .hg: an `hg init` alone, a Python start, slows a concurrent request by ~100 ms on 2 cores, reload or not); its idle median is beside it.',
    '',
    '| server | method | visible after (median) | visible after (max) | slowest concurrent request | idle request (median) | requests / failed |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...methods.map(
      (m) =>
        `| ${m.server === 'apache' ? 'Apache' : 'gunicorn'} | ${m.method}${m.server === 'gunicorn' && m.method === 'signal' ? ' (SIGHUP)' : ''} | ${ms(median(m.visibleMs))} | ${ms(Math.max(...m.visibleMs))} | ${ms(m.slowestRequestMs)} | ${ms(m.idleRequestMs)} | ${m.requests} / ${m.failedRequests} |`,
    ),
  ];
  if (burst !== undefined) {
    lines.push('', `Burst (publish): ${burst.repos.toLocaleString('en-US')} new repositories at once made ${burst.reloads} reload(s); all were in the index after ${ms(burst.allVisibleMs)}.`);
  }
  if (scale.length > 0) {
    lines.push(
      '',
      'The daemon alone on stand-in trees (publish; scheduled rescans off, each being one walk as timed in the discovery table):',
      '',
      `| stand-in repositories | ready after start | resident memory | folders watched | folders that are not repositories | CPU in the ${SETTLE_SECONDS} s after ready | then idle CPU |`,
      '|---:|---:|---:|---:|---:|---:|---:|',
      ...scale.map(
        (s) =>
          `| ${s.repos.toLocaleString('en-US')} | ${ms(s.readyMs)} | ${Math.round(s.rssMb)} MB | ${s.watchedFolders} | ${s.foldersNotRepos} | ${s.settleCpuMs === undefined ? '–' : ms(s.settleCpuMs)} | ${s.idleCpuMs === undefined ? '–' : `${Math.round(s.idleCpuMs)} ms over ${s.idleSeconds} s`} |`,
      ),
    );
  }
  return lines.join('\n');
}
