/**
 * One repository's .hg/hgrc, edited safely: a symlinked hgrc that leads out of
 * the repository is refused; the file is replaced atomically with its owner,
 * group and mode kept (a new one is owned like the repository's .hg, since
 * Mercurial ignores an hgrc from an owner it does not trust); a file that
 * changed while we edited it is left alone.
 */
import { lstat, readFile, realpath, rm, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { errnoCode, strerror } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { installHook, uninstallHook, type EditOutcome } from './hgrc-edit.js';
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

export async function editRepoHgrc(repo: string, options: EditOptions): Promise<RepoReport> {
  const dotHg = join(repo, '.hg');
  const base = { repo, hgrc: join(dotHg, 'hgrc') };
  let hgDir;
  try {
    hgDir = await stat(dotHg);
    if (!hgDir.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (err) {
    return { ...base, outcome: 'skipped', reason: `not a repository (${dotHg}: ${strerror(err)})` };
  }
  const escape = await symlinkEscape(repo, dotHg, options.within);
  if (escape !== undefined) return { ...base, outcome: 'skipped', reason: escape };

  const target = await resolveHgrc(repo, base.hgrc);
  if ('reason' in target) return { ...base, outcome: 'skipped', reason: target.reason };
  let before: Buffer | undefined;
  try {
    before = await readFile(target.path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') return { ...base, outcome: 'failed', reason: `cannot read ${target.path} (${strerror(err)})` };
  }

  const edit: EditOutcome = options.uninstall ? uninstallHook(before) : installHook(before, options.value);
  if (edit.kind === 'unparseable') {
    return { ...base, outcome: 'skipped', reason: `Mercurial cannot parse ${target.path}:${edit.line}: ${edit.message}; left as it is` };
  }
  if (edit.kind === 'unchanged') return { ...base, outcome: 'unchanged' };
  const diff = lineDiff(before ?? Buffer.alloc(0), edit.text);
  if (options.dryRun) return { ...base, outcome: edit.kind, diff };

  try {
    const existing = before === undefined ? undefined : await stat(target.path);
    const owner = existing ?? hgDir;
    const mode = existing === undefined ? 0o644 : existing.mode & 0o7777;
    const mine = process.getuid?.();
    let writeAs = { uid: owner.uid, gid: owner.gid };
    if (mine !== 0 && mine !== undefined && owner.uid !== mine) {
      // We cannot give the file its owner's uid; ours does as well where every Mercurial
      // here trusts our user, or the file's group (a shared hosting group).
      if (!trustedByEveryone(mine, owner.gid, options.trust())) {
        return {
          ...base,
          outcome: 'failed',
          reason: `${target.path} must stay owned by uid ${owner.uid}, or Mercurial stops trusting it; run as root or as that user, or trust this user or the file's group in [trusted] of /etc/mercurial/hgrc.d/`,
        };
      }
      writeAs = { uid: mine, gid: owner.gid };
    }
    // Still the bytes we edited? Another editor's save in between must not be lost.
    const now = await readFile(target.path).catch((err: unknown) => (errnoCode(err) === 'ENOENT' ? undefined : Promise.reject(err)));
    if ((now === undefined) !== (before === undefined) || (now !== undefined && before !== undefined && !now.equals(before))) {
      return { ...base, outcome: 'failed', reason: `${target.path} changed while it was being edited; run again` };
    }
    if (edit.kind === 'removed' && edit.text.length === 0) {
      // All that was in it was ours: the repository had no hgrc before (an empty one means the same to Mercurial).
      await rm(target.path);
    } else {
      await writeFileAtomic(target.path, edit.text, { mode, owner: writeAs });
    }
  } catch (err) {
    const asRoot = process.getuid?.() === 0;
    const hint =
      errnoCode(err) === 'EACCES' && !asRoot
        ? `; this user must be able to write ${dotHg}: keep repositories in a shared group it is in, made with umask 002 (see README, Running it as a service)`
        : errnoCode(err) === 'EPERM' && (err as { syscall?: string }).syscall === 'fchown' && !asRoot
          ? `; the file could not be given the group of ${dotHg} (the unit's system-call filter refuses chown): make ${dotHg} setgid (chmod g+s), as below a setgid root of the shared group (see README, Running it as a service)`
          : '';
    return { ...base, outcome: 'failed', reason: `cannot write ${target.path} (${strerror(err)})${hint}` };
  }
  return { ...base, outcome: edit.kind, diff };
}

/**
 * Why a symlinked `.hg` must not be followed, or undefined. Run as root,
 * `.hg -> /etc/mercurial` would otherwise put the hook into every user's
 * global hgrc.
 */
async function symlinkEscape(repo: string, dotHg: string, within: readonly string[]): Promise<string | undefined> {
  try {
    if (!(await lstat(dotHg)).isSymbolicLink()) return undefined;
    const target = await realpath(dotHg);
    const allowed = await Promise.all([repo, ...within].map((f) => realpath(f).catch(() => undefined)));
    if (allowed.some((f) => f !== undefined && (target === f || target.startsWith(f === sep ? f : f + sep)))) return undefined;
    return `${dotHg} is a symlink to ${target}, outside the repository and the served roots; hgreload does not edit files elsewhere`;
  } catch (err) {
    return `cannot resolve ${dotHg} (${strerror(err)}); left as it is`;
  }
}

/** The file to edit: the hgrc itself, or where its symlink leads when that stays inside the repository. */
async function resolveHgrc(repo: string, hgrc: string): Promise<{ path: string } | { reason: string }> {
  let info;
  try {
    info = await lstat(hgrc);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { path: hgrc };
    return { reason: `cannot look at ${hgrc} (${strerror(err)})` };
  }
  if (!info.isSymbolicLink()) return { path: hgrc };
  let resolved: string;
  let root: string;
  try {
    [resolved, root] = await Promise.all([realpath(hgrc), realpath(repo)]);
  } catch (err) {
    return { reason: `${hgrc} is a symlink that does not resolve (${strerror(err)}); left as it is` };
  }
  if (!resolved.startsWith(root + sep)) {
    return { reason: `${hgrc} is a symlink to ${resolved}, outside the repository; hgreload does not edit files elsewhere` };
  }
  return { path: resolved };
}

/** The changed lines, with the unchanged ones around them left out: edits here are one small hunk. */
function lineDiff(before: Buffer, after: Buffer): string {
  const lines = (bytes: Buffer) => (bytes.length === 0 ? [] : bytes.toString('latin1').split(/(?<=\n)/));
  const a = lines(before);
  const b = lines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const show = (prefix: string, lines: string[]) => lines.map((l) => `${prefix}${l.replace(/\r?\n$/, '')}\n`).join('');
  return `@@ line ${start + 1} @@\n${show('-', a.slice(start, endA))}${show('+', b.slice(start, endB))}`;
}
