/**
 * WatchSet and the kernel's own view of the watches. An unmount ends the
 * kernel's watches on the mounted folders (inotify's IN_IGNORED), and that
 * may be read before the mount table is. The folders the daemon wants
 * watched must not follow the kernel there: a root at a mount point whose
 * watch the kernel ended is still the daemon's, so the unmount walks it (a
 * root that stopped counting would have made the mount table's change
 * "nowhere watched", and no walk would follow, then or at the next mount).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseSettings } from '../../src/config/settings.js';
import { createLogger } from '../../src/daemon/logger.js';
import type { Timers } from '../../src/daemon/coalescer.js';
import { WatchSet } from '../../src/daemon/watch-set.js';
import { makeTempDir } from '../helpers/run.js';

const run = (...args: string[]): void => {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
};

/** Resolves once `done()` holds, looking after each turn of the event loop (where inotify's events are read). */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not seen within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('WatchSet: a root at a mount point', () => {
  const dir = makeTempDir('hgreload-watch-set-');
  const point = join(dir.path, 'mounted');
  let mounted = false;
  after(() => {
    if (mounted) spawnSync('umount', [point]);
    dir.remove();
  });

  it('unmounted: walked, though the kernel ended the watch on it before the mount table was read again', async () => {
    mkdirSync(point);
    run('mount', '-t', 'tmpfs', 'tmpfs', point);
    mounted = true;
    // The mount table is read when the test says: its timer is the only one the set starts here.
    const pending: Array<() => void> = [];
    const timers: Timers = { setTimeout: (fn) => pending.push(fn), clearTimeout: () => undefined, now: () => Date.now() };
    const walks: string[] = [];
    const settings = parseSettings('[watch]\npoll = never\n', undefined);
    const set = new WatchSet({
      settings: () => settings.watch,
      cwd: dir.path,
      timers,
      log: createLogger('silent'),
      onEvents: () => undefined,
      onWalkAll: (reason) => walks.push(reason),
    });
    try {
      set.watchMounts();
      await set.followWalk({ results: [], repos: [], errors: [], folders: [point], roots: [], configFiles: [] }, []);
      assert.equal(set.status().watches.folders, 1);
      assert.equal(pending.length, 1, 'the mount check is the one timer');
      run('umount', point);
      mounted = false;
      await until(() => set.status().watches.folders === 0, "the kernel's end of the watch (IN_IGNORED)");
      pending.shift()!();
      assert.deepEqual(walks, [`file systems mounted or unmounted at ${point}`]);
      assert.deepEqual([...set.folders()], [point], 'still a folder to watch');
    } finally {
      await set.close();
    }
  });
});
