/**
 * The list a WSGI process serves after taking everything published: the
 * snapshot with the journal's splices applied, as hooks/hgweb_wsgi.py applies
 * them (the WSGI tests run that code itself).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServedRepo } from '../../src/discovery/served-repos.js';
import { runOracle } from './run.js';

export function readPublished(folder: string): ServedRepo[] {
  const snapshot = JSON.parse(readFileSync(join(folder, 'served.json'), 'utf8')) as { generation: string; repos: ServedRepo[] };
  const repos = [...snapshot.repos];
  const journal = join(folder, 'served.journal');
  if (!existsSync(journal)) return repos;
  let applies = false;
  let n = 0;
  for (const line of readFileSync(journal, 'utf8').split('\n')) {
    if (line === '') continue;
    const entry = JSON.parse(line) as { generation?: string; n?: number; size?: number; splices?: Array<[number, number, Array<[string, string]>]> };
    if (entry.generation !== undefined) {
      applies = entry.generation === snapshot.generation;
      continue;
    }
    if (!applies) continue;
    // As the WSGI script checks: each line follows the one before and applies to a list of its size.
    n++;
    if (entry.n !== n || entry.size !== repos.length) throw new Error(`journal line ${JSON.stringify(entry.n)} (size ${entry.size}) does not follow line ${n - 1} on a list of ${repos.length}`);
    for (const [at, removed, inserted] of entry.splices!) repos.splice(at, removed, ...inserted.map(([name, path]) => ({ name, path })));
  }
  return repos;
}

export const publishedNames = (folder: string): string[] => readPublished(folder).map((r) => r.name);

/** The published list, read as the WSGI script reads it, equals what Mercurial's hgwebdir serves for `config` (run in `cwd`). */
export function assertPublishedIsHgweb(state: string, config: string, cwd: string): void {
  const hgweb = runOracle(config, { cwd });
  assert.ok('repos' in hgweb, `hgwebdir failed: ${JSON.stringify(hgweb)}`);
  assert.deepEqual(readPublished(state), hgweb.repos);
}
