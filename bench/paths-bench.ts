/**
 * The daemon's paths other than the steady one (issue 20: fast in every
 * path): from a cold start, with no settle, on stand-in trees: start to
 * ready, the first change after ready and 99 more, memory and CPU after them
 * and after a forced rescan, a change made during a forced rescan, a
 * scheduled rescan of a still tree; and, on a flat root seen through FUSE, a
 * change that only polling finds. paths-report.ts says what each figure
 * includes.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { FORCED_RELOAD_INTERVAL_MS } from '../src/daemon/forced-reloads.js';
import { isReload, type LogLine } from '../test/helpers/daemon-process.js';
import { FuseMount } from './fuse-mount.js';
import type { PathsSize } from './options.js';
import { CHANGE_TIMEOUT_MS, loggedAt, PathsDaemon, reasonsOf, type Use } from './paths-daemon.js';
import { runTimeMs } from './process-use.js';
import { diskRoom, watchRoom } from './room.js';
import { buildTree, GROUPED_FOLDERS, type StandInTree } from './tree.js';
import { type SnapshotRead, WsgiTaker } from './wsgi-taker.js';

/** Changes made one at a time after ready, the first of them at once. */
export const CHANGES = 100;
/** Changes made during a forced rescan, one per rescan. */
export const DURING = 5;
export const POLL_SAMPLES = 9;
/** Snapshots a WSGI process reads alone, and as many beside requests: one per forced rescan. */
export const WSGI_READS = 2;
/** The least `[watch] poll_interval` allows. */
export const POLL_INTERVAL_MS = 100;
/** How long the polling daemon's idle CPU (its polls alone) is measured: 10 ms ticks, so long enough to count a few dozen. */
export const POLL_IDLE_MS = 10_000;
/** A first walk of a million repositories. */
const READY_TIMEOUT_MS = 1_800_000;
/**
 * The daemon walks once more at start when a watched folder changed within a
 * second of its first walk (daemon.ts); a tree left still this long is walked
 * once, as on a restart of a host whose trees are still.
 */
export const STILL_MS = 2000;
/** Watches beyond the tree's folders: the changes' own (under `**`), config files, other daemons' churn. */
const WATCH_MARGIN = 1000;

export interface PathsResult {
  readonly repos: number;
  readonly kind: '*' | '**';
  /** Why this size was not measured. */
  readonly skipped?: string;
  readonly buildMs?: number;
  readonly measured?: PathsFigures;
}

export interface PathsFigures {
  readonly readyMs: number;
  readonly atReady: Use;
  /** Folders the daemon watched at ready. */
  readonly watchedFolders: number;
  /** Whether the start walked twice (a second look, see STILL_MS). */
  readonly secondLook: boolean;
  /** Time to published of each change, the first (made at once after ready) first. */
  readonly changesMs: number[];
  readonly afterChanges: Use;
  /** From the CLI's return (the daemon answered) to the forced rescan's reload line. */
  readonly forcedRescanMs: number;
  readonly forcedRescanCpuMs: number;
  readonly afterForcedRescan: Use;
  readonly duringRescanMs: number[];
  /** How many of those changes were made before the rescan's own reload line was written: the rest came after it ended. */
  readonly duringRescanLanded: number;
  /** From the moment the schedule named to the rescan's end (its log line). */
  readonly scheduledRescanMs: number;
  readonly scheduledRescanCpuMs: number;
  /** A WSGI process reading a new snapshot with nothing else to do (ms). */
  readonly wsgiAloneMs: number[];
  /** A WSGI process reading each new snapshot while another of its threads makes requests. */
  readonly wsgiReads: SnapshotRead[];
  /** Samples thrown away and taken again: a mount elsewhere on the host made the daemon walk every root meanwhile. */
  readonly discarded: number;
  /** Figures that such a walk met and that could not be taken again (the first change after ready), by row. */
  readonly disturbed: Array<{ readonly row: string; readonly why: string }>;
}

