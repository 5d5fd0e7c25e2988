/**
 * `install-hooks --system`: the hook line in one file that every Mercurial on
 * the host reads (/etc/mercurial/hgrc.d/hgreload.rc), instead of in each
 * repository. The same edit as a repository's hgrc (hgrc-edit.ts: every other
 * byte kept, uninstall takes away exactly what install added), the same
 * atomic write; the file is removed when nothing but ours was in it.
 */
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { HgreloadError, errnoCode, strerror } from '../errors.js';
import { replaceFiles } from '../util/atomic-write.js';
import { installHook, uninstallHook } from './hgrc-edit.js';
import { lineDiff } from './line-diff.js';

export interface SystemEdit {
  readonly file: string;
  readonly outcome: 'added' | 'updated' | 'removed' | 'unchanged';
  /** The change as lines (for --dry-run). */
  readonly diff?: string;
}

export async function editSystemHook(file: string, options: { uninstall: boolean; dryRun: boolean; value: string }): Promise<SystemEdit> {
  const folder = dirname(file);
  const before = readSystemFile(file, folder);
  const edit = options.uninstall ? uninstallHook(before?.bytes) : installHook(before?.bytes, options.value);
  if (edit.kind === 'unparseable') {
    throw new HgreloadError('parse', `Mercurial cannot parse ${file}:${edit.line}: ${edit.message}; left as it is`, { file, line: edit.line, hint: `correct ${file}: every Mercurial on this host fails on it too` });
  }
  if (edit.kind === 'unchanged') return { file, outcome: 'unchanged' };
  const diff = lineDiff(before?.bytes ?? Buffer.alloc(0), edit.text);
  if (options.dryRun) return { file, outcome: edit.kind, diff };
  const mode = before === undefined ? 0o644 : before.mode & 0o7777;
  const owner = before === undefined ? undefined : { uid: before.uid, gid: before.gid };
  const [outcome] = await replaceFiles([
    {
      path: file,
      // All that was in it was ours (or nothing): no file is what there was before.
      data: edit.kind === 'removed' && edit.text.length === 0 ? undefined : edit.text,
      mode,
      ...(owner === undefined ? {} : { owner }),
      check: () => (sameFile(file, before) ? undefined : `${file} changed while it was being edited; run again`),
    },
  ]);
  if ('reason' in outcome!) throw new HgreloadError('system-hook', outcome.reason, { file });
  if ('error' in outcome) throw cannotWrite(file, outcome.error);
  return { file, outcome: edit.kind, diff };
}

interface Read {
  readonly bytes: Buffer;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly ino: number;
  readonly mtimeMs: number;
  readonly size: number;
}

function readSystemFile(file: string, folder: string): Read | undefined {
  try {
    if (!statSync(folder).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (err) {
    throw new HgreloadError('system-hook', `cannot write ${file}: ${folder} (${strerror(err)})`, {
      file,
      hint: `Mercurial reads ${folder} only where it is installed (Debian: the mercurial package makes /etc/mercurial/hgrc.d); install it, or name another file with --system-file`,
    });
  }
  try {
    const info = lstatSync(file);
    // A rename over a symlink would replace the link, not the file it names: the admin's to decide.
    if (info.isSymbolicLink()) throw new HgreloadError('system-hook', `${file} is a symlink; hgreload does not replace it`, { file, hint: 'name the file it leads to with --system-file' });
    return { bytes: readFileSync(file), mode: info.mode, uid: info.uid, gid: info.gid, ino: info.ino, mtimeMs: info.mtimeMs, size: info.size };
  } catch (err) {
    if (err instanceof HgreloadError) throw err;
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new HgreloadError('system-hook', `cannot read ${file} (${strerror(err)})`, { file, cause: err });
  }
}

function sameFile(file: string, before: Read | undefined): boolean {
  const now = lstatSync(file, { throwIfNoEntry: false });
  if (now === undefined || before === undefined) return now === before;
  return now.ino === before.ino && now.size === before.size && now.mtimeMs === before.mtimeMs;
}

function cannotWrite(file: string, err: unknown): HgreloadError {
  const denied = errnoCode(err) === 'EACCES' || errnoCode(err) === 'EPERM' || errnoCode(err) === 'EROFS';
  return new HgreloadError('system-hook', `cannot write ${file} (${strerror(err)})`, {
    file,
    cause: err,
    ...(denied ? { hint: `only root may change ${dirname(file)}: run hgreload install-hooks --system as root` } : {}),
  });
}
