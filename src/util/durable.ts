/**
 * Making what was written survive a crash, for one file or thousands. A few
 * are fsync-ed each (in parallel: the file system commits them together); many
 * are made durable with one syncfs(2) per file system (`sync -f`, coreutils),
 * which commits every one of them at once where an fsync each costs a journal
 * commit each (1,000 small files here: 45 ms against 300 ms, and as much again
 * for their folders). syncfs also writes whatever else is dirty on that file
 * system, which costs more than a few fsyncs on a busy host: hence the split.
 */
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';

/** From this many paths on, one syncfs per file system. */
export const SYNCFS_FROM = 16;

export interface OnDevice {
  readonly path: string;
  /** st_dev of the file system holding it: one syncfs covers every path on it. */
  readonly dev: number;
}

/** Files' data and inodes, or folders' entries (after a rename into them), on disk when this resolves. */
export async function makeDurable(paths: readonly OnDevice[]): Promise<void> {
  if (paths.length >= SYNCFS_FROM) {
    const onePerDevice = [...new Map(paths.map((p) => [p.dev, p.path])).values()];
    // Where `sync` cannot run (missing, refused), an fsync each gives the same guarantee, slower.
    if (await syncFileSystems(onePerDevice)) return;
  }
  await Promise.all(paths.map((p) => fsyncPath(p.path)));
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** syncfs(2) on the file system of each path; false when `sync` did not succeed. */
function syncFileSystems(paths: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => execFile('sync', ['-f', '--', ...paths], (err) => resolve(err === null)));
}
