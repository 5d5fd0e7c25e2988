/**
 * What the daemon last made hgweb serve, kept across restarts: a restarted
 * daemon reloads once if the list changed while it was down, and not otherwise.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import type { ServedRepo } from '../discovery/served-repos.js';
import type { Splice } from '../model/splice.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export const STATE_FILE = 'state.json';

export interface SavedState {
  /** digestOf the served list. */
  readonly digest: string;
  readonly repos: number;
  readonly reloadedAt: string;
  readonly method: string;
}

/**
 * A digest of the served list that a change updates at its own cost: the
 * count and two 32-bit sums of an FNV-1a hash of each entry (name, path).
 * It is blind to order alone; hgweb's order follows from the names and the
 * tree, so the same entries come in the same order but for a folder that
 * turned from a symlink into a real one, found by the next change or rescan.
 */
export function digestOf(repos: readonly ServedRepo[]): string {
  return format(repos.reduce((sum, r) => add(sum, r, 1), [0, 0, 0] as Sums));
}

/** The digest of a list after splices, from the digest before them. */
export function digestAfter(digest: string, splices: readonly Splice[]): string {
  let sums = parse(digest);
  for (const s of splices) {
    for (const r of s.removed) sums = add(sums, r, -1);
    for (const r of s.inserted) sums = add(sums, r, 1);
  }
  return format(sums);
}

type Sums = [count: number, a: number, b: number];

function add([count, a, b]: Sums, r: ServedRepo, sign: 1 | -1): Sums {
  const text = `${r.name}\0${r.path}`;
  return [count + sign, (a + sign * fnv(text, 0x811c9dc5)) >>> 0, (b + sign * fnv(text, 0x01000193)) >>> 0];
}

function fnv(text: string, basis: number): number {
  let h = basis;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const format = ([count, a, b]: Sums): string => `${count}:${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;

function parse(digest: string): Sums {
  const [count, hex = ''] = digest.split(':');
  return [Number(count), parseInt(hex.slice(0, 8), 16) || 0, parseInt(hex.slice(8), 16) || 0];
}

/** The saved state, or undefined on a first start (or a state file that is not ours any more). */
export async function readState(stateDir: string): Promise<SavedState | undefined> {
  try {
    const doc = JSON.parse(await readFile(join(stateDir, STATE_FILE), 'utf8')) as Partial<SavedState>;
    return typeof doc.digest === 'string' ? (doc as SavedState) : undefined;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

export async function writeState(stateDir: string, state: SavedState): Promise<void> {
  await writeFileAtomic(join(stateDir, STATE_FILE), `${JSON.stringify(state)}\n`, { mode: 0o644 });
}
