/**
 * Installing (or removing) the hook in a set of repositories: what the
 * `install-hooks` command and the daemon's automatic install share. Holds the
 * lock in the state folder for the whole run and edits each repository once
 * however many names it is served under.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { physicalAbsolute } from '../config/paths.js';
import type { Settings } from '../config/settings.js';
import type { Root } from '../discovery/served-repos.js';
import { socketPath } from '../daemon/control-protocol.js';
import { acquireLock } from '../util/lock-file.js';
import { hookValue } from './hook-script.js';
import { replaceFiles } from '../util/atomic-write.js';
import { yielder } from '../util/yielder.js';
import { lookAtRepo, notWritten, type RepoLook, type RepoReport } from './repo-hgrc.js';
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
 * Repositories looked at, then written, as one batch: the batch's writes are
 * made durable together (util/durable.ts), and the reports of a batch come
 * when its writes are done.
 */
const BATCH = 1000;

export async function installInto(repos: readonly string[], settings: Settings, options: InstallOptions): Promise<RepoReport[]> {
  const state = settings.reload.state;
  await mkdir(state, { recursive: true });
  const lock = await acquireLock(join(state, 'install-hooks.lock'), 'hgreload install-hooks');
  try {
    let trust: SystemTrust | undefined;
    const edit = { ...options, value: hookValue(socketPath(state)), trust: () => (trust ??= systemTrust()) };
    const seen = new Set<string>();
    const pause = yielder();
    const reports: RepoReport[] = [];
    for (let from = 0; from < repos.length; from += BATCH) {
      const looks: RepoLook[] = [];
      for (const repo of repos.slice(from, from + BATCH)) {
        const look = lookAtRepo(repo, edit, seen);
        if (look !== undefined) looks.push(look);
        await pause();
      }
      const writes = looks.flatMap((l) => (l.write === undefined ? [] : [l.write]));
      const outcomes = await replaceFiles(writes);
      let w = 0;
      for (const look of looks) {
        const outcome = look.write === undefined ? undefined : outcomes[w++]!;
        const report = outcome === undefined || outcome.done ? look.report : notWritten(look.report, outcome);
        reports.push(report);
        options.onDone?.(report);
      }
    }
    return reports;
  } finally {
    await lock.release();
  }
}

/** The folders repositories are served from: where a symlinked `.hg` may lead. */
export function rootFolders(roots: readonly Root[], cwd: string): string[] {
  return roots.map((r) => physicalAbsolute(r.kind === 'plain' ? r.path : r.folder, cwd));
}
