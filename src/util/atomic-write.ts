/**
 * Replace a file so that a reader (or a crash) sees the old bytes or the new
 * ones, never a mix: write a temp file in the same folder, fsync it, rename it
 * over the target, fsync the folder so the rename itself survives a crash.
 */
import { open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  readonly mode?: number;
  /** Owner to give the new file (kept from the file it replaces, or the repository's). */
  readonly owner?: { readonly uid: number; readonly gid: number };
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.hgreload-${randomBytes(6).toString('hex')}`);
  const file = await open(temp, 'wx', options.mode ?? 0o644);
  try {
    try {
      await file.writeFile(data);
      if (options.mode !== undefined) await file.chmod(options.mode); // the umask must not narrow it
      if (options.owner !== undefined) {
        // Only when it changes something: fchown is refused (EPERM) by the unit's
        // SystemCallFilter=~@privileged, which holds @chown, even when it would change nothing,
        // as for the daemon's own file in a setgid folder of the repositories' group.
        const made = await file.stat();
        if (made.uid !== options.owner.uid || made.gid !== options.owner.gid) await file.chown(options.owner.uid, options.owner.gid);
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const folder = await open(dir, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
