/**
 * One repository's .hg/hgrc, edited safely: a symlinked hgrc that leads out of
 * the repository is refused; the file is replaced atomically with its owner,
 * group and mode kept (a new one is owned like the repository's .hg, since
 * Mercurial ignores an hgrc from an owner it does not trust); a file that
 * changed while we edited it is left alone.
 *
 * The look is synchronous, and what an unchanged repository costs is one
 * lstat of `.hg` and one open, fstat and read of its hgrc: on a local disk a
 * thread-pool hand-off per call cost more than the calls (20,000 repositories
 * checked again: 6.9 s, most of it hand-offs). The writes go out in batches
 * (util/atomic-write.ts).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, statSync, type BigIntStats, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { errnoCode, strerror } from '../errors.js';
import type { FileReplacement } from '../util/atomic-write.js';
import { installHook, uninstallHook, type EditOutcome } from './hgrc-edit.js';
import { lineDiff } from './line-diff.js';
import { trustedByEveryone, type SystemTrust } from './trust.js';

export type RepoOutcome = 'added' | 'updated' | 'removed' | 'unchanged' | 'skipped' | 'failed';

export interface RepoReport {
  readonly repo: string;
  readonly hgrc: string;
  readonly outcome: RepoOutcome;
  readonly reason?: string;
  /** The change as lines, `-` removed and `+` added (for --dry-run). */
  readonly diff?: string;
}

export interface EditOptions {
  readonly uninstall: boolean;
  readonly dryRun: boolean;
  /** The hook line's value (install only). */
  readonly value: string;
  /** Folders besides the repository itself where a symlinked `.hg` may lead (the served roots). */
  readonly within: readonly string[];
  /** Whom every Mercurial here trusts (read once per run, when first needed). */
  readonly trust: () => SystemTrust;
}

/** What a look at one repository found: its report, and the write that makes it true (not done yet). */
export interface RepoLook {
  readonly report: RepoReport;
  readonly write?: FileReplacement;
}

/**
 * Looks at one repository's hgrc and says what to write. `seen` holds the
 * `.hg` folders already looked at (device and inode): one repository served
 * under two names, or a `.hg` symlinked into another, is edited once; such a
 * repeat gives undefined.
 */
