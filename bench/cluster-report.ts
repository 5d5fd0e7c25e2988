/** The cluster part's results as Markdown tables with what each figure includes and its targets, and one JSON line. */
import {
  ASK_EVERY_MS,
  CPU_ROUNDS,
  DB_PAUSE_MS,
  HOSTS,
  POLLS_PER_WINDOW,
  type ClusterResult,
  type ClusterSetupResult,
  type CpuRound,
  type FailoverFigures,
} from './cluster-bench.js';
import { ms } from './daemon-bench.js';
import type { Machine } from './machine.js';
import { median } from './timing.js';

/** The issue's targets: as on one host; a new leader soon after the old one died. */
export const CLUSTER_TARGETS = { visibleMedianMs: 150, visibleMaxMs: 300, failoverMs: 2000 } as const;

type Measured = NonNullable<ClusterSetupResult['measured']>;
/** A target's figure in this run and whether it was met; undefined when not measured. */
type Outcome = { readonly value: number; readonly met: boolean } | undefined;

const count = (n: number): string => n.toLocaleString('en-US');
const upper = (name: string): string => name.toUpperCase();
const round1 = (n: number): number => Math.round(n * 10) / 10;
const say = (o: Outcome, figure: string): string => (o === undefined ? 'not measured' : `${o.met ? 'met' : 'missed'} (${figure})`);

const SETTINGS: Record<ClusterSetupResult['setup']['key'], string> = {
  database: '`[cluster] database`, `poll_interval = 60000`; `[watch] poll = auto`, `poll_interval = 5000`',
  'poll-5000': '`[watch] poll = auto`, `poll_interval = 5000`',
  'poll-500': '`[watch] poll = auto`, `poll_interval = 500`',
};

/** Per sample the slowest other front end: their median and maximum. */
function visible(m: Measured): { median: number; max: number } {
  const figures = m.samples.map((s) => s.othersMaxMs);
  return { median: median(figures), max: Math.max(...figures) };
}

/** Each front end's median over the samples it did not originate. */
function perFrontEnd(m: Measured): string {
  return HOSTS.map((h) => {
    const figures = m.samples.filter((s) => s.origin !== h).map((s) => s.ms[h]!);
    return figures.length === 0 ? `${upper(h)} –` : `${upper(h)} ${ms(median(figures))}`;
  }).join(', ');
}

function visibleOutcome(m: Measured | undefined): { readonly value: number; readonly max: number; readonly met: boolean } | undefined {
  if (m === undefined) return undefined;
  const v = visible(m);
  return { value: round1(v.median), max: round1(v.max), met: v.median <= CLUSTER_TARGETS.visibleMedianMs && v.max <= CLUSTER_TARGETS.visibleMaxMs };
}

function failoverOutcomes(f: FailoverFigures | undefined): { kill: Outcome; stop: Outcome } {
  if (f === undefined) return { kill: undefined, stop: undefined };
  const kill = Math.max(...f.killMs);
  return {
    kill: { value: kill, met: kill < CLUSTER_TARGETS.failoverMs },
    // A paused leader cannot be told from a slow one before its lease has run out: the bound starts there.
    stop: { value: f.stopMs, met: f.stopMs < f.leaseMs + CLUSTER_TARGETS.failoverMs },
  };
}