export interface PollChangeResult {
  readonly repos: number;
  readonly skipped?: string;
  /** The daemon's CPU per second while it only polls. */
  readonly idleCpuMsPerSecond?: number;
  readonly cpuMs?: number[];
  /** Each of cpuMs less what polling alone would have used over its time (idleCpuMsPerSecond): the change's own. */
  readonly cpuAboveIdleMs?: number[];
  /** bindfs's CPU for each change: the file system's share, not the daemon's. */
  readonly fuseCpuMs?: number[];
  readonly publishedMs?: number[];
  readonly discarded?: number;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const count = (n: number): string => n.toLocaleString('en-US');

/** A sample is taken again at most this many times when a mount elsewhere disturbed it. */
const MAX_TRIES = 5;

/**
 * Runs `sample` (given the attempt's number, for fresh names) until a run of
 * it met no walk made for a mount elsewhere on the host; `discarded` counts
 * the runs thrown away.
 */
async function undisturbed<T>(daemon: PathsDaemon, discarded: { count: number }, sample: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const from = daemon.process.mark;
    const result = await sample(attempt);
    const why = daemon.disturbance(from);
    if (why === undefined) return result;
    if (attempt + 1 === MAX_TRIES) throw new Error(`${MAX_TRIES} samples in a row met a walk for mounts elsewhere on this host (${why})`);
    discarded.count++;
    log(`  thrown away, taken again: the daemon walked every root meanwhile (${why})`);
    await daemon.quiet();
  }
}

