/** The paths part's results as a Markdown table (sizes side by side) with what each figure includes, its targets, and one JSON line. */
import { FORCED_RELOAD_INTERVAL_MS } from '../src/daemon/forced-reloads.js';
import { DEBOUNCE_MS, ms } from './daemon-bench.js';
import type { Machine } from './machine.js';
import { CHANGES, DURING, POLL_IDLE_MS, POLL_INTERVAL_MS, POLL_SAMPLES, STILL_MS, WSGI_READS, type PathsFigures, type PathsResult, type PollChangeResult } from './paths-bench.js';
import { QUIET_MS } from './paths-daemon.js';
import { median } from './timing.js';

export const PATHS_TARGETS = { repos: 100_000, kind: '**', readyMs: 3000, readyRssMb: 120, rssGrowth: 0.1, changeMs: 150, pollCpuMs: 10, wsgiReadMs: 100, wsgiWaitMs: 10 } as const;

const count = (n: number): string => n.toLocaleString('en-US');
const mb = (n: number): string => `${Math.round(n)} MB`;
const medianMax = (samples: readonly number[]): string => `${ms(median(samples))} / ${ms(Math.max(...samples))}`;

const ROWS: ReadonlyArray<readonly [string, (f: PathsFigures) => string]> = [
  ['start to ready', (f) => ms(f.readyMs) + (f.secondLook ? ' (walked twice)' : '')],
  ['CPU / resident memory at ready', (f) => `${ms(f.atReady.cpuMs)} / ${mb(f.atReady.rssMb)}`],
  ['first change after ready', (f) => ms(f.changesMs[0]!)],
  [`${CHANGES} changes one at a time (median / max)`, (f) => medianMax(f.changesMs)],
  ['CPU / resident memory after them', (f) => `${ms(f.afterChanges.cpuMs)} / ${mb(f.afterChanges.rssMb)}`],
  ['forced rescan (`hgreload touch`): wall / CPU', (f) => `${ms(f.forcedRescanMs)} / ${ms(f.forcedRescanCpuMs)}`],
  ['CPU / resident memory after it', (f) => `${ms(f.afterForcedRescan.cpuMs)} / ${mb(f.afterForcedRescan.rssMb)}`],
  [`change during a forced rescan (median / max; made during it)`, (f) => `${medianMax(f.duringRescanMs)} (${f.duringRescanLanded} of ${f.duringRescanMs.length})`],
  ['scheduled rescan of the still tree: wall / CPU', (f) => `${ms(f.scheduledRescanMs)} / ${ms(f.scheduledRescanCpuMs)}`],
  ['WSGI process: snapshot read alone (median / max)', (f) => medianMax(f.wsgiAloneMs)],
  ['the same beside a thread making requests (median / max)', (f) => medianMax(f.wsgiReads.map((r) => r.ms))],
  [
    'that thread meanwhile: longest wait / slowest request (idle medians)',
    (f) =>
      `${longest(f.wsgiReads.map((r) => r.waitedMs))} / ${longest(f.wsgiReads.map((r) => r.slowestMs))} ` +
      `(${fine(median(f.wsgiReads.map((r) => r.idleWaitedMs)))} / ${fine(median(f.wsgiReads.map((r) => r.idleMs)))})`,
  ],
];

/** The largest of the reads' figures; '-' where every read ended before a request could start. */
function longest(figures: ReadonlyArray<number | undefined>): string {
  const all = figures.filter((v) => v !== undefined);
  return all.length === 0 ? '-' : fine(Math.max(...all));
}

