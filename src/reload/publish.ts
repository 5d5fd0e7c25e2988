/**
 * `publish`: write the served list to the state folder, atomically. The WSGI
 * script stats this file once per request; when it changed, hgwebdir takes
 * the list from it in place, without a walk and without a restart.
 */
import { join } from 'node:path';
import { HgreloadError, strerror } from '../errors.js';
import type { Settings } from '../config/settings.js';
import type { ServedRepo } from '../discovery/served-repos.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export const PUBLISHED_FILE = 'served.json';

/** Where `publish` writes: the shared store's folder when front ends mount it ([shared] folder), else the state folder. */
export function publishFolder(settings: Settings): string {
  return settings.shared.folder ?? settings.reload.state;
}

/** The published list, as the daemon writes it and the WSGI script reads it. */
export function publishedFile(settings: Settings): string {
  return join(publishFolder(settings), PUBLISHED_FILE);
}

/** The published document; `format` changes only when the WSGI side must change with it. */
export interface Published {
  readonly format: 1;
  readonly generated: string;
  readonly repos: readonly ServedRepo[];
}

export async function publishList(stateDir: string, repos: readonly ServedRepo[], now: Date = new Date()): Promise<string> {
  const path = join(stateDir, PUBLISHED_FILE);
  const doc: Published = { format: 1, generated: now.toISOString(), repos };
  try {
    // World-readable: the web server's user reads it.
    await writeFileAtomic(path, `${JSON.stringify(doc)}\n`, { mode: 0o644 });
  } catch (err) {
    throw new HgreloadError('reload', `cannot publish ${path} (${strerror(err)})`, {
      hint: 'the state folder ("state" in [reload]) must exist and be writable by the daemon\'s user',
      cause: err,
    });
  }
  return `published ${repos.length} repositories to ${path}`;
}
