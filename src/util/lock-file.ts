/**
 * A lock file holding the owner's pid: two `install-hooks` runs (or one and
 * the daemon's automatic install) never edit hgrc files at the same time. A
 * lock left by a process that is gone is taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { HgreloadError, errnoCode } from '../errors.js';

export interface Lock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

export async function acquireLock(path: string, what: string): Promise<Lock> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx', 0o644);
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      return { release: () => rm(path, { force: true }) };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new HgreloadError('busy', `${what} is already running (pid ${pid}, lock ${path})`, { hint: 'wait for it to finish' });
      }
      await rm(path, { force: true }); // its owner is gone
    }
  }
  throw new HgreloadError('internal', `cannot take the lock ${path}`);
}
