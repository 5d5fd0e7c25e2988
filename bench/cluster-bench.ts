/**
 * Several front ends over one store (issue: several hosts, one list): three
 * hosts as the front ends test makes them (cluster-hosts.ts), measured in
 * three set-ups one after another on one store: with the database
 * ([cluster]), with polling alone at the default 5 s, and at the tests' 0.5 s.
 * For each: how soon a repository made through one host's mount (hg init) is
 * in every other front end's index; for the database set-up, how soon another
 * daemon leads once the leader is killed or paused; for the database and the
 * 5 s set-ups, the daemons' CPU for one remote change. Every figure is
 * checked: a sample counts only with the repository in the index and the
 * reload that put it there found the expected way (an event, a poll), and at
 * the end every index lists exactly the repositories the store holds.
 * cluster-report.ts says what each figure includes.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isReload, type DaemonProcess, type LogLine } from '../test/helpers/daemon-process.js';
import { need, needFrontEndTools, type Host } from '../test/helpers/front-ends.js';
import { Postgres } from '../test/helpers/postgres.js';
import { hgInit, indexUntil } from '../test/helpers/web-site.js';
import { ClusterHosts, type Status } from './cluster-hosts.js';
import { loggedAt, reasonsOf } from './paths-daemon.js';
import { cpuMs, quietCpuMs, runTimeMs } from './process-use.js';
import { median } from './timing.js';
import { buildTree, type StandInTree } from './tree.js';

export const HOSTS = ['a', 'b', 'c'] as const;
/** Stand-in repositories in the store's group folders, beside the repositories the bench makes. */
export const STANDINS = 1000;
/**
 * hgweb opens every repository its index lists: through bindfs about 3 ms
 * each on the bench machine, so an index of the stand-ins took seconds.
 * Without descending, the index at `/` lists only the root's own
 * repositories (`first` and the bench's), and skips the stand-ins in the
 * group folders unopened; every daemon still serves them all.
 */
export const WEB_CONFIG = '[web]\ndescend = false\n';
/** [cluster] poll_interval: with the database reachable, a poll never delivers a sample's change. */
export const DB_POLL_MS = 60_000;
/** [cluster] lease: short, so that the paused leader's round is quick (the default is 10 s). */
export const LEASE_MS = 2000;
/** How often each front end's index is asked while timing: a figure is late by at most this and one answer. */
export const ASK_EVERY_MS = 20;
/** With the database, the pause before each sample: what the last one left (a second look) ends first. */
export const DB_PAUSE_MS = 250;
export const KILL_ROUNDS = 3;
/** Rounds of the CPU measurement per set-up; a CPU tick is 10 ms, so one round alone says little. */
export const CPU_ROUNDS = 3;
/** The CPU windows with the database: its poll a minute apart, only heartbeats (every lease / 3) fall in them. */
export const DB_CPU_WINDOW_MS = 2000;
/** Polling: each window holds exactly this many polls, the idle one as the other. */
export const POLLS_PER_WINDOW = 2;
/** A daemon is quiet after this long without CPU (five debounce periods of 50 ms). */
const QUIET_MS = 250;
const QUIET_TIMEOUT_MS = 60_000;
/** A sample is taken again at most this many times. */
const MAX_TRIES = 5;

export interface ClusterSetup {
  readonly key: 'database' | 'poll-5000' | 'poll-500';
  readonly title: string;
  /** [watch] poll_interval (with the database, only while it cannot be reached). */
  readonly watchPollMs: number;
  readonly database: boolean;
  /** Whether the daemons' CPU per remote change is measured. */
  readonly cpu: boolean;
}

export const CLUSTER_SETUPS: readonly ClusterSetup[] = [
  { key: 'database', title: 'with the database', watchPollMs: 5000, database: true, cpu: true },
  { key: 'poll-5000', title: 'polling alone, 5 s (the default)', watchPollMs: 5000, database: false, cpu: true },
  { key: 'poll-500', title: "polling alone, 0.5 s (the tests' interval)", watchPollMs: 500, database: false, cpu: false },
];