export function clusterMarkdown(result: ClusterResult, machine: Machine): string {
  if (result.skipped !== undefined) return `Several front ends over one store (cluster): skipped: ${result.skipped}.`;
  const done = result.setups.filter((s) => s.measured !== undefined);
  const failover = done.find((s) => s.measured!.failover !== undefined)?.measured!.failover;
  const lines = [
    `Several front ends over one store: hosts A, B and C, each with its own bindfs mount of the store (\`-o attr_timeout=0\`), gunicorn (2 workers x 4 threads) and daemon (publish, debounce 50 ms), serving \`/ = MOUNT/repos/*\`: \`first\`, the bench's new repositories and ${count(result.standins)} stand-ins in group folders (\`[web] descend = false\`: the index at \`/\` lists the root's own repositories and leaves out the stand-ins, which hgweb would open one by one); PostgreSQL on a Unix socket. The set-ups one after another on the same store, ${result.samples} repositories each, made with \`hg init\` through A's, B's and C's mounts in turn:`,
    '',
    '| set-up | on every other front end: median | max | per front end (median) | on the origin\'s own front end (median) | target met? |',
    '|---|---:|---:|---|---:|---|',
    ...result.setups.map((s) => {
      const title = `${s.setup.title}: ${SETTINGS[s.setup.key]}`;
      if (s.measured === undefined) return `| ${title} | skipped | | | | |`;
      const m = s.measured;
      const v = visible(m);
      const own = median(m.samples.map((x) => x.ms[x.origin]!));
      const o = visibleOutcome(m)!;
      return `| ${title} | ${ms(v.median)} | ${ms(v.max)} | ${perFrontEnd(m)} | ${ms(own)} | ${o.met ? 'met' : 'missed'} |`;
    }),
    ...result.setups.filter((s) => s.skipped !== undefined).map((s) => `\nSkipped ${s.setup.title}: ${s.skipped}.`),
  ];
  if (failover !== undefined) lines.push('', ...failoverLines(failover));
  const cpu = done.filter((s) => s.measured!.cpu !== undefined);
  if (cpu.length > 0) lines.push('', ...cpuLines(cpu));
  lines.push(
    '',
    `- **on every other front end**: from \`hg init\`'s return (through the origin's mount) until the last of the other two front ends answered \`/?style=raw\` with an index listing the repository, each asked every ${ASK_EVERY_MS} ms, so a figure is late by up to that and one answer (median answer: ${done.map((s) => `${s.setup.title} ${ms(s.measured!.indexAnswerMs)}`).join('; ')}). A sample counts only if each other daemon's reload for it gave an event (\`cluster: …\`) as its reason with the database, a poll (\`poll: …\`) without. The median and max are over the samples; **per front end**, each front end's median over the samples made through another host's mount; **origin's own**: the host whose mount saw \`hg init\` (its daemon hears of it from inotify), as on one host.`,
    `- Before each sample, with the database, a pause of ${DB_PAUSE_MS} ms; with polling, a random pause of up to one poll interval, so that samples do not all start right after a poll. Each daemon polls the ${[...new Set(done.map((s) => count(s.measured!.polledFolders)))].join(' or ')} folders of the store that can hold a new repository (the root and the group folders) at the set-up's interval; with polling alone the hosts start a random pause of up to one interval apart, so that their polls are not in step (when B's and C's daemons began to poll, after A's and modulo the interval: ${phases(done)}).`,
    `- **Checked** at the end of each set-up: every front end's index lists exactly the repositories of the store's root folder (a listing of it), and every daemon's status counts those and the ${count(result.standins)} stand-ins; ${done.map((s) => `${s.setup.title}: ${s.measured!.checked.indexed} indexed, ${count(s.measured!.checked.served)} served`).join('; ')}. Failed requests (5xx or none), per set-up in order: ${done.map((s) => `${s.measured!.failedRequests}`).join(', ')}.`,
    ...done.flatMap((s) => (s.measured!.discarded.length === 0 ? [] : [`- ${s.setup.title}: ${s.measured!.discarded.length} sample(s) thrown away and taken again: ${[...new Set(s.measured!.discarded)].join('; ')}.`])),
    '',
    ...targetLines(result),
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, ${machine.fileSystem} (temp folder), Node ${machine.node}, Mercurial ${machine.mercurial}; ${machine.date}.`,
  );
  return lines.join('\n');
}

/** When B's and C's daemons began to poll, after A's, per polling set-up. */
function phases(done: readonly ClusterSetupResult[]): string {
  return done
    .filter((s) => s.measured!.pollPhasesMs !== undefined)
    .map((s) => `every ${ms(s.measured!.pollIntervalMs)}, ${HOSTS.slice(1).map((h) => `${upper(h)} ${ms(s.measured!.pollPhasesMs![h]!)}`).join(' and ')}`)
    .join('; ');
}

function failoverLines(f: FailoverFigures): string[] {
  const o = failoverOutcomes(f);
  return [
    `Failover, with the database and \`[cluster] lease = ${f.leaseMs}\` (the bench's, for a quick paused round; the default is 10000): from the signal to the leader until another daemon logs \`cluster: leading\` (its line's time):`,
    '',
    '| the leader | rounds | until another daemon leads | target met? |',
    '|---|---:|---|---|',
    `| SIGKILLed (started again between rounds, back as a standby) | ${f.killMs.length} | ${f.killMs.map(ms).join(', ')} (${f.killed.map((k) => `${upper(k.leader)}→${upper(k.next)}`).join(', ')}) | ${say(o.kill, `max ${ms(o.kill!.value)}, under ${ms(CLUSTER_TARGETS.failoverMs)}`)} |`,
    `| SIGSTOPped (continued once another led) | 1 | ${ms(f.stopMs)} with a lease of ${ms(f.leaseMs)} (${upper(f.stopped.leader)}→${upper(f.stopped.next)}) | ${say(o.stop, `under the lease + ${ms(CLUSTER_TARGETS.failoverMs)}`)} |`,
  ];
}

