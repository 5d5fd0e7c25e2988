/**
 * Installing (or removing) the hook in a set of repositories: what the
 * `install-hooks` command and the daemon's automatic install share. Holds the
 * lock in the state folder for the whole run, writes the hook module first,
 * and edits each repository once however many names it is served under.
 */
import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '../config/settings.js';
import { socketPath } from '../daemon/control-protocol.js';
import { acquireLock } from '../util/lock-file.js';
import { projectFile } from '../util/project-files.js';
import { hookValue, writeHook } from './hook-script.js';
import { editRepoHgrc, type RepoReport } from './repo-hgrc.js';

export interface InstallOptions {
  readonly uninstall: boolean;
  readonly dryRun: boolean;
}

/** What the hook runs when no daemon answers: this hgreload, with these settings, reloading directly. */
export function fallbackCommand(settings: Settings): string[] {
  const settingsArgs = settings.file !== undefined ? ['-c', settings.file] : settings.webconf !== undefined ? ['-w', settings.webconf] : [];
  return [process.execPath, projectFile('dist/src/cli/bin.js'), ...settingsArgs, 'touch'];
}

export async function installInto(repos: readonly string[], settings: Settings, options: InstallOptions): Promise<RepoReport[]> {
  const state = settings.reload.state;
  await mkdir(state, { recursive: true });
  const lock = await acquireLock(join(state, 'install-hooks.lock'), 'hgreload install-hooks');
  try {
    if (!options.uninstall && !options.dryRun) await writeHook(state, socketPath(state), fallbackCommand(settings));
    const reports: RepoReport[] = [];
    const seen = new Set<string>();
    for (const repo of repos) {
      const key = await realpath(repo).catch(() => repo);
      if (seen.has(key)) continue;
      seen.add(key);
      reports.push(await editRepoHgrc(repo, { ...options, value: hookValue(state) }));
    }
    return reports;
  } finally {
    await lock.release();
  }
}
