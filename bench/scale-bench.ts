/**
 * One hgweb site at scale, end to end: real Apache + mod_wsgi (daemon mode,
 * 2 processes x 4 threads), hgreload method publish, serving from 3 to
 * 100,000 repositories. Per size: how soon a new repository is in the index,
 * how much a concurrent request slows while changes are published, the error
 * answers a removal causes, the daemon's CPU per change, and the time a WSGI
 * process takes to take a published list. Timing starts only once the daemon
 * reports the expected count, and a WSGI timing counts only with the right
 * count of repositories taken. scaleSiteMarkdown says what each figure
 * includes.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { getPage } from '../test/helpers/apache.js';
import { isReload } from '../test/helpers/daemon-process.js';
import { hgInit, type Site } from '../test/helpers/web-site.js';
import { client, type ClientAnswer, DEBOUNCE_MS, expectDaemonCount, isFailure, ms, startSite, until } from './daemon-bench.js';
import { quietCpuMs as quietCpu } from './process-use.js';
import { median } from './timing.js';
import { buildTree } from './tree.js';
import { WsgiTaker } from './wsgi-taker.js';

/** The site's own root (`/ = BASE/repos/**`), real repositories (Site makes `first`): options.ts's SCALE_MIN_SIZE. */
const OWN_REPOS = ['first', 'second', 'third'] as const;
/** The repository page the clients ask for: hgweb's log of `first`. */
const PAGE = '/first/';
/** Requests timed with nothing happening, for the baseline. */
const IDLE_REQUESTS = 20;
/** Generous: today every change costs a full walk, seconds at 100,000. */
const CHANGE_TIMEOUT_MS = 120_000;
/** The daemon's first walk of a `**` tree of 100,000 and its watch on every repository. */
const READY_TIMEOUT_MS = 600_000;
/**
 * How long the daemon is left alone after its start. V8 shrinks the heap that the first walk
 * grew ("Mark-Compact (reduce)", three collections of ~50 ms at 100,000 served, seen with
 * --trace-gc) about 40 s after the start: the measurement starts after that, so that the CPU
 * per change is the changes' own.
 */
const SETTLE_SECONDS = 60;
/** The daemon counts as quiet after this long without CPU: a change's second look (new folders watched) starts within one quiet period. */
const QUIET_MS = 5 * DEBOUNCE_MS;
export const SCALE_TARGETS = { served: 100_000, visibleMs: 150, slowdownMs: 100, errors: 0, cpuPerChangeMs: 20, wsgiMs: 5 };

export interface ScaleSiteResult {
  /** Repositories served when the measurements began, as the daemon reported them. */
  readonly served: number;
  readonly visibleMs: number[];
  readonly idleRequestMs: number;
  readonly slowestRequestMs: number;
  readonly requests: number;
  readonly failedRequests: number;
  readonly removals: number;
  /** Answers to a removed repository's page that came from its removal until the index no longer listed it. */
  readonly removalAnswers: number;
  readonly removalErrors: number;
  /** Those answers by status (0: none came). */
  readonly removalStatuses: Record<number, number>;
  /** The daemon's CPU over the changes of visibleMs, divided by their number. */
  readonly cpuPerChangeMs: number;
  readonly wsgiTakeMs: number[];
  /** The whole size: tree, site, measurements and stop. */
  readonly tookMs: number;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const count = (n: number): string => n.toLocaleString('en-US');
const execFileAsync = promisify(execFile);

/** The site under measurement and the number of repositories it serves, kept as the bench changes it. */
class Served {
  constructor(
    readonly site: Site,
    public count: number,
  ) {}

  get url(): string {
    return this.site.options.server.url;
  }

  path(name: string): string {
    return join(this.site.repos, name);
  }

  visible(name: string): Promise<void> {
    return until(this.url, (repos) => repos.includes(name), this.site.options.server, name);
  }

  gone(name: string): Promise<void> {
    return until(this.url, (repos) => !repos.includes(name), this.site.options.server, `${name} gone`);
  }

  /** A stand-in repository: an empty .hg is one to hgweb, and costs no Python start. */
  makeStandIn(name: string): void {
    mkdirSync(join(this.path(name), '.hg'), { recursive: true });
    this.count++;
  }

