/**
 * What polling costs ([watch] poll, for roots on network and FUSE file
 * systems): the CPU of one poll of every folder that can hold a new
 * repository, on the stand-in tree, and what that makes per hour at the
 * default interval. Each timed poll must report nothing (the tree is still);
 * then one folder gets a new repository and the next poll must report exactly
 * that folder, or the bench fails.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadServed } from '../src/discovery/load-served.js';
import { realTimers } from '../src/daemon/coalescer.js';
import { FolderPoller } from '../src/watch/folder-poller.js';
import { median } from './timing.js';
import type { StandInTree } from './tree.js';

const POLLS = 20;
/** [watch] poll_interval's default, in ms. */
const DEFAULT_INTERVAL_MS = 5000;

export interface PollResult {
  readonly repositories: number;
  readonly folders: number;
  /** CPU (user + system) of each timed poll, ms. */
  readonly cpuMs: number[];
  /** Wall time of each timed poll, ms. */
  readonly wallMs: number[];
}

export async function benchPoll(tree: StandInTree): Promise<PollResult> {
  const state = await loadServed(tree.config, { cwd: tree.root });
  let reported: string[] = [];
  const poller = new FolderPoller({ intervalMs: 3_600_000, timers: realTimers, onChange: (f) => (reported = reported.concat(f)) });
  await poller.set(state.folders);
  const cpuMs: number[] = [];
  const wallMs: number[] = [];
  try {
    for (let i = 0; i < POLLS; i++) {
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await poller.poll();
      wallMs.push(performance.now() - t0);
      const used = process.cpuUsage(cpu);
      cpuMs.push((used.user + used.system) / 1000);
    }
    if (reported.length > 0) throw new Error(`poll bench: a still tree reported changes in ${reported.slice(0, 3).join(', ')}`);
    const folder = state.folders[Math.floor(state.folders.length / 2)]!;
    mkdirSync(join(folder, 'new-repository/.hg'), { recursive: true });
    await poller.poll();
    if (reported.length !== 1 || reported[0] !== folder) throw new Error(`poll bench: a new repository in ${folder} was reported as ${JSON.stringify(reported)}`);
  } finally {
    await poller.close();
  }
  return { repositories: state.repos.length, folders: state.folders.length, cpuMs, wallMs };
}

export function pollMarkdown(results: readonly PollResult[]): string {
  const rows = results.map((r) => {
    const cpu = median(r.cpuMs);
    const perHour = (cpu * (3_600_000 / DEFAULT_INTERVAL_MS)) / 1000;
    return `| ${r.repositories.toLocaleString('en-US')} | ${r.folders.toLocaleString('en-US')} | ${cpu.toFixed(2)} ms | ${median(r.wallMs).toFixed(2)} ms | ${perHour.toFixed(2)} s |`;
  });
  return [
    `A poll (\`[watch] poll\`: an open and a stat of each folder that can hold a new repository), ${POLLS} polls each, median; per hour at the default interval of ${DEFAULT_INTERVAL_MS / 1000} s:`,
    '',
    '| stand-in repositories | folders polled | CPU per poll | wall time per poll | CPU per hour |',
    '|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
