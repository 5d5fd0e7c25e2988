/**
 * What is timed. Each contender's warm-up run also checks its answer against
 * the tree it walked: a benchmark that times a wrong answer is worthless.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadServed } from '../src/discovery/load-served.js';
import { REPO_PREFIX, type StandInTree } from './tree.js';
import { elapsedMs } from './timing.js';

export type ContenderKey = 'find' | 'hgreload' | 'cli' | 'mercurial';

export interface Contender {
  readonly key: ContenderKey;
  /** One untimed run that checks the answer (and warms the caches). */
  warmUp(): Promise<void>;
  /** One timed run: milliseconds. */
  measure(): Promise<number>;
}

const CLI = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
/** Debian's python, which has the `mercurial` module of Debian's package. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/**
 * hgwebdir's own walk, timed inside Python so that interpreter start and
 * imports do not count against it. Prints {count, ms} and, with "list", the
 * (name, path) pairs.
 */
const MERCURIAL_WALK = `
import json, os, sys, time
from mercurial.hgweb import hgwebdir_mod
root, mode = os.fsencode(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
repos = list(hgwebdir_mod.findrepos([(b'/', root + b'/*')]))
out = {'count': len(repos), 'ms': (time.perf_counter() - start) * 1000}
if mode == 'list':
    out['repos'] = [os.fsdecode(n) + '\\t' + os.fsdecode(p) for n, p in repos]
print(json.dumps(out))
`;

export function contenders(tree: StandInTree, withMercurial: boolean): Contender[] {
  const cwd = dirname(tree.config);
  const expected = tree.names.map((n) => `${n}\t${tree.root}/${n}`);
  const find = findArgs(tree);
  const list: Contender[] = [
    {
      key: 'find',
      async warmUp() {
        const out = run('find', find, { capture: true });
        // find lists in directory order, not sorted: compare the sets.
        const found = lines(out).map((p) => `${p.slice(tree.root.length + 1, -'/.hg'.length)}\t${p.slice(0, -'/.hg'.length)}`);
        expectSame('find', found.sort(), [...expected].sort());
      },
      measure: () => elapsedMs(() => run('find', find)),
    },
    {
      key: 'hgreload',
      async warmUp() {
        const { repos } = await discover(tree.config, cwd);
        expectSame('hgreload discover()', repos.map((r) => `${r.name}\t${r.path}`), expected);
      },
      async measure() {
        let count = 0;
        const ms = await elapsedMs(async () => (count = (await discover(tree.config, cwd)).repos.length));
        expectCount('hgreload discover()', count, expected.length);
        return ms;
      },
    },
    {
      key: 'cli',
      async warmUp() {
        const out = run(process.execPath, [CLI, 'list', '-w', tree.config], { capture: true, cwd });
        expectSame('hgreload list', lines(out), expected);
      },
      measure: () => elapsedMs(() => run(process.execPath, [CLI, 'list', '-w', tree.config], { cwd })),
    },
  ];
  if (withMercurial) {
    list.push({
      key: 'mercurial',
      async warmUp() {
        const { repos } = mercurialWalk(tree.root, 'list');
        expectSame("Mercurial's findrepos", repos ?? [], expected);
      },
      async measure() {
        const { count, ms } = mercurialWalk(tree.root, 'count');
        expectCount("Mercurial's findrepos", count, expected.length);
        return ms;
      },
    });
  }
  return list;
}

/**
 * `find` doing the work of the `*` walks it is compared with, no more. Those
 * list each folder once and stop at a folder holding `.hg`; `find -name .hg
 * -prune` alone also lists every working folder (what a `**` walk reads).
 * find cannot look for a `.hg` child before it enters a folder without
 * forking per folder (`-exec test -d {}/.hg`), so it stops by name: in the
 * stand-in tree only repositories are named REPO_PREFIX*. Counted with strace
 * (folders given to getdents64) at 1,000 repositories: this find, hgreload and
 * Mercurial's findrepos each read the same 1,141 folders; `-name .hg -prune`
 * alone read 2,141, the same as a `**` walk.
 */
function findArgs(tree: StandInTree): string[] {
  return [tree.root, '-name', '.hg', '-prune', '-print', '-o', '-path', `${tree.root}/*/${REPO_PREFIX}*/*`, '-prune'];
}

async function discover(config: string, cwd: string) {
  const state = await loadServed(config, { cwd });
  if (state.errors.length > 0) throw new Error(`hgreload discover(): ${state.errors.map((e) => e.error.format()).join('; ')}`);
  return state;
}

function mercurialWalk(root: string, mode: 'list' | 'count'): { count: number; ms: number; repos?: string[] } {
  const out = run(SYSTEM_PYTHON, ['-c', MERCURIAL_WALK, root, mode], { capture: true, env: { ...process.env, HGRCPATH: '' } });
  return JSON.parse(out) as { count: number; ms: number; repos?: string[] };
}

interface RunOptions {
  /** Return stdout; otherwise it goes to /dev/null, as in the timed runs. */
  readonly capture?: boolean;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs a command (no shell) and fails loudly unless it exits 0. */
function run(cmd: string, args: readonly string[], options: RunOptions = {}): string {
  const spawnOptions: SpawnSyncOptions = {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', options.capture ? 'pipe' : 'ignore', 'pipe'], // 'ignore' is /dev/null
    maxBuffer: 1 << 30, // a 100,000-line listing is several MB
  };
  const r = spawnSync(cmd, args, spawnOptions);
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const why = r.signal === null ? `exit status ${r.status}` : `signal ${r.signal}`;
    throw new Error(`${[cmd, ...args.filter((a) => !a.includes('\n'))].join(' ')}: ${why}\n${String(r.stderr).trim()}`);
  }
  return options.capture ? String(r.stdout) : '';
}

function lines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

function expectCount(who: string, count: number, expected: number): void {
  if (count !== expected) throw new Error(`${who} found ${count} repositories, expected ${expected}`);
}

function expectSame(who: string, actual: readonly string[], expected: readonly string[]): void {
  expectCount(who, actual.length, expected.length);
  const i = actual.findIndex((a, k) => a !== expected[k]);
  if (i >= 0) throw new Error(`${who} differs at entry ${i}: ${JSON.stringify(actual[i])}, expected ${JSON.stringify(expected[i])}`);
}
