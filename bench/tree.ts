/**
 * Stand-in hosting trees: N small repositories spread over group folders the
 * way a real hgweb host lays them out. Only what a walk looks at is real
 * (`.hg` with `requires` and `store/`, a working folder with a file and,
 * unless left out, a subfolder); no history. Built with sync calls in a
 * tight loop: 100,000 repositories take seconds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTick } from 'node:timers/promises';

const GROUPS = 100;
/** Every 10th group holds team folders instead of repositories: a part of the tree two levels deep. */
const NESTED_EVERY = 10;
const TEAMS = 4;
/** The folders of a tree (not flat) that are not repositories: the root, the groups, the teams. */
export const GROUPED_FOLDERS = 1 + GROUPS + (GROUPS / NESTED_EVERY) * TEAMS;
const REQUIRES = 'dotencode\nfncache\ngeneraldelta\nrevlogv1\nsparserevlog\nstore\n';
/** How every repository's folder name starts, and no other folder's: lets `find` stop at repositories by name. */
export const REPO_PREFIX = 'repo-';

export interface StandInTree {
  /** The collection folder: hgweb.config says `/ = ROOT/*`. */
  readonly root: string;
  readonly config: string;
  /** Repository paths below root, in hgweb's order (the build creates them in that order). */
  readonly names: readonly string[];
}

export interface TreeOptions {
  /**
   * Each repository's working subfolder (`src/`, default true). Under a `**`
   * root the daemon watches every working folder: without it a repository
   * costs one inotify watch, not two (100,000 repositories fit the default
   * limit of a machine's watches).
   */
  readonly workingSubfolder?: boolean;
  /**
   * Every repository right in the root, no group folders (default false): one
   * folder of N entries, the one folder that can hold a new repository, and
   * the whole of what a look at it after a poll reads.
   */
  readonly flat?: boolean;
}

/** A flat tree lets a Ctrl-C handler run this often. */
const FLAT_BATCH = 1000;

export async function buildTree(dir: string, count: number, { workingSubfolder = true, flat = false }: TreeOptions = {}): Promise<StandInTree> {
  const root = join(dir, 'repos');
  mkdirSync(root, { recursive: true });
  const names: string[] = [];
  for (let r = 0; flat && r < count; r++) {
    const name = `${REPO_PREFIX}${pad(r, 6)}`;
    makeRepo(join(root, name), workingSubfolder);
    names.push(name);
    if (r % FLAT_BATCH === FLAT_BATCH - 1) await nextTick();
  }
  for (let g = 0; !flat && g < GROUPS; g++) {
    const group = `group-${pad(g, 2)}`;
    mkdirSync(join(root, group));
    const folders = g % NESTED_EVERY === 0 ? Array.from({ length: TEAMS }, (_, t) => `${group}/team-${t}`) : [group];
    const inGroup = share(count, GROUPS, g);
    folders.forEach((folder, f) => {
      if (folder !== group) mkdirSync(join(root, folder));
      // Zero-padded, ever-increasing names: creation order is hgweb's sorted order.
      for (let r = 0; r < share(inGroup, folders.length, f); r++) {
        const name = `${folder}/${REPO_PREFIX}${pad(names.length, 6)}`;
        makeRepo(join(root, name), workingSubfolder);
        names.push(name);
      }
    });
    await nextTick(); // lets a Ctrl-C handler run (and clean up) between groups
  }
  const config = join(dir, 'hgweb.config');
  writeFileSync(config, `[paths]\n/ = ${root}/*\n`);
  return { root, config, names };
}

function makeRepo(repo: string, workingSubfolder: boolean): void {
  mkdirSync(repo);
  mkdirSync(`${repo}/.hg`);
  writeFileSync(`${repo}/.hg/requires`, REQUIRES);
  mkdirSync(`${repo}/.hg/store`);
  writeFileSync(`${repo}/README`, 'stand-in repository\n');
  if (!workingSubfolder) return;
  mkdirSync(`${repo}/src`);
  writeFileSync(`${repo}/src/main.c`, 'int main(void) { return 0; }\n');
}

/** Part `i` of `total` split into `parts` nearly equal whole parts. */
function share(total: number, parts: number, i: number): number {
  return Math.floor(((i + 1) * total) / parts) - Math.floor((i * total) / parts);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