export interface ClusterSample {
  /** The host whose mount the repository was made through. */
  readonly origin: string;
  readonly name: string;
  /** Per front end, the origin's own included: from hg init's return to its first index answer listing the repository. */
  readonly ms: Readonly<Record<string, number>>;
  /** The slowest of the other front ends: the sample's figure. */
  readonly othersMaxMs: number;
}

/**
 * One window with a remote change and the idle one just before it, per
 * daemon: utime + stime (10 ms ticks), and the time its threads ran (the
 * scheduler's, in ns).
 */
export interface CpuRound {
  readonly origin: string;
  readonly idleMs: Readonly<Record<string, number>>;
  readonly changeWindowMs: Readonly<Record<string, number>>;
  readonly idleRunMs: Readonly<Record<string, number>>;
  readonly changeWindowRunMs: Readonly<Record<string, number>>;
}

export interface FailoverFigures {
  readonly leaseMs: number;
  /** From SIGKILL to another daemon's `cluster: leading` line, per round. */
  readonly killMs: number[];
  /** Who was killed, and who led next, per round. */
  readonly killed: Array<{ readonly leader: string; readonly next: string }>;
  /** From SIGSTOP to another daemon's `cluster: leading` line. */
  readonly stopMs: number;
  readonly stopped: { readonly leader: string; readonly next: string };
}

export interface ClusterSetupResult {
  readonly setup: ClusterSetup;
  readonly skipped?: string;
  readonly measured?: {
    /** Folders each daemon polls (the store's folders that can hold a repository), and every how many ms. */
    readonly polledFolders: number;
    readonly pollIntervalMs: number;
    /** With polling alone, when each daemon began to poll, after A's and modulo the interval (later polls keep about that). */
    readonly pollPhasesMs?: Readonly<Record<string, number>>;
    readonly samples: ClusterSample[];
    /** The median time of an index answer while timing: each figure is late by up to ASK_EVERY_MS and one of these. */
    readonly indexAnswerMs: number;
    readonly cpu?: { readonly windowMs: number; readonly rounds: CpuRound[] };
    readonly failover?: FailoverFigures;
    /** What the final check found: repositories in every index (the store's own), and what every daemon serves. */
    readonly checked: { readonly indexed: number; readonly served: number };
    readonly failedRequests: number;
    /** Samples thrown away and taken again, and why. */
    readonly discarded: string[];
  };
}