export function pathsMarkdown(results: readonly PathsResult[], poll: PollChangeResult | undefined, machine: Machine): string {
  const head = ['', ...results.map((r) => `${count(r.repos)} under \`${r.kind}\``)];
  const lines = [
    `The daemon's other paths, from a cold start with no settle (publish, debounce = ${DEBOUNCE_MS} ms, scheduled rescans off but where timed; stand-ins without a working subfolder):`,
    '',
    `| ${head.join(' | ')} |`,
    `|---|${results.map(() => '---:').join('|')}|`,
    ...ROWS.map(([title, cell]) => `| ${title} | ${results.map((r) => (r.measured === undefined ? 'skipped' : cell(r.measured))).join(' | ')} |`),
    ...results.filter((r) => r.skipped !== undefined).map((r) => `\nSkipped ${count(r.repos)} under \`${r.kind}\`: ${r.skipped}.`),
    ...results.flatMap((r) => (r.measured === undefined ? [] : disturbedLines(`${count(r.repos)} under \`${r.kind}\``, r.measured.discarded, r.measured.disturbed))),
  ];
  if (poll !== undefined) lines.push('', ...pollLines(poll));
  lines.push(
    '',
    `- **start to ready**: from the daemon's spawn to its \`ready\` log line, on a tree left still ${STILL_MS / 1000} s after it was built (page cache warm), so the start walks once; "walked twice" marks a start that took its second look anyway.`,
    '- **CPU / resident memory**: utime + stime of the daemon since its start (/proc/PID/stat, 10 ms ticks) and its VmRSS, read at the `ready` line, and after the changes and the forced rescan once the daemon had used no CPU for ' +
      `${QUIET_MS} ms.`,
    `- **first change after ready**: \`mkdir -p ROOT/group-00/paths-000/.hg\` made the moment the bench read \`ready\`, until the daemon logged the reload naming it and the list a WSGI process takes (snapshot and journal, read as tests/helpers/published.ts reads them) held it; the time runs from mkdir's return. The ${CHANGES - 1} more are made the same way in other group folders, each once the daemon had been quiet ${QUIET_MS} ms; the median and max are of all ${CHANGES}.`,
    `- **forced rescan**: \`hgreload touch\` through the CLI and the control socket on a quiet daemon, from the CLI's return (the daemon has answered; its rescan starts at once) to the reload it forces (the whole list published again); its CPU until quiet.`,
    `- **change during a forced rescan**: \`hgreload touch\`, then at the CLI's return \`mkdir -p ROOT/during-i/.hg\` in the root, which the rescan reads first, timed as above; ${DURING} rescans, spaced ${FORCED_RELOAD_INTERVAL_MS / 1000} s apart as the daemon spaces forced reloads (one sooner waits, and walks again when it may). "Made during it": changes made before the rescan's own reload line was written; the others came after the rescan had ended.`,
    `- **WSGI process**: the script \`hgreload wsgi\` prints, loaded in a Python process of its own (bench/wsgi_take.py, Debian's python3 and Mercurial); after \`hgreload touch\` (each writes a new snapshot) and the daemon quiet, the process takes the new snapshot, from the start of its look to the new list in use: ${WSGI_READS} times alone, and ${WSGI_READS} times in one thread while another makes requests for a static file one after another, from the moment the read began until it ended: the longest time one of those did not run (its wall time less its thread's CPU time: waiting for the GIL, the lock, the disk or a core) and the slowest of them, beside the medians of the same for 20 made just after. A static file is the cheapest request hgweb answers (about a full garbage collection of the process, which hgwebdir makes after every request), so it shows the wait best. The wait is judged, not the time: a request made after the thread was idle for seconds takes twice the CPU of the next ones with no read beside it. After each read (not timed), every published name is looked up in the process as a request looks it up, and the whole list made as an index page makes it, against the daemon's list.`,
    `- **scheduled rescan**: \`[rescan] schedule\` set (SIGHUP) to fire once, at a given second, on a quiet daemon; from that second to the debug line that ends the cycle (on a still tree it publishes nothing), CPU until quiet. It is the rescan \`touch\` makes, without the forced reload.`,
    '',
    ...targetLines(results, poll),
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, ${machine.fileSystem} (temp folder), Node ${machine.node}, Mercurial ${machine.mercurial}; ${machine.date}.`,
  );
  return lines.join('\n');
}

function pollLines(poll: PollChangeResult): string[] {
  if (poll.skipped !== undefined) return [`A change found by polling (flat root of ${count(poll.repos)}): skipped: ${poll.skipped}.`];
  return [
    `A change found by polling: a flat root (\`/ = mount/*\`) of ${count(poll.repos)} stand-ins seen through FUSE (bindfs, attribute caches off), \`[watch] poll = always\`, \`poll_interval = ${POLL_INTERVAL_MS}\`; each new stand-in is made in the folder under the mount, which inotify on the mount does not hear of; ${POLL_SAMPLES} changes, each on a quiet daemon:`,
    '',
    '| stand-ins in the polled folder | daemon CPU per change (median / max) | of it, above polling alone (median) | published after (median / max) | bindfs CPU per change (median) | daemon CPU while only polling |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${count(poll.repos)} | ${fine(median(poll.cpuMs!))} / ${fine(Math.max(...poll.cpuMs!))} | ${fine(median(poll.cpuAboveIdleMs!))} | ${medianMax(poll.publishedMs!)} | ${fine(median(poll.fuseCpuMs!))} | ${fine(poll.idleCpuMsPerSecond!)} per s |`,
    ...disturbedLines('Polling', poll.discarded ?? 0, []),
    '',
    `- **daemon CPU per change**: the run time of the daemon's threads as the scheduler counts it (/proc/PID/task/*/schedstat, in ns; utime and stime count 10 ms ticks) from quiet before the change to quiet after it (${QUIET_MS} ms without a tick), the polls meanwhile included; **above polling alone** takes off what the daemon used per second while it only polled (the last column, over ${POLL_IDLE_MS / 1000} s before the changes) times the sample's length. **published after**: from mkdir's return until the reload naming it, whose reasons were a poll's alone, and the published list holding it. **bindfs CPU**: the FUSE server's share of the daemon's looks, not the daemon's.`,
  ];
}

/** What mounts elsewhere on the host did to a size's samples (see PathsDaemon.disturbance); nothing when nothing. */
function disturbedLines(what: string, discarded: number, disturbed: PathsFigures['disturbed']): string[] {
  const lines = [];
  if (discarded > 0) lines.push(`\n${what}: ${discarded} sample(s) thrown away and taken again: a mount elsewhere on this host made the daemon walk every root meanwhile.`);
  for (const { row, why } of disturbed) lines.push(`\n${what}: the ${row} met a walk for a mount elsewhere on this host (${why}), and could not be taken again.`);
  return lines;
}

/** Figures of a few ms keep a decimal. */
const fine = (n: number): string => (n < 10 ? `${n.toFixed(1)} ms` : ms(n));

/** A target's figure in this run, and whether it was met; undefined when not measured. */
type Outcome = { readonly value: number; readonly met: boolean } | undefined;

function targetOutcomes(results: readonly PathsResult[], poll: PollChangeResult | undefined): Record<'ready' | 'readyRss' | 'rssGrowth' | 'firstChange' | 'duringRescan' | 'pollCpu' | 'wsgiRead' | 'wsgiWait', Outcome> {
  const t = PATHS_TARGETS;
  const f = results.find((r) => r.repos === t.repos && r.kind === t.kind)?.measured;
  const judged = (value: number | undefined, met: (v: number) => boolean): Outcome => (value === undefined ? undefined : { value: Math.round(value * 1000) / 1000, met: met(value) });
  const rssAfter = f && Math.max(f.afterChanges.rssMb, f.afterForcedRescan.rssMb);
  return {
    ready: judged(f?.readyMs, (v) => v <= t.readyMs),
    readyRss: judged(f?.atReady.rssMb, (v) => v < t.readyRssMb),
    rssGrowth: judged(f && rssAfter! / f.atReady.rssMb - 1, (v) => v <= t.rssGrowth),
    firstChange: judged(f?.changesMs[0], (v) => v <= t.changeMs),
    duringRescan: judged(f && median(f.duringRescanMs), (v) => v <= t.changeMs),
    pollCpu: judged(poll?.cpuAboveIdleMs && median(poll.cpuAboveIdleMs), (v) => v < t.pollCpuMs),
    wsgiRead: judged(f && Math.max(...f.wsgiAloneMs), (v) => v < t.wsgiReadMs),
    // The longest time a request did not run during a read, less an idle one's.
    wsgiWait: judged(f && Math.max(0, ...f.wsgiReads.map((r) => (r.waitedMs ?? r.idleWaitedMs) - r.idleWaitedMs)), (v) => v <= t.wsgiWaitMs),
  };
}

/** The targets, with this run's outcome (not asserted: the bench measures). */
function targetLines(results: readonly PathsResult[], poll: PollChangeResult | undefined): string[] {
  const t = PATHS_TARGETS;
  const o = targetOutcomes(results, poll);
  const say = (x: Outcome, figure: (v: number) => string): string => (x === undefined ? 'not measured' : `${x.met ? 'met' : 'missed'} (${figure(x.value)})`);
  const percent = (v: number): string => `${v >= 0 ? '+' : ''}${Math.round(v * 100)}%`;
  return [
    `Targets at ${count(t.repos)} under \`${t.kind}\`: ready within ${ms(t.readyMs)}, under ${t.readyRssMb} MB resident at ready, resident after the changes and the forced rescan within ${t.rssGrowth * 100}% of that at ready, the first change after ready and a change during a forced rescan (median) published within ${t.changeMs} ms; on the polled root, a change found by polling under ${t.pollCpuMs} ms of the daemon's CPU above its polling alone (median); a WSGI process's snapshot read under ${t.wsgiReadMs} ms, and no request of its other thread kept from running more than ${t.wsgiWaitMs} ms longer than an idle one.`,
    `This run: ready ${say(o.ready, ms)}; memory at ready ${say(o.readyRss, mb)}; memory after ${say(o.rssGrowth, percent)}; ` +
      `first change ${say(o.firstChange, ms)}; during a rescan ${say(o.duringRescan, ms)}; polling ${say(o.pollCpu, fine)}; WSGI read ${say(o.wsgiRead, ms)}, wait ${say(o.wsgiWait, fine)}.`,
  ];
}

export function pathsJson(results: readonly PathsResult[], poll: PollChangeResult | undefined, machine: Machine): string {
  return JSON.stringify({ benchmark: 'paths', machine, debounceMs: DEBOUNCE_MS, targets: { ...PATHS_TARGETS, outcomes: targetOutcomes(results, poll) }, results, poll });
}