function cpuLines(setups: readonly ClusterSetupResult[]): string[] {
  const origin = setups[0]!.measured!.cpu!.rounds[0]!.origin;
  const order = [...HOSTS.filter((h) => h !== origin), origin];
  const fine = (n: number): string => `${n.toFixed(1)} ms`;
  const row = (s: ClusterSetupResult, h: string): string => {
    const { windowMs, rounds } = s.measured!.cpu!;
    const of = (f: (r: CpuRound) => number): number => median(rounds.map(f));
    const daemon = h === origin ? `${upper(h)} (the origin)` : upper(h);
    const spread = (f: (r: CpuRound) => number, show: (n: number) => string): string => {
      const values = rounds.map(f);
      return `${show(median(values))} (${show(Math.min(...values))}–${show(Math.max(...values))})`;
    };
    return `| ${s.setup.title} | ${daemon} | ${ms(windowMs)} | ${ms(of((r) => r.changeWindowMs[h]! - r.idleMs[h]!))} | ${fine(of((r) => r.changeWindowRunMs[h]! - r.idleRunMs[h]!))} | ${spread((r) => r.idleMs[h]!, ms)} | ${spread((r) => r.idleRunMs[h]!, fine)} |`;
  };
  return [
    `Each daemon's CPU for one remote change: a repository made through ${upper(origin)}'s mount, over a window holding it, less the same length idle just before, all three daemons quiet before; median of ${CPU_ROUNDS} rounds. utime + stime from /proc/PID/stat, as the other parts measure (10 ms ticks: a change's own cost is a tick or none), and beside it the time the daemon's threads ran, from the scheduler in ns (/proc/PID/task/*/schedstat). With polling each window is ${POLLS_PER_WINDOW} poll intervals long, so that it holds as many polls as the idle one: what polling costs shows in the idle columns (median, and in brackets the least and most of the rounds: where they differ by more than the figure above idle, that figure is within the windows' own variation). Every daemon published the change within its window:`,
    '',
    '| set-up | daemon | window | above idle: utime + stime | above idle: ran | idle: utime + stime | idle: ran |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...setups.flatMap((s) => order.map((h) => row(s, h))),
  ];
}

function outcomes(result: ClusterResult) {
  const by = (key: string) => result.setups.find((s) => s.setup.key === key)?.measured;
  const failover = result.setups.find((s) => s.measured?.failover !== undefined)?.measured?.failover;
  return {
    database: visibleOutcome(by('database')),
    poll5000: visibleOutcome(by('poll-5000')),
    poll500: visibleOutcome(by('poll-500')),
    ...failoverOutcomes(failover),
  };
}

/** The issue's targets, with this run's outcome (not asserted: the bench measures). */
function targetLines(result: ClusterResult): string[] {
  const t = CLUSTER_TARGETS;
  const o = outcomes(result);
  const visibleSay = (x: ReturnType<typeof visibleOutcome>): string => say(x, x === undefined ? '' : `${ms(x.value)} / ${ms(x.max)}`);
  return [
    `Targets: another host's new repository on every front end within ${ms(t.visibleMedianMs)} (median) and ${ms(t.visibleMaxMs)} (max) of \`hg init\` returning, as on one host; a new leader under ${ms(t.failoverMs)} after the old one died.`,
    `This run: with the database ${visibleSay(o.database)}; polling alone, 5 s ${visibleSay(o.poll5000)}; polling alone, 0.5 s ${visibleSay(o.poll500)}; failover after a kill ${say(o.kill, o.kill === undefined ? '' : `max ${ms(o.kill.value)}`)}; after a pause ${say(o.stop, o.stop === undefined ? '' : ms(o.stop.value))}.`,
  ];
}

export function clusterJson(result: ClusterResult, machine: Machine): string {
  return JSON.stringify({ benchmark: 'cluster', machine, targets: { ...CLUSTER_TARGETS, outcomes: outcomes(result) }, ...result });
}