export interface ClusterResult {
  readonly standins: number;
  readonly samples: number;
  readonly skipped?: string;
  readonly setups: ClusterSetupResult[];
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const whole = (ms: number): string => `${Math.round(ms)} ms`;
const round1 = (n: number): number => Math.round(n * 10) / 10;
const isLeading = (l: LogLine): boolean => l.msg.startsWith('cluster: leading');
const adds = (name: string) => (l: LogLine) => isReload(l) && ((l.added as string[] | undefined) ?? []).includes(name);

/** The three set-ups one after another on one store; skipped as a whole without bindfs, gunicorn or Mercurial. */
export async function benchCluster(dir: string, samples: number): Promise<ClusterResult> {
  log(`cluster: three front ends over one store, ${samples} samples per set-up`);
  try {
    needFrontEndTools();
    need('hg', 'mercurial');
  } catch (err) {
    const skipped = (err as Error).message;
    log(`  skipped: ${skipped}`);
    return { standins: STANDINS, samples, skipped, setups: [] };
  }
  mkdirSync(dir, { recursive: true });
  try {
    const store = join(dir, 'store');
    const tree = await buildTree(store, STANDINS, { workingSubfolder: false });
    let server: Postgres | undefined;
    let noServer: string | undefined;
    try {
      server = await Postgres.create();
    } catch (err) {
      noServer = `no PostgreSQL: ${(err as Error).message}`;
    }
    try {
      const setups: ClusterSetupResult[] = [];
      for (const setup of CLUSTER_SETUPS) {
        if (setup.database && server === undefined) {
          log(`cluster: ${setup.title}: skipped: ${noServer}`);
          setups.push({ setup, skipped: noServer! });
          continue;
        }
        setups.push({ setup, measured: await benchSetup(join(dir, setup.key), store, tree, setup, samples, server) });
      }
      return { standins: STANDINS, samples, setups };
    } finally {
      await server?.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchSetup(dir: string, store: string, tree: StandInTree, setup: ClusterSetup, samples: number, server: Postgres | undefined): Promise<ClusterSetupResult['measured']> {
  log(`cluster: ${setup.title}: starting three hosts`);
  mkdirSync(dir);
  const settings = setup.database
    ? `[cluster]\ndatabase = ${server!.conninfo(await server!.freshDatabase())}\nname = {name}\nlease = ${LEASE_MS}\npoll_interval = ${DB_POLL_MS}\n`
    : '';
  // Hosts that poll start at independent moments, as real hosts do: otherwise their polls may fall in step.
  const spreadMs = setup.database ? 0 : setup.watchPollMs;
  const hosts = await ClusterHosts.start(dir, store, HOSTS, setup.watchPollMs, settings, WEB_CONFIG, spreadMs);
  try {
    const pollIntervalMs = setup.database ? DB_POLL_MS : setup.watchPollMs;
    const [status] = await hosts.statusesUntil(
      (s) => s.every((x) => x.polling.folders > 0 && x.polling.intervalMs === pollIntervalMs && (!setup.database || x.cluster?.mode === 'database')) && (!setup.database || leaders(s) === 1),
      setup.database ? `every daemon on the database, polling every ${pollIntervalMs} ms, exactly one leading` : `every daemon polling every ${pollIntervalMs} ms`,
    );
    const pollPhasesMs = setup.database ? undefined : pollPhases(hosts, pollIntervalMs);
    if (pollPhasesMs !== undefined) log(`  polls began ${HOSTS.slice(1).map((h) => `${h.toUpperCase()} ${whole(pollPhasesMs[h]!)}`).join(', ')} after A's (modulo ${whole(pollIntervalMs)})`);
    const discarded: string[] = [];
    const sampled = await visibility(hosts, setup, samples, discarded);
    const cpu = setup.cpu ? await cpuPerChange(hosts, setup, discarded) : undefined;
    const failover = setup.database ? await failovers(hosts) : undefined;
    const checked = await checkAnswer(hosts, store, tree);
    const answers = hosts.hosts.flatMap((h) => h.site.seen);
    return {
      polledFolders: status!.polling.folders,
      pollIntervalMs,
      ...(pollPhasesMs === undefined ? {} : { pollPhasesMs }),
      samples: sampled,
      indexAnswerMs: round1(median(answers.map((a) => a.ms))),
      ...(cpu === undefined ? {} : { cpu }),
      ...(failover === undefined ? {} : { failover }),
      checked,
      failedRequests: hosts.hosts.reduce((n, h) => n + h.site.failures().failed.length, 0),
      discarded,
    };
  } finally {
    await hosts.close();
    // The next set-up starts from `first` alone: an index of more repositories answers more slowly.
    for (const name of madeRepositories(store)) if (name !== 'first') rmSync(join(store, 'repos', name), { recursive: true, force: true });
  }
}

/** When each daemon began to poll (its `polling N folders every` line), after A's, modulo `intervalMs`. */
function pollPhases(hosts: ClusterHosts, intervalMs: number): Record<string, number> {
  const began = hosts.hosts.map((h) => {
    const line = hosts.daemon(h).lines.find((l) => /^polling \d+ folders every/.test(l.msg));
    if (line === undefined) throw new Error(`${h.name}'s daemon did not say it polls:\n${hosts.tails()}`);
    return loggedAt(line);
  });
  return Object.fromEntries(hosts.hosts.map((h, i) => [h.name, (((began[i]! - began[0]!) % intervalMs) + intervalMs) % intervalMs]));
}

const leaders = (statuses: readonly Status[]): number => statuses.filter((s) => s.cluster?.leading === true).length;

/**
 * Runs `sample` until a run of it was not disturbed: it says why not
 * (`why`), or a daemon walked every root meanwhile for a mount elsewhere on
 * the host (other work mounts FUSE and tmpfs); `discarded` keeps why each
 * run was thrown away.
 */
async function undisturbed<T>(hosts: ClusterHosts, discarded: string[], sample: (attempt: number) => Promise<{ result: T; why: string | undefined }>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const daemons = hosts.hosts.map((h) => hosts.daemon(h));
    const marks = daemons.map((d) => d.mark);
    const { result, why } = await sample(attempt);
    const disturbance = why ?? mountWalk(daemons, marks);
    if (disturbance === undefined) return result;
    if (attempt + 1 === MAX_TRIES) throw new Error(`${MAX_TRIES} samples in a row were disturbed; the last: ${disturbance}\n${hosts.tails()}`);
    discarded.push(disturbance);
    log(`  thrown away, taken again: ${disturbance}`);
  }
}

/** A walk of every root that a mount elsewhere on the host made (see PathsDaemon.disturbance). */
function mountWalk(daemons: readonly DaemonProcess[], marks: readonly number[]): string | undefined {
  for (const [i, d] of daemons.entries()) {
    const reason = d.lines.slice(marks[i]).flatMap(reasonsOf).find((r) => r.startsWith('file systems mounted or unmounted'));
    if (reason !== undefined) return `a daemon walked every root: ${reason}`;
  }
  return undefined;
}

/**
 * `samples` repositories made with hg init through A's, B's and C's mounts
 * in turn, each timed until every front end's index lists it. Before each,
 * with polling, a random pause of up to one poll interval: a sample made
 * right after the last one was found would start right after a poll.
 */
async function visibility(hosts: ClusterHosts, setup: ClusterSetup, samples: number, discarded: string[]): Promise<ClusterSample[]> {
  const results: ClusterSample[] = [];
  for (let i = 0; i < samples; i++) {
    const origin = hosts.hosts[i % hosts.hosts.length]!;
    const sample = await undisturbed(hosts, discarded, async (attempt) => {
      await sleep(setup.database ? DB_PAUSE_MS : Math.random() * setup.watchPollMs);
      return oneSample(hosts, setup, origin, `${setup.key}-${i}${attempt > 0 ? `-${attempt}` : ''}`);
    });
    results.push(sample);
    const each = hosts.hosts.map((h) => `${h.name.toUpperCase()} ${whole(sample.ms[h.name]!)}`).join(', ');
    log(`  ${sample.name} through ${origin.name.toUpperCase()}: ${each}`);
  }
  return results;
}

async function oneSample(hosts: ClusterHosts, setup: ClusterSetup, origin: Host, name: string): Promise<{ result: ClusterSample; why: string | undefined }> {
  const daemons = hosts.hosts.map((h) => hosts.daemon(h));
  const marks = daemons.map((d) => d.mark);
  hgInit(join(origin.mount, 'repos', name));
  const t0 = performance.now();
  const times = await Promise.all(
    hosts.hosts.map(async (h) => {
      await indexUntil(h.server.url, (a) => a.status === 200 && a.repos.includes(name), `${name} on ${h.name}`, h.site.seen, ASK_EVERY_MS);
      return performance.now() - t0;
    }),
  );
  const reloads = await Promise.all(daemons.map((d, i) => d.waitFor(adds(name), `${hosts.hosts[i]!.name}'s reload for ${name}`, { from: marks[i] })));
  // The other hosts' daemons hear of it from the database, or find it by a poll: anything else timed another path.
  const expected = setup.database ? 'cluster: ' : 'poll: ';
  const why = hosts.hosts
    .map((h, i) => (h === origin || reasonsOf(reloads[i]!).some((r) => r.startsWith(expected)) ? undefined : `${h.name} published ${name} for ${JSON.stringify(reasonsOf(reloads[i]!))}, not "${expected}…"`))
    .find((w) => w !== undefined);
  const ms = Object.fromEntries(hosts.hosts.map((h, i) => [h.name, round1(times[i]!)]));
  const othersMaxMs = Math.max(...hosts.hosts.filter((h) => h !== origin).map((h) => ms[h.name]!));
  return { result: { origin: origin.name, name, ms, othersMaxMs }, why };
}

/**
 * Each daemon's CPU over a window holding one repository made through A's
 * mount, and over the same length idle just before it, once all three were
 * quiet. With polling each window is POLLS_PER_WINDOW poll intervals long, so
 * both hold as many polls; the change must be published by every daemon
 * within its window.
 */
async function cpuPerChange(hosts: ClusterHosts, setup: ClusterSetup, discarded: string[]): Promise<{ windowMs: number; rounds: CpuRound[] }> {
  const windowMs = setup.database ? DB_CPU_WINDOW_MS : POLLS_PER_WINDOW * setup.watchPollMs;
  log(`  CPU per remote change: ${CPU_ROUNDS} rounds, windows of ${whole(windowMs)}`);
  const origin = hosts.hosts[0]!;
  const rounds: CpuRound[] = [];
  for (let r = 0; r < CPU_ROUNDS; r++) {
    const round = await undisturbed(hosts, discarded, async (attempt) => {
      const name = `${setup.key}-cpu-${r}${attempt > 0 ? `-${attempt}` : ''}`;
      const daemons = hosts.hosts.map((h) => hosts.daemon(h));
      await Promise.all(daemons.map((d) => quietCpuMs(d.pid, QUIET_MS, QUIET_TIMEOUT_MS)));
      const marks = daemons.map((d) => d.mark);
      const use = (): Array<{ cpu: number; run: number }> => daemons.map((d) => ({ cpu: cpuMs(d.pid), run: runTimeMs(d.pid) }));
      const c0 = use();
      await sleep(windowMs);
      const c1 = use();
      const start = performance.now();
      hgInit(join(origin.mount, 'repos', name));
      await sleep(windowMs - (performance.now() - start));
      const c2 = use();
      const end = Date.now();
      const late = hosts.hosts.find((_, i) => {
        const line = daemons[i]!.lines.slice(marks[i]).find(adds(name));
        return line === undefined || loggedAt(line) > end;
      });
      const byName = (values: (i: number) => number) => Object.fromEntries(hosts.hosts.map((h, i) => [h.name, values(i)]));
      return {
        result: {
          origin: origin.name,
          idleMs: byName((i) => c1[i]!.cpu - c0[i]!.cpu),
          changeWindowMs: byName((i) => c2[i]!.cpu - c1[i]!.cpu),
          idleRunMs: byName((i) => round1(c1[i]!.run - c0[i]!.run)),
          changeWindowRunMs: byName((i) => round1(c2[i]!.run - c1[i]!.run)),
        },
        why: late === undefined ? undefined : `${late.name}'s daemon had not published ${name} by the end of its ${whole(windowMs)} window`,
      };
    });
    rounds.push(round);
    const each = hosts.hosts
      .map((h) => `${h.name.toUpperCase()} ${whole(round.changeWindowMs[h.name]!)} / ran ${round.changeWindowRunMs[h.name]} ms (idle ${whole(round.idleMs[h.name]!)} / ${round.idleRunMs[h.name]} ms)`)
      .join(', ');
    log(`  round ${r + 1}: ${each}`);
  }
  return { windowMs, rounds };
}

/**
 * The leader SIGKILLed KILL_ROUNDS times (started again after each, back as
 * a standby), then paused once (SIGSTOP, continued once another leads):
 * from the signal to the `cluster: leading` line of the daemon that took over.
 */
async function failovers(hosts: ClusterHosts): Promise<FailoverFigures> {
  const steady = (s: readonly Status[]): boolean => s.every((x) => x.cluster?.mode === 'database') && leaders(s) === 1;
  const leaderNow = async (): Promise<{ leader: Host; epoch: number; others: Host[]; marks: number[] }> => {
    const s = await hosts.statusesUntil(steady, 'every daemon on the database, exactly one leading');
    const i = s.findIndex((x) => x.cluster?.leading === true);
    const leader = hosts.hosts[i]!;
    const others = hosts.hosts.filter((h) => h !== leader);
    return { leader, epoch: s[i]!.cluster!.epoch ?? 0, others, marks: others.map((h) => hosts.daemon(h).mark) };
  };
  const takeover = (others: readonly Host[], marks: readonly number[], epoch: number) =>
    hosts.firstLogged(others, marks, (l) => isLeading(l) && Number(l.epoch) > epoch, `"cluster: leading" with an epoch above ${epoch}`);

  const killMs: number[] = [];
  const killed: FailoverFigures['killed'] = [];
  for (let r = 0; r < KILL_ROUNDS; r++) {
    const { leader, epoch, others, marks } = await leaderNow();
    const daemon = hosts.daemon(leader);
    const killedAt = Date.now();
    daemon.signal('SIGKILL');
    const { host: next, line } = await takeover(others, marks, epoch);
    await daemon.exited;
    killMs.push(loggedAt(line) - killedAt);
    killed.push({ leader: leader.name, next: next.name });
    log(`  failover: ${leader.name.toUpperCase()} killed, ${next.name.toUpperCase()} leads after ${whole(killMs.at(-1)!)}`);
    await leader.site.startDaemon();
    await hosts.daemon(leader).waitFor((l) => l.msg.startsWith('cluster: standby'), `${leader.name}, started again: "cluster: standby"`);
  }

  const { leader, epoch, others, marks } = await leaderNow();
  const stoppedAt = Date.now();
  hosts.pause(leader);
  const { host: next, line } = await takeover(others, marks, epoch);
  const stopMs = loggedAt(line) - stoppedAt;
  hosts.resume(leader);
  log(`  failover: ${leader.name.toUpperCase()} paused, ${next.name.toUpperCase()} leads after ${whole(stopMs)} (lease ${whole(LEASE_MS)})`);
  await hosts.statusesUntil(
    (s) => steady(s) && s[hosts.hosts.indexOf(next)]!.cluster?.leading === true,
    `${leader.name}, continued, back on the database as a standby, ${next.name} leading`,
  );
  return { leaseMs: LEASE_MS, killMs, killed, stopMs, stopped: { leader: leader.name, next: next.name } };
}

/** The repositories right in the store's root folder (the group folders hold the stand-ins). */
function madeRepositories(store: string): string[] {
  const root = join(store, 'repos');
  return readdirSync(root)
    .filter((e) => existsSync(join(root, e, '.hg')))
    .sort();
}

/**
 * Every front end's index lists exactly the repositories in the store's root
 * folder, as a listing of it says (the stand-ins are not in the index, see
 * WEB_CONFIG), and every daemon serves those and the stand-ins.
 */
async function checkAnswer(hosts: ClusterHosts, store: string, tree: StandInTree): Promise<{ indexed: number; served: number }> {
  const expected = madeRepositories(store);
  const same = (repos: readonly string[]): boolean => repos.length === expected.length && [...repos].sort().every((r, i) => r === expected[i]);
  for (const h of hosts.hosts) {
    await indexUntil(h.server.url, (a) => a.status === 200 && same(a.repos), `on ${h.name}, exactly the ${expected.length} repositories of the store's root folder`, h.site.seen, ASK_EVERY_MS);
  }
  const served = expected.length + tree.names.length;
  await hosts.statusesUntil((s) => s.every((x) => x.repositories === served), `every daemon serving ${served} repositories`);
  log(`  checked: every index lists the store's ${expected.length}, every daemon serves ${served}`);
  return { indexed: expected.length, served };
}
