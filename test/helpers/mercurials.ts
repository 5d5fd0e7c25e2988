/**
 * The Mercurials our users run, for tests that must pass on each: Debian 12's
 * own (the system's python3 imports it) and those of Debian 13 and unstable,
 * unpacked by scripts/fetch-mercurials.sh and run on the same python3 in pure
 * Python.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from './run.js';

export interface Mercurial {
  /** Mercurial's own version string, as `hg version` prints it. */
  readonly version: string;
  /** Where it comes from, for test names. */
  readonly debian: string;
  /** What python3 needs in its environment to import this Mercurial. */
  readonly env: Readonly<Record<string, string>>;
}

export const SYSTEM_MERCURIAL: Mercurial = { version: '6.3.2', debian: 'Debian 12 bookworm', env: {} };

/** Keep in step with the versions scripts/fetch-mercurials.sh pins. */
export const MERCURIALS: readonly Mercurial[] = [
  SYSTEM_MERCURIAL,
  unpacked('7.0.1', 'Debian 13 trixie'),
  unpacked('7.2.4', 'Debian unstable sid'),
];

function unpacked(version: string, debian: string): Mercurial {
  const packages = join(PROJECT_ROOT, '.cache/mercurials', version, 'usr/lib/python3/dist-packages');
  // Pure Python: the package's C extensions are built for that suite's newer Python.
  return { version, debian, env: { PYTHONPATH: packages, HGMODULEPOLICY: 'py' } };
}

/** Throws, saying how to get it, when `hg`'s Python files are not where its env points. */
export function requireMercurial(hg: Mercurial): void {
  const packages = hg.env['PYTHONPATH'];
  if (packages !== undefined && !existsSync(join(packages, 'mercurial'))) {
    throw new Error(`Mercurial ${hg.version} is not unpacked at ${packages}: run scripts/fetch-mercurials.sh`);
  }
}

/**
 * A real repository made by the system's `hg`, with one commit per entry of
 * `commits` (file path -> content). zlib compression: Debian 12's hg could
 * pick zstd, which only a C extension reads.
 */
export function hgRepo(path: string, commits: ReadonlyArray<Readonly<Record<string, string>>>): void {
  const hg = (...args: string[]): void => {
    // HGRCPATH empty: the machine's hgrc must not change what is created.
    const r = spawnSync('hg', args, { encoding: 'utf8', env: { ...process.env, HGRCPATH: '' } });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`hg ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  };
  hg('init', '--config', 'format.revlog-compression=zlib', path);
  commits.forEach((files, i) => {
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(path, rel)), { recursive: true });
      writeFileSync(join(path, rel), content);
    }
    hg('-R', path, 'commit', '-q', '-A', '-u', 'test', '-d', `${i} 0`, '-m', `commit ${i}`);
  });
}
