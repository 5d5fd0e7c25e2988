/** The results as a Markdown table (for the README, verbatim) and as one JSON line (for machines). */
import type { ContenderKey } from './contenders.js';
import type { Machine } from './machine.js';
import { median } from './timing.js';

export interface SizeResult {
  readonly repos: number;
  readonly runs: number;
  readonly buildMs: number;
  /** Timed samples per contender; absent when it was skipped. */
  readonly samples: Partial<Record<ContenderKey, number[]>>;
}

export const TARGET = { repos: 100_000, maxRatio: 1.5 };
const SKIPPED = 'skipped (quadratic; --hg-all runs it)';

const COLUMNS: ReadonlyArray<{ key: ContenderKey; title: string; ratio?: string }> = [
  { key: 'find', title: '`find` (stops at repositories)' },
  { key: 'hgreload', title: 'hgreload `discover()`', ratio: 'hgreload / find' },
  { key: 'cli', title: '`hgreload list` (CLI)', ratio: 'CLI / find' },
  { key: 'mercurial', title: 'Mercurial `findrepos`', ratio: 'Mercurial / find' },
];

export function markdown(results: readonly SizeResult[], machine: Machine): string {
  const head = ['repositories', ...COLUMNS.flatMap((c) => (c.ratio ? [c.title, c.ratio] : [c.title]))];
  const rows = results.map((r) => {
    const find = medianOf(r, 'find')!;
    const cells = COLUMNS.flatMap((c) => {
      const ms = medianOf(r, c.key);
      if (c.ratio === undefined) return [formatMs(ms!)];
      return ms === undefined ? [SKIPPED, '–'] : [formatMs(ms), formatRatio(ms / find)];
    });
    return [count(r.repos), ...cells];
  });
  const runs = [...new Set(results.map((r) => `${r.runs} at ${count(r.repos)}`))].join(', ');
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---:').join('|')}|`,
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
    '',
    `Median of timed runs (${runs}), each after one untimed warm-up run that also checks the answer; contenders take turns`,
    'within each run, so all see the same warm dentry cache. hgreload `discover()` is `loadServed()` in-process (config',
    "read and walk); the CLI's time includes Node's start and writing the list to /dev/null; Mercurial's is `findrepos`",
    "alone, timed inside Python (interpreter start and imports excluded). `find` stops at each repository as the `*`",
    'walks do, so all read the same folders (it tells repositories by their stand-in names; `find -name .hg -prune` alone',
    "also reads every working folder, as a `**` walk does). Every contender's list was checked against the tree",
    '(hgreload and Mercurial: the exact names, paths and order).',
    '',
    targetLine(results),
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, ${machine.fileSystem} (temp folder), ` +
      `Node ${machine.node}, Mercurial ${machine.mercurial}; ${machine.date}.`,
    '',
    `Stand-in trees (100 group folders, every 10th holding 4 team folders; each repository \`.hg/requires\`, \`.hg/store/\`,`,
    `\`README\`, \`src/main.c\`), built in: ${results.map((r) => `${count(r.repos)}: ${formatMs(r.buildMs)}`).join('; ')} (not part of the results).`,
  ].join('\n');
}

export function jsonSummary(results: readonly SizeResult[], machine: Machine): string {
  return JSON.stringify({
    benchmark: 'discovery',
    machine,
    target: { ...TARGET, ...targetOutcome(results) },
    results: results.map((r) => ({
      repos: r.repos,
      runs: r.runs,
      buildMs: round(r.buildMs),
      medianMs: Object.fromEntries(Object.keys(r.samples).map((k) => [k, round(medianOf(r, k as ContenderKey)!)])),
      samplesMs: Object.fromEntries(Object.entries(r.samples).map(([k, v]) => [k, v.map(round)])),
    })),
  });
}

function targetOutcome(results: readonly SizeResult[]): { ratio: number | null; met: boolean | null } {
  const r = results.find((x) => x.repos === TARGET.repos);
  if (r === undefined) return { ratio: null, met: null };
  const ratio = medianOf(r, 'hgreload')! / medianOf(r, 'find')!;
  return { ratio: Math.round(ratio * 100) / 100, met: ratio <= TARGET.maxRatio };
}

function targetLine(results: readonly SizeResult[]): string {
  const goal = `Target: ${count(TARGET.repos)} repositories in at most ${TARGET.maxRatio}x the time of find`;
  const { ratio, met } = targetOutcome(results);
  if (ratio === null) return `${goal}: not measured in this run.`;
  return `${goal}: ${met ? 'met' : 'NOT met'} (hgreload / find = ${formatRatio(ratio)}).`;
}

function medianOf(r: SizeResult, key: ContenderKey): number | undefined {
  const s = r.samples[key];
  return s === undefined ? undefined : median(s);
}

function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 100_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.round(ms / 1000)} s`;
}

function formatRatio(x: number): string {
  return `${x < 10 ? x.toFixed(2) : x.toFixed(1)}x`;
}

const count = (n: number): string => n.toLocaleString('en-US');
const round = (ms: number): number => Math.round(ms * 10) / 10;