  /** `rm -rf` in a process of its own: a client in this process keeps asking meanwhile. */
  async remove(name: string): Promise<void> {
    await execFileAsync('rm', ['-rf', this.path(name)]);
    this.count--;
  }
}

export async function benchScaleSite(dir: string, size: number, iterations: number): Promise<ScaleSiteResult> {
  const started = performance.now();
  log(`scale: one site serving ${count(size)} repositories (Apache, publish), ${iterations} samples each`);
  const base = join(dir, 'site');
  for (const name of OWN_REPOS.slice(1)) hgInit(join(base, 'repos', name));
  const site = await startSite(base, 'apache', 'publish', {
    // The index lists the own root only: hgweb opens every repository its index lists.
    webConfig: `${await secondRoot(dir, size - OWN_REPOS.length)}[web]\ndescend = false\n`,
    settings: '[rescan]\nschedule = 0 0 1 1 *\n',
    daemonFirst: true,
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  let result: Omit<ScaleSiteResult, 'tookMs'>;
  try {
    expectDaemonCount(join(base, 'hgreload.ini'), size);
    log(`  the daemon serves ${count(size)}, watching ${site.daemon!.lines.find((l) => l.msg === 'ready')!.folders} folders`);
    result = await measure(new Served(site, size), iterations);
  } finally {
    await site.stop();
  }
  const tookMs = performance.now() - started;
  log(`  ${count(size)} served: done in ${ms(tookMs)}`);
  return { ...result, tookMs };
}

async function measure(served: Served, iterations: number): Promise<Omit<ScaleSiteResult, 'tookMs'>> {
  const taker = await WsgiTaker.start(served.site.options.script, served.count);
  try {
    const size = served.count;
    log(`  settling for ${SETTLE_SECONDS} s (the daemon's start-up garbage collection)`);
    await sleep(SETTLE_SECONDS * 1000);
    const visible = await visibleAfterInit(served, iterations);
    const requests = await requestsDuringChanges(served, iterations);
    const removals = await errorsDuringRemovals(served, iterations);
    const wsgiTakeMs = await wsgiTakes(served, taker, iterations);
    return { served: size, ...visible, ...requests, ...removals, wsgiTakeMs };
  } finally {
    await taker.stop();
  }
}

/** `/standins = TREE/**` of `standins` stand-in repositories without working subfolders (one inotify watch each); nothing for 0. */
async function secondRoot(dir: string, standins: number): Promise<string> {
  if (standins === 0) return '';
  log(`  building ${count(standins)} stand-in repositories`);
  const t0 = performance.now();
  const tree = await buildTree(join(dir, 'standins'), standins, { workingSubfolder: false });
  log(`  built in ${ms(performance.now() - t0)}`);
  return `[paths]\n/standins = ${tree.root}/**\n`;
}

/** Real `hg init`s one at a time, each timed until the index lists it; the daemon's CPU over them. */
async function visibleAfterInit(served: Served, iterations: number): Promise<Pick<ScaleSiteResult, 'visibleMs' | 'cpuPerChangeMs'>> {
  log(`  visible after hg init, and the daemon's CPU: ${iterations} repositories`);
  const pid = served.site.daemon!.pid;
  const cpuBefore = await quietCpuMs(pid);
  let cpuAfter = cpuBefore;
  const visibleMs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const name = `new-${i}`;
    hgInit(served.path(name));
    served.count++;
    const t0 = performance.now();
    await served.visible(name);
    visibleMs.push(performance.now() - t0);
    // Each change starts on a quiet daemon, and what it leaves behind (a second look) is its cost too.
    cpuAfter = await quietCpuMs(pid);
    log(`    ${name}: visible after ${ms(visibleMs[i]!)}`);
  }
  const cpuPerChangeMs = (cpuAfter - cpuBefore) / iterations;
  log(`    the daemon's CPU per change: ${ms(cpuPerChangeMs)}`);
  return { visibleMs, cpuPerChangeMs };
}

/** The daemon's CPU once it has used none for QUIET_MS. */
const quietCpuMs = (pid: number): Promise<number> => quietCpu(pid, QUIET_MS, CHANGE_TIMEOUT_MS);

/** A repository page asked for without pause while stand-ins are made, against its idle time. */
async function requestsDuringChanges(
  served: Served,
  iterations: number,
): Promise<Pick<ScaleSiteResult, 'idleRequestMs' | 'slowestRequestMs' | 'requests' | 'failedRequests'>> {
  log(`  slowest request while ${iterations} stand-ins are made`);
  const page = await getPage(served.url, PAGE);
  // A 200 of some other page (the index, say) would time the wrong thing.
  if (page.status !== 200 || !page.body.includes('<title>first: log</title>')) {
    throw new Error(`${PAGE} is not first's log page: ${page.status}\n${page.body.slice(0, 500)}`);
  }
  const idle: number[] = [];
  for (let i = 0; i < IDLE_REQUESTS; i++) idle.push((await getPage(served.url, PAGE)).ms);
  const background = client(() => getPage(served.url, PAGE));
  for (let i = 0; i < iterations; i++) {
    const name = `standin-${i}`;
    served.makeStandIn(name);
    await served.visible(name);
  }
  const answers = await background.stop();
  return {
    idleRequestMs: median(idle),
    slowestRequestMs: Math.max(...answers.filter((a) => a.status !== 0).map((a) => a.end - a.start)),
    requests: answers.length,
    failedRequests: answers.filter(isFailure).length,
  };
}

/** For each of `iterations` listed repositories, a client on its page while `rm -rf` removes it. */
async function errorsDuringRemovals(served: Served, iterations: number): Promise<Pick<ScaleSiteResult, 'removals' | 'removalAnswers' | 'removalErrors' | 'removalStatuses'>> {
  log(`  error answers while ${iterations} repositories are removed`);
  const names = Array.from({ length: iterations }, (_, i) => `gone-${i}`);
  for (const name of names) {
    hgInit(served.path(name));
    served.count++;
  }
  await until(served.url, (repos) => names.every((n) => repos.includes(n)), served.site.options.server, names.join(', '));
  const during: ClientAnswer[] = [];
  for (const name of names) {
    const page = `/${name}/`;
    const before = await getPage(served.url, page);
    if (before.status !== 200) throw new Error(`${page} answered ${before.status} before its removal`);
    const background = client(() => getPage(served.url, page));
    const removedAt = performance.now();
    await served.remove(name);
    await served.gone(name);
    // Answers that arrived after the removal began: a request sent before it may meet it half-way.
    during.push(...(await background.stop()).filter((a) => a.end >= removedAt));
  }
  const removalStatuses: Record<number, number> = {};
  for (const { status } of during) removalStatuses[status] = (removalStatuses[status] ?? 0) + 1;
  return { removals: names.length, removalAnswers: during.length, removalErrors: during.filter(isFailure).length, removalStatuses };
}

/** After each change the daemon published, the time the WSGI application takes to take it. */
async function wsgiTakes(served: Served, taker: WsgiTaker, iterations: number): Promise<number[]> {
  log(`  WSGI time to take ${iterations} changes`);
  const daemon = served.site.daemon!;
  const takes: number[] = [];
  for (let i = 0; i < iterations; i++) {
    // Stand-ins made and removed in turn.
    const name = `take-${i >> 1}`;
    const making = i % 2 === 0;
    const from = daemon.mark;
    if (making) served.makeStandIn(name);
    else await served.remove(name);
    const key = making ? 'added' : 'removed';
    await daemon.waitFor((l) => isReload(l) && (l[key] as string[]).includes(name), `the reload for ${name} ${making ? 'made' : 'removed'}`, {
      from,
      timeoutMs: CHANGE_TIMEOUT_MS,
    });
    const { ms: took, repos } = await taker.take();
    if (repos !== served.count) throw new Error(`the WSGI application took ${repos} repositories after ${name} was ${making ? 'made' : 'removed'}; the site serves ${served.count}`);
    takes.push(took);
  }
  return takes;
}

/** Sub-millisecond figures (a WSGI take of a small list) keep a decimal. */
const fineMs = (n: number): string => (n < 10 ? `${n.toFixed(1)} ms` : ms(n));

export function scaleSiteMarkdown(results: readonly ScaleSiteResult[]): string {
  const n = results[0]?.visibleMs.length ?? 0;
  return [
    `One hgweb site end to end: Apache 2.4 + mod_wsgi 4.9 daemon mode (2 processes x 4 threads), hgweb with web.refreshinterval = 86400, hgreload method publish, debounce = ${DEBOUNCE_MS} ms, scheduled rescans off; ${n} samples of each.`,
    '',
    '| served | visible after hg init (median / max) | slowest request (idle median) | error answers during removal | daemon CPU per change | WSGI time per change (median / max) |',
    '|---:|---:|---:|---:|---:|---:|',
    ...results.map((r) => {
      const failed = r.failedRequests > 0 ? `, ${r.failedRequests} failed` : '';
      return `| ${count(r.served)} | ${ms(median(r.visibleMs))} / ${ms(Math.max(...r.visibleMs))} | ${ms(r.slowestRequestMs)} (${ms(r.idleRequestMs)}), ${r.requests} requests${failed} | ${r.removalErrors} of ${r.removalAnswers} | ${fineMs(r.cpuPerChangeMs)} | ${fineMs(median(r.wsgiTakeMs))} / ${fineMs(Math.max(...r.wsgiTakeMs))} |`;
    }),
    '',
    "- **served**: repositories the daemon reported (`hgreload status`) before anything was timed: the site's own root `/ = repos/**` (first, second, third: `hg init`) and, above 3, a second root `/standins = tree/**` of stand-ins (`.hg/requires`, `.hg/store/`, a README; no working subfolder, so one inotify watch each).",
    "- **visible after hg init**: from the return of a real `hg init repos/new-i` to the first index (asked without pause) that lists it, the daemon's quiet period included, one repository at a time, each on a daemon that had been quiet (no CPU) for " +
      `${QUIET_MS} ms. hgweb.config sets [web] descend = false, so the index lists the own root only: hgweb opens every repository its index lists, and an index of all of them would time hgweb, not the change.`,
    `- **slowest request**: the slowest answer to a client asking for \`${PAGE}\` (first's log page) without pause while stand-ins were made one at a time (\`mkdir -p repos/standin-i/.hg\`: no Python start), each waited for in the index; in brackets the median of ${IDLE_REQUESTS} requests with nothing happening; then the number of requests (and any failed: 5xx or no answer).`,
    '- **error answers during removal**: answers of 500 or more and requests without an answer, of all answers that arrived from the start of `rm -rf` of a listed repository (made with `hg init`) until the index no longer listed it, from a client asking for that repository\'s page without pause; one removal per sample. 404 is the right answer for a removed repository, and 200 before it is gone is fine.',
    `- **daemon CPU per change**: utime + stime of the daemon process (/proc/PID/stat, 10 ms ticks) from before the first \`hg init\` of the second column until the daemon was quiet after the last, divided by their number; measured after ${SETTLE_SECONDS} s for the start-up garbage collection.`,
    "- **WSGI time per change**: `application._check_published()` of the site's WSGI script (the step by which a WSGI process takes what the daemon published), timed with `perf_counter` in a Python process of its own (bench/wsgi_take.py) after each change (stand-ins made and removed in turn) once the daemon had logged its reload; every answer's count of repositories was checked. Under mod_wsgi the first request in each process after a change pays it.",
    '',
    targetLines(results),
  ].join('\n');
}

/** The targets, with this run's outcome at their size (not asserted: the bench measures). */
function targetLines(results: readonly ScaleSiteResult[]): string {
  const t = SCALE_TARGETS;
  const goal = `Targets at ${count(t.served)} served (judged on the maximum): visible within ${t.visibleMs} ms, no request slowed by more than ${t.slowdownMs} ms, ${t.errors} error answers, daemon CPU per change under ${t.cpuPerChangeMs} ms, WSGI time per change under ${t.wsgiMs} ms.`;
  const r = results.find((x) => x.served === t.served);
  if (r === undefined) return `${goal} Not measured in this run.`;
  const outcome = (met: boolean, figure: string): string => `${met ? 'met' : 'missed'} (${figure})`;
  const visible = Math.max(...r.visibleMs);
  const slowdown = r.slowestRequestMs - r.idleRequestMs;
  const errors = r.removalErrors + r.failedRequests;
  const wsgi = Math.max(...r.wsgiTakeMs);
  return [
    goal,
    `This run: visible ${outcome(visible <= t.visibleMs, ms(visible))}; slowdown ${outcome(slowdown <= t.slowdownMs, `+${ms(slowdown)}`)}; ` +
      `errors ${outcome(errors <= t.errors, String(errors))}; daemon CPU ${outcome(r.cpuPerChangeMs < t.cpuPerChangeMs, fineMs(r.cpuPerChangeMs))}; ` +
      `WSGI ${outcome(wsgi < t.wsgiMs, fineMs(wsgi))}.`,
  ].join('\n');
}
