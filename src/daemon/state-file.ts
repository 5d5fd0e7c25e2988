/**
 * What the daemon last made hgweb serve, kept across restarts: a restarted
 * daemon reloads once if the list changed while it was down, and not otherwise.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export const STATE_FILE = 'state.json';

export interface SavedState {
  /** The served list's digest (ServedList.digest: order-aware). */
  readonly digest: string;
  readonly repos: number;
  readonly reloadedAt: string;
  readonly method: string;
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