export function lookAtRepo(repo: string, options: EditOptions, seen: Set<string>): RepoLook | undefined {
  const dotHg = join(repo, '.hg');
  const base = { repo, hgrc: join(dotHg, 'hgrc') };
  let hgDir: Stats;
  try {
    hgDir = lstatSync(dotHg);
    if (hgDir.isSymbolicLink()) {
      const escape = symlinkEscape(repo, dotHg, options.within);
      if (escape !== undefined) return { report: { ...base, outcome: 'skipped', reason: escape } };
      hgDir = statSync(dotHg);
    }
    if (!hgDir.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (err) {
    return { report: { ...base, outcome: 'skipped', reason: `not a repository (${dotHg}: ${strerror(err)})` } };
  }
  const key = `${hgDir.dev}:${hgDir.ino}`;
  if (seen.has(key)) return undefined;
  seen.add(key);

  const read = readHgrc(repo, base.hgrc);
  if ('skip' in read) return { report: { ...base, outcome: 'skipped', reason: read.skip } };
  if ('fail' in read) return { report: { ...base, outcome: 'failed', reason: read.fail } };
  const { path, bytes: before, info: existing } = read;

  const edit: EditOutcome = options.uninstall ? uninstallHook(before) : installHook(before, options.value);
  if (edit.kind === 'unparseable') {
    return { report: { ...base, outcome: 'skipped', reason: `Mercurial cannot parse ${path}:${edit.line}: ${edit.message}; left as it is` } };
  }
  if (edit.kind === 'unchanged') return { report: { ...base, outcome: 'unchanged' } };
  const report = { ...base, outcome: edit.kind, diff: lineDiff(before ?? Buffer.alloc(0), edit.text) };
  if (options.dryRun) return { report };

  const owner = existing ?? hgDir;
  const mode = existing === undefined ? 0o644 : Number(existing.mode) & 0o7777;
  const mine = process.getuid?.();
  let writeAs = { uid: Number(owner.uid), gid: Number(owner.gid) };
  if (mine !== 0 && mine !== undefined && writeAs.uid !== mine) {
    // We cannot give the file its owner's uid; ours does as well where every Mercurial
    // here trusts our user, or the file's group (a shared hosting group).
    if (!trustedByEveryone(mine, writeAs.gid, options.trust())) {
      return {
        report: {
          ...base,
          outcome: 'failed',
          reason: `${path} must stay owned by uid ${writeAs.uid}, or Mercurial stops trusting it; run as root or as that user, or trust this user or the file's group in [trusted] of /etc/mercurial/hgrc.d/`,
        },
      };
    }
    writeAs = { uid: mine, gid: writeAs.gid };
  }
  // All that was in it was ours: the repository had no hgrc before (an empty one means the same to Mercurial).
  const data = edit.kind === 'removed' && edit.text.length === 0 ? undefined : edit.text;
  return { report, write: { path, data, mode, owner: writeAs, check: () => changedSince(path, existing) } };
}

/** The report of a look whose write did not happen: why, with what to do about it. */
export function notWritten(report: RepoReport, why: { reason: string } | { error: unknown }): RepoReport {
  const { diff: _diff, ...rest } = report;
  if ('reason' in why) return { ...rest, outcome: 'failed', reason: why.reason };
  const err = why.error;
  const dotHg = join(report.repo, '.hg');
  const asRoot = process.getuid?.() === 0;
  const hint =
    errnoCode(err) === 'EACCES' && !asRoot
      ? `; this user must be able to write ${dotHg}: keep repositories in a shared group it is in, made with umask 002 (see README, Running it as a service)`
      : errnoCode(err) === 'EPERM' && (err as { syscall?: string }).syscall === 'fchown' && !asRoot
        ? `; the file could not be given the group of ${dotHg} (the unit's system-call filter refuses chown): make ${dotHg} setgid (chmod g+s), as below a setgid root of the shared group (see README, Running it as a service)`
        : '';
  return { ...rest, outcome: 'failed', reason: `cannot write ${report.hgrc} (${strerror(err)})${hint}` };
}

/** Still the file we read? Another editor's save in between must not be lost. */
function changedSince(path: string, read: BigIntStats | undefined): string | undefined {
  const now = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  const same =
    now === undefined
      ? read === undefined
      : read !== undefined && now.ino === read.ino && now.size === read.size && now.mtimeNs === read.mtimeNs && now.ctimeNs === read.ctimeNs;
  return same ? undefined : `${path} changed while it was being edited; run again`;
}

type HgrcRead = { path: string; bytes: Buffer | undefined; info: BigIntStats | undefined } | { skip: string } | { fail: string };

/** The hgrc's bytes and identity (undefined: none yet), read through one open that never follows a symlink unseen. */
function readHgrc(repo: string, hgrc: string): HgrcRead {
  let path = hgrc;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { path, bytes: undefined, info: undefined };
    if (errnoCode(err) !== 'ELOOP') return { fail: `cannot read ${path} (${strerror(err)})` };
    const target = resolveHgrc(repo, hgrc);
    if ('reason' in target) return { skip: target.reason };
    path = target.path;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err2) {
      if (errnoCode(err2) === 'ENOENT') return { path, bytes: undefined, info: undefined };
      return { fail: `cannot read ${path} (${strerror(err2)})` };
    }
  }
  try {
    const info = fstatSync(fd, { bigint: true });
    if (!info.isFile()) return { skip: `${path} is not a regular file; left as it is` };
    return { path, bytes: readAll(fd, Number(info.size)), info };
  } catch (err) {
    return { fail: `cannot read ${path} (${strerror(err)})` };
  } finally {
    closeSync(fd);
  }
}

/** The whole file, in one read when it is the size fstat said (a byte more is asked for, to see its end). */
function readAll(fd: number, size: number): Buffer {
  let buffer = Buffer.allocUnsafe(size + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
    const got = readSync(fd, buffer, length, buffer.length - length, null);
    if (got === 0) break;
    length += got;
    if (length < buffer.length) break; // a regular file read short is at its end
  }
  return buffer.subarray(0, length);
}

/**
 * Why a symlinked `.hg` must not be followed, or undefined. Run as root,
 * `.hg -> /etc/mercurial` would otherwise put the hook into every user's
 * global hgrc.
 */
function symlinkEscape(repo: string, dotHg: string, within: readonly string[]): string | undefined {
  try {
    const target = realpathSync(dotHg);
    const allowed = [repo, ...within].map((f) => {
      try {
        return realpathSync(f);
      } catch {
        return undefined;
      }
    });
    if (allowed.some((f) => f !== undefined && (target === f || target.startsWith(f === sep ? f : f + sep)))) return undefined;
    return `${dotHg} is a symlink to ${target}, outside the repository and the served roots; hgreload does not edit files elsewhere`;
  } catch (err) {
    return `cannot resolve ${dotHg} (${strerror(err)}); left as it is`;
  }
}

/** Where a symlinked hgrc leads, when that stays inside the repository. */
function resolveHgrc(repo: string, hgrc: string): { path: string } | { reason: string } {
  let resolved: string;
  let root: string;
  try {
    resolved = realpathSync(hgrc);
    root = realpathSync(repo);
  } catch (err) {
    return { reason: `${hgrc} is a symlink that does not resolve (${strerror(err)}); left as it is` };
  }
  if (!resolved.startsWith(root + sep)) {
    return { reason: `${hgrc} is a symlink to ${resolved}, outside the repository; hgreload does not edit files elsewhere` };
  }
  return { path: resolved };
}