/** One tree, one daemon: every row of the table for this size. */
export async function benchPaths(dir: string, { repos, kind }: PathsSize): Promise<PathsResult> {
  log(`paths: ${count(repos)} stand-in repositories under ${kind}`);
  mkdirSync(dir, { recursive: true });
  const noDisk = diskRoom(dir, repos);
  if (noDisk !== undefined) return skip({ repos, kind }, noDisk);
  const room = watchRoom(watchesNeeded(repos, kind));
  if (!room.ok) return skip({ repos, kind }, room.reason);
  try {
    const t0 = performance.now();
    // Under `**` the daemon watches each repository's working folder: without a subfolder there, one watch each.
    const tree = await buildTree(dir, repos, { workingSubfolder: false });
    const buildMs = performance.now() - t0;
    log(`  built in ${(buildMs / 1000).toFixed(1)} s`);
    const config = join(dir, 'hgweb.config');
    writeFileSync(config, `[paths]\n/ = ${tree.root}/${kind}\n`);
    await sleep(STILL_MS);
    return { repos, kind, buildMs, measured: await measure(dir, config, tree) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const restored = room.restore();
    if (restored !== undefined) log(`  ${restored}`);
  }
}

function skip(size: PathsSize, reason: string): PathsResult {
  log(`  skipped: ${reason}`);
  return { ...size, skipped: reason };
}

/** The tree's folders that can hold a new repository, and (under `**`) each repository's working folder. */
function watchesNeeded(repos: number, kind: '*' | '**'): number {
  return GROUPED_FOLDERS + (kind === '**' ? repos : 0) + WATCH_MARGIN;
}

async function measure(dir: string, config: string, tree: StandInTree): Promise<PathsFigures> {
  const { daemon, ready, readyMs, use: atReady } = await PathsDaemon.start(dir, config, '', READY_TIMEOUT_MS);
  try {
    // Nothing is timed on a daemon that serves the wrong list.
    if (ready.repositories !== tree.names.length) throw new Error(`the daemon was ready with ${String(ready.repositories)} repositories; the tree has ${tree.names.length}`);
    const secondLook = daemon.process.lines.some((l) => reasonsOf(l).includes('second look after the first walk'));
    log(`  ready after ${(readyMs / 1000).toFixed(2)} s, ${Math.round(atReady.rssMb)} MB${secondLook ? ' (walked twice)' : ''}`);
    const newRepo = (name: string) => () => mkdirSync(join(tree.root, name, '.hg'), { recursive: true });
    let made = 0;
    const discarded = { count: 0 };
    const disturbed: PathsFigures['disturbed'] = [];
    const note = (row: string, from: number): void => {
      const why = daemon.disturbance(from);
      if (why !== undefined) disturbed.push({ row, why });
    };
    const change = async (name: string): Promise<number> => {
      const { ms } = await daemon.change(name, newRepo(name));
      made++;
      return ms;
    };

    // Row 2: the first change at once (it cannot be taken again), then one at a time on a quiet daemon.
    const changesMs: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      if (i > 0) await daemon.quiet();
      const name = `group-${String(i % 100).padStart(2, '0')}/paths-${String(i).padStart(3, '0')}`;
      if (i > 0) {
        changesMs.push(await undisturbed(daemon, discarded, (attempt) => change(attempt === 0 ? name : `${name}-${attempt}`)));
        continue;
      }
      const from = daemon.process.mark;
      changesMs.push(await change(name));
      note('first change after ready', from);
      log(`  first change after ready: published after ${Math.round(changesMs[0]!)} ms`);
    }
    await daemon.quiet();
    const afterChanges = daemon.use();
    log(`  ${CHANGES} changes: ${Math.round(afterChanges.rssMb)} MB after them`);

    // Row 3: a forced rescan of the still tree.
    const forcedCpu0 = afterChanges.cpuMs;
    const forcedFrom = daemon.process.mark;
    const forced = await forcedRescan(daemon);
    await daemon.quiet();
    const afterForcedRescan = daemon.use();
    note('forced rescan', forcedFrom);
    log(`  forced rescan: ${Math.round(forced.ms)} ms, ${Math.round(afterForcedRescan.rssMb)} MB after it`);

    // Row 4: a change made while a forced rescan runs; each touch spaced as the daemon spaces forced reloads.
    let lastForced = forced.at;
    const duringRescanMs: number[] = [];
    let landed = 0;
    for (let i = 0; i < DURING; i++) {
      const { ms, madeDuring } = await undisturbed(daemon, discarded, async (attempt) => {
        await sleep(Math.max(0, lastForced + FORCED_RELOAD_INTERVAL_MS + 200 - performance.now()));
        await daemon.quiet();
        const from = daemon.process.mark;
        daemon.touch();
        // In the root, which the rescan reads first: the change waits for whatever of the rescan is left.
        const madeAt = Date.now();
        const ms = await change(`during-${i}${attempt > 0 ? `-${attempt}` : ''}`);
        const touchLine = await daemon.process.waitFor((l) => isReload(l) && reasonsOf(l).includes('hgreload touch'), 'the forced reload', { from, timeoutMs: CHANGE_TIMEOUT_MS });
        lastForced = performance.now();
        return { ms, madeDuring: loggedAt(touchLine) >= madeAt };
      });
      duringRescanMs.push(ms);
      if (madeDuring) landed++;
      log(`  change during a forced rescan: published after ${Math.round(ms)} ms`);
    }

    // Row 5: a scheduled rescan of the still tree, through the schedule itself.
    const scheduled = await undisturbed(daemon, discarded, () => scheduledRescan(daemon, forced.ms));
    log(`  scheduled rescan: ${Math.round(scheduled.ms)} ms, ${Math.round(scheduled.cpuMs)} ms of CPU`);

    // Row 6: a WSGI process reading each new snapshot that a forced rescan writes.
    const { alone: wsgiAloneMs, beside: wsgiReads } = await snapshotReads(daemon, join(dir, 'hgweb.wsgi'), lastForced);

    const expected = tree.names.length + made;
    if (daemon.publishedCount() !== expected) throw new Error(`the published list holds ${daemon.publishedCount()} repositories; the tree has ${expected}`);
    return {
      readyMs,
      atReady,
      watchedFolders: ready.folders as number,
      secondLook,
      changesMs,
      afterChanges,
      forcedRescanMs: forced.ms,
      forcedRescanCpuMs: afterForcedRescan.cpuMs - forcedCpu0,
      afterForcedRescan,
      duringRescanMs,
      duringRescanLanded: landed,
      scheduledRescanMs: scheduled.ms,
      scheduledRescanCpuMs: scheduled.cpuMs,
      wsgiAloneMs,
      wsgiReads,
      discarded: discarded.count,
      disturbed,
    };
  } finally {
    await daemon.stop();
  }
}

/** `hgreload touch` on a quiet daemon: the time from the CLI's return to the reload it forces, and when that came (performance.now()). */
async function forcedRescan(daemon: PathsDaemon): Promise<{ ms: number; at: number }> {
  const from = daemon.process.mark;
  daemon.touch();
  const t0 = performance.now();
  await daemon.process.waitFor((l) => isReload(l) && reasonsOf(l).includes('hgreload touch'), 'the reload that hgreload touch forces', { from, timeoutMs: CHANGE_TIMEOUT_MS });
  const at = performance.now();
  return { ms: at - t0, at };
}

/**
 * The script `hgreload wsgi` prints, loaded in a Python process (which reads
 * the list at its start); then WSGI_READS times each, in turn: `hgreload
 * touch` (which writes a new snapshot), the daemon quiet, and the process
 * reads the new snapshot alone, or while another of its threads makes
 * requests.
 */
