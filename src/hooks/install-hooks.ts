/**
 * Installing (or removing) the hook in a set of repositories: what the
 * `install-hooks` command and the daemon's automatic install share. Holds the
 * lock in the state folder for the whole run and edits each repository once
 * however many names it is served under.
 */
import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { physicalAbsolute } from '../config/paths.js';
import type { Settings } from '../config/settings.js';
import type { Root } from '../discovery/served-repos.js';
import { socketPath } from '../daemon/control-protocol.js';
import { acquireLock } from '../util/lock-file.js';
import { hookValue } from './hook-script.js';
import { editRepoHgrc, type RepoReport } from './repo-hgrc.js';
import { systemTrust, type SystemTrust } from './trust.js';

export interface InstallOptions {
  readonly uninstall: boolean;
  readonly dryRun: boolean;
  /**
   * Folders (the served roots) inside which a repository's `.hg` may lead
   * when it is a symlink; one leading anywhere else is refused.
   */
  readonly within: readonly string[];
  /** Told as each repository is done (in the order they finish). */
  readonly onDone?: (report: RepoReport) => void;
}

/**
 * Repositories edited at once: each edit waits mostly on the disk (two fsyncs),
 * and Node's thread pool (four threads) does those side by side.
 */
const AT_ONCE = 8;

export async function installInto(repos: readonly string[], settings: Settings, options: InstallOptions): Promise<RepoReport[]> {
  const state = settings.reload.state;
  await mkdir(state, { recursive: true });
  const lock = await acquireLock(join(state, 'install-hooks.lock'), 'hgreload install-hooks');
  try {
    const value = hookValue(socketPath(state));
    let trust: SystemTrust | undefined;
    const trusted = () => (trust ??= systemTrust());
    // Each repository once, however many names serve it.
    const unique: string[] = [];
    const seen = new Set<string>();
    for (const repo of repos) {
      const key = await realpath(repo).catch(() => repo);
      if (seen.has(key)) continue;
      seen.add(key);
      unique.push(repo);
    }
    const reports: RepoReport[] = new Array(unique.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < unique.length) {
        const i = next++;
        reports[i] = await editRepoHgrc(unique[i]!, { ...options, value, trust: trusted });
        options.onDone?.(reports[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(AT_ONCE, unique.length) }, worker));
    return reports;
  } finally {
    await lock.release();
  }
}

/** The folders repositories are served from: where a symlinked `.hg` may lead. */
export function rootFolders(roots: readonly Root[], cwd: string): string[] {
  return roots.map((r) => physicalAbsolute(r.kind === 'plain' ? r.path : r.folder, cwd));
}
