/**
 * What differs between the Mercurials that serve an hgweb.config, each rule
 * checked against that Mercurial's own hgwebdir (test/parity/mercurials.test.ts
 * runs 6.3.2, 7.0.1 and 7.2.4): from 7.2 on, findrepos refuses a plain [paths]
 * entry that is not a folder holding .hg ("filesystem path is not a
 * repository", an InputError), so hgweb fails to start and every refresh
 * fails; 6.3 and 7.0 serve such an entry as written (a page that answers an
 * error). The WSGI side's Mercurial is the one that counts, and it may be
 * newer than the daemon's host's.
 */
import { spawnSync } from 'node:child_process';
import { HgreloadError } from '../errors.js';
import { abspath, join } from '../config/paths.js';
import { isDirectory } from './dir-reader.js';
import type { Root } from './served-repos.js';

export interface HgwebRules {
  /** The Mercurial version these are the rules of ('6.3' when none is known). */
  readonly mercurial: string;
  /** A plain [paths] entry must be a repository (7.2 and later). */
  readonly plainMustBeRepository: boolean;
}

/** The first version that refuses a plain entry that is not a repository (7.0.1 serves it; 7.2.4 refuses it). */
const PLAIN_MUST_BE_REPOSITORY = [7, 2];

/** The rules of Mercurial `version` ("7.2.4", "7.2"; a version it cannot read is a usage error). */
export function rulesOf(version: string): HgwebRules {
  const match = /^(\d+)\.(\d+)(?:[.+\w-]*)$/.exec(version.trim());
  if (match === null) throw new HgreloadError('usage', `"${version}" is not a Mercurial version`, { hint: 'give it as hg version prints it, e.g. 6.3.2 or 7.2.4' });
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const atLeast = ([a, b]: number[]): boolean => major > a! || (major === a && minor >= b!);
  return { mercurial: version.trim(), plainMustBeRepository: atLeast(PLAIN_MUST_BE_REPOSITORY) };
}

/** The newest Mercurial whose hgwebdir the tests compare with. */
export const NEWEST_CHECKED = '7.2.4';

/** The oldest rules hgreload knows (Debian 12's Mercurial 6.3). */
export const OLDEST_RULES: HgwebRules = rulesOf('6.3');

/** Whether `roots` hold an entry that the rules of some Mercurial refuse and others serve: only then do the rules matter. */
export function rulesMatter(roots: readonly Root[]): boolean {
  return roots.some((r) => r.kind === 'plain');
}

/** The version of the Mercurial that `python` imports on this host, or undefined when it has none. */
export function hostMercurial(python = '/usr/bin/python3'): string | undefined {
  const r = spawnSync(python, ['-I', '-c', 'from mercurial import __version__ as v; print(v.version.decode() if isinstance(v.version, bytes) else v.version)'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  const version = r.status === 0 ? r.stdout.trim() : '';
  return version === '' ? undefined : version;
}

/**
 * The plain entries that `rules` refuse, each as the error hgweb's start
 * would raise, naming the entry's file and line. `cwd` is hgweb's working
 * folder, which a relative entry is taken from.
 */
export function refusedEntries(roots: readonly Root[], rules: HgwebRules, cwd: string): HgreloadError[] {
  if (!rules.plainMustBeRepository) return [];
  const errors: HgreloadError[] = [];
  for (const root of roots) {
    if (root.kind !== 'plain') continue;
    const path = abspath(root.path, cwd);
    if (isDirectory(path) && isDirectory(join(path, '.hg'))) continue;
    errors.push(
      new HgreloadError('parse', `${root.source}: filesystem path is not a repository: '${root.path}' (this was mapped to server path '${root.prefix}')`, {
        hint: `Mercurial ${rules.mercurial} refuses it, so hgweb fails to start (6.3 and 7.0 served it as an entry that answers an error): make the repository, or remove the entry`,
      }),
    );
  }
  return errors;
}