async function snapshotReads(daemon: PathsDaemon, script: string, lastForced: number): Promise<{ alone: number[]; beside: SnapshotRead[] }> {
  daemon.writeWsgiScript(script);
  const taker = await WsgiTaker.start(script, daemon.publishedCount());
  const newSnapshot = async (): Promise<void> => {
    await sleep(Math.max(0, lastForced + FORCED_RELOAD_INTERVAL_MS + 200 - performance.now()));
    await daemon.quiet();
    lastForced = (await forcedRescan(daemon)).at;
    await daemon.quiet();
  };
  // After each timed read, not in it: every name as a request looks it up, and the whole list, against the daemon's.
  const expect = async (repos: number): Promise<void> => {
    const published = daemon.publishedList();
    if (repos !== published.length) throw new Error(`the WSGI process read ${repos} repositories; the daemon published ${published.length}`);
    await taker.check(published, join(dirname(script), 'published.json'));
  };
  try {
    const alone: number[] = [];
    const beside: SnapshotRead[] = [];
    for (let i = 0; i < WSGI_READS; i++) {
      await newSnapshot();
      const take = await taker.take();
      if (!take.snapshot) throw new Error('the WSGI process found no new snapshot after hgreload touch');
      await expect(take.repos);
      alone.push(take.ms);
      log(`  WSGI snapshot read alone: ${Math.round(take.ms)} ms`);
      await newSnapshot();
      const read = await taker.read();
      await expect(read.repos);
      beside.push(read);
      log(`  WSGI snapshot read beside requests: ${Math.round(read.ms)} ms; ${read.requests} requests meanwhile, the slowest ${read.slowestMs === undefined ? '-' : Math.round(read.slowestMs)} ms, kept from running ${read.waitedMs === undefined ? '-' : read.waitedMs.toFixed(1)} ms (idle ${read.idleMs.toFixed(1)} ms, ${read.idleWaitedMs.toFixed(1)} ms)`);
    }
    return { alone, beside };
  } finally {
    await taker.stop();
  }
}

/**
 * The schedule set to fire once, a few rescans' time from now (SIGHUP walks
 * every root first); timed from the second it names to the end of the cycle
 * it starts, which on a still tree publishes nothing and says so in the debug
 * log. Scheduled rescans and `touch` differ: touch also forces a reload (the
 * whole list published again), the schedule reloads only what changed.
 */
async function scheduledRescan(daemon: PathsDaemon, rescanMs: number): Promise<{ ms: number; cpuMs: number }> {
  for (let margin = 2 * rescanMs + 3000; ; margin *= 2) {
    await daemon.quiet();
    const moment = new Date(Date.now() + margin);
    moment.setMilliseconds(0);
    const from = daemon.process.mark;
    daemon.scheduleAt(moment);
    await daemon.process.waitFor((l) => l.msg === 'settings reloaded', 'settings reloaded', { from, timeoutMs: CHANGE_TIMEOUT_MS });
    const cpu0 = await daemon.quiet();
    // The settings' own walk outlasted the margin: the timing would start in the middle of it.
    if (Date.now() > moment.getTime() - 100) {
      log(`  the walk after SIGHUP outlasted ${margin} ms: again with more`);
      continue;
    }
    // "scheduled rescan", or with what the stamp check found: "scheduled rescan: 206 folders changed".
    const end = await daemon.process.waitFor((l) => reasonsOf(l).some((r) => r.startsWith('scheduled rescan')) && (isReload(l) || l.msg === 'served list unchanged; no reload'), 'the scheduled rescan', {
      from,
      timeoutMs: margin + CHANGE_TIMEOUT_MS,
    });
    if (isReload(end)) throw new Error(`the scheduled rescan of a still tree reloaded: ${JSON.stringify(end)}`);
    const cpu1 = await daemon.quiet();
    return { ms: loggedAt(end) - moment.getTime(), cpuMs: cpu1 - cpu0 };
  }
}

/**
 * Row 6: a flat root of `repos` stand-ins seen through FUSE, `[watch] poll =
 * always`; each new stand-in is made in the folder under the mount, which
 * inotify on the mount never hears of, so only a poll finds it.
 */
