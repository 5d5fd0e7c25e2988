/**
 * Replace files so that a reader (or a crash) sees the old bytes or the new
 * ones, never a mix, one file or a batch of thousands: write each into a temp
 * file in its own folder, make every temp file durable, rename each over its
 * target, then make the folders durable so that the renames survive a crash.
 * The temp files are durable before any rename: a crash at any point leaves
 * each target whole, old or new (and at worst a temp file beside it).
 */
import { open, rename, rm } from 'node:fs/promises';
import { closeSync, fchmodSync, fchownSync, fstatSync, openSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { makeDurable } from './durable.js';
import { yielder } from './yielder.js';

export interface AtomicWriteOptions {
  readonly mode?: number;
  /** Owner to give the new file (kept from the file it replaces, or the repository's). */
  readonly owner?: { readonly uid: number; readonly gid: number };
}

export interface FileReplacement extends AtomicWriteOptions {
  readonly path: string;
  /** The new bytes; undefined removes the file. */
  readonly data: string | Uint8Array | undefined;
  /**
   * Asked just before the rename (or removal): why the file must be left as
   * it is now (another editor saved it meanwhile), or undefined to go on.
   */
  readonly check?: () => string | undefined;
}

export type ReplaceOutcome = { readonly done: true } | { readonly done: false; readonly reason: string } | { readonly done: false; readonly error: unknown };

/**
 * One file, every call through the thread pool: what the daemon writes as it
 * runs (the published list, maybe on a shared store whose server may hang,
 * the state and metrics files) never holds its event loop. `data` may come
 * in pieces (an iterable of them), so that a large file is never whole in
 * memory.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | Iterable<Uint8Array>, options: AtomicWriteOptions = {}): Promise<void> {
  const temp = tempPath(path);
  const handle = await open(temp, 'wx', options.mode ?? 0o644);
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
    else for (const piece of data) for (let at = 0; at < piece.length; ) at += (await handle.write(piece, at)).bytesWritten;
    if (options.mode !== undefined) await handle.chmod(options.mode); // the umask must not narrow it
    const made = await handle.stat();
    if (options.owner !== undefined && (made.uid !== options.owner.uid || made.gid !== options.owner.gid)) await handle.chown(options.owner.uid, options.owner.gid);
    await handle.sync();
    await handle.close();
    await rename(temp, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
  await makeDurable([{ path: dirname(path), dev: 0 }]);
}

/**
 * Each replacement in turn; one's failure is its own outcome and stops no other.
 * The work between two awaits is synchronous: on a local disk a thread-pool
 * hand-off per call costs more than the call (see yielder.ts for the loop).
 */
export async function replaceFiles(files: readonly FileReplacement[]): Promise<ReplaceOutcome[]> {
  const outcomes: ReplaceOutcome[] = new Array(files.length);
  const temps: Array<{ path: string; dev: number } | undefined> = new Array(files.length);
  const pause = yielder();
  for (const [i, file] of files.entries()) {
    if (file.data === undefined) continue;
    try {
      temps[i] = writeTemp(file.path, file.data, file);
    } catch (err) {
      outcomes[i] = { done: false, error: err };
    }
    await pause();
  }
  const written = temps.flatMap((t) => (t === undefined ? [] : [t]));
  try {
    await makeDurable(written);
  } catch (err) {
    for (const t of written) rmSync(t.path, { force: true });
    return files.map((_, i) => outcomes[i] ?? { done: false, error: err });
  }
  const folders = new Map<string, number>();
  for (const [i, file] of files.entries()) {
    if (outcomes[i] !== undefined) continue;
    const temp = temps[i];
    try {
      const reason = file.check?.();
      if (reason !== undefined) {
        outcomes[i] = { done: false, reason };
      } else {
        if (temp === undefined) unlinkSync(file.path);
        else renameSync(temp.path, file.path);
        outcomes[i] = { done: true };
        folders.set(dirname(file.path), temp?.dev ?? statSync(dirname(file.path)).dev);
      }
    } catch (err) {
      outcomes[i] = { done: false, error: err };
    }
    if (temp !== undefined && !(outcomes[i] as { done: boolean }).done) rmSync(temp.path, { force: true });
    await pause();
  }
  try {
    await makeDurable([...folders].map(([path, dev]) => ({ path, dev })));
  } catch (err) {
    // Replaced, but a crash could still bring the old file back: not done as promised.
    return outcomes.map((o) => (o.done ? { done: false, error: err } : o));
  }
  return outcomes;
}

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.hgreload-${randomBytes(6).toString('hex')}`);
}

function writeTemp(path: string, data: string | Uint8Array, options: AtomicWriteOptions): { path: string; dev: number } {
  const temp = tempPath(path);
  const fd = openSync(temp, 'wx', options.mode ?? 0o644);
  let open = true;
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    if (options.mode !== undefined) fchmodSync(fd, options.mode); // the umask must not narrow it
    const made = fstatSync(fd);
    // Only when it changes something: fchown is refused (EPERM) by the unit's
    // SystemCallFilter=~@privileged, which holds @chown, even when it would change nothing,
    // as for the daemon's own file in a setgid folder of the repositories' group.
    if (options.owner !== undefined && (made.uid !== options.owner.uid || made.gid !== options.owner.gid)) fchownSync(fd, options.owner.uid, options.owner.gid);
    open = false;
    closeSync(fd);
    return { path: temp, dev: made.dev };
  } catch (err) {
    if (open) closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
}