export async function benchPollChange(dir: string, repos: number): Promise<PollChangeResult> {
  log(`paths: a change found by polling, flat root of ${count(repos)} stand-ins through FUSE`);
  mkdirSync(dir, { recursive: true });
  const noDisk = diskRoom(dir, repos);
  if (noDisk !== undefined) {
    log(`  skipped: ${noDisk}`);
    return { repos, skipped: noDisk };
  }
  try {
    const tree = await buildTree(join(dir, 'store'), repos, { flat: true, workingSubfolder: false });
    const target = join(dir, 'mount');
    mkdirSync(target);
    const mount = await FuseMount.mount(join(dir, 'store'), target);
    if (typeof mount === 'string') {
      log(`  skipped: ${mount}`);
      return { repos, skipped: mount };
    }
    try {
      return { repos, ...(await measurePoll(dir, tree, mount)) };
    } finally {
      await mount.unmount();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measurePoll(dir: string, tree: StandInTree, mount: FuseMount): Promise<Omit<PollChangeResult, 'repos'>> {
  const config = join(dir, 'hgweb.config');
  writeFileSync(config, `[paths]\n/ = ${mount.target}/repos/*\n`);
  await sleep(STILL_MS);
  const { daemon, ready } = await PathsDaemon.start(dir, config, `[watch]\npoll = always\npoll_interval = ${POLL_INTERVAL_MS}\n`, READY_TIMEOUT_MS);
  try {
    if (ready.repositories !== tree.names.length) throw new Error(`the polling daemon was ready with ${String(ready.repositories)} repositories; the tree has ${tree.names.length}`);
    if (!daemon.process.lines.some((l: LogLine) => l.msg.startsWith(`polling 1 folders every ${POLL_INTERVAL_MS} ms`))) {
      throw new Error(`the daemon does not poll the flat root every ${POLL_INTERVAL_MS} ms:\n${daemon.process.output.join('\n')}`);
    }
    const discarded = { count: 0 };
    // The daemon's run time from the scheduler (ns), not its 10 ms ticks: a change costs a few ticks at most.
    const idleCpuMsPerSecond = await undisturbed(daemon, discarded, async () => {
      await daemon.quiet();
      const idle0 = runTimeMs(daemon.pid);
      const t0 = performance.now();
      await sleep(POLL_IDLE_MS);
      return ((runTimeMs(daemon.pid) - idle0) * 1000) / (performance.now() - t0);
    });
    const cpu: number[] = [];
    const aboveIdle: number[] = [];
    const fuseCpu: number[] = [];
    const publishedMs: number[] = [];
    for (let i = 0; i < POLL_SAMPLES; i++) {
      const sample = await undisturbed(daemon, discarded, async (attempt) => {
        await daemon.quiet();
        const cpu0 = runTimeMs(daemon.pid);
        const t0 = performance.now();
        const fuse0 = runTimeMs(mount.pid);
        const name = `polled-${i}${attempt > 0 ? `-${attempt}` : ''}`;
        const from = daemon.process.mark;
        const { ms, line } = await daemon.change(name, () => mkdirSync(join(tree.root, name, '.hg'), { recursive: true }));
        await daemon.quiet();
        const used = runTimeMs(daemon.pid) - cpu0;
        const reasons = reasonsOf(line);
        // Found by inotify instead (a reason naming the folder's entry), the row would time the wrong path; one
        // found by a walk for a mount elsewhere is thrown away by undisturbed.
        const byPoll = reasons.some((r) => r.startsWith('poll:')) && !reasons.some((r) => r.startsWith('/'));
        if (!byPoll && daemon.disturbance(from) === undefined) throw new Error(`${name} was published for ${JSON.stringify(reasons)}, not by a poll`);
        return { name, ms, used, aboveIdle: used - (idleCpuMsPerSecond * (performance.now() - t0)) / 1000, fuse: runTimeMs(mount.pid) - fuse0 };
      });
      publishedMs.push(sample.ms);
      cpu.push(sample.used);
      aboveIdle.push(sample.aboveIdle);
      fuseCpu.push(sample.fuse);
      log(`  ${sample.name}: published after ${Math.round(sample.ms)} ms, ${sample.used.toFixed(1)} ms of the daemon's CPU`);
    }
    return { idleCpuMsPerSecond, cpuMs: cpu, cpuAboveIdleMs: aboveIdle, fuseCpuMs: fuseCpu, publishedMs, discarded: discarded.count };
  } finally {
    await daemon.stop();
  }
}
