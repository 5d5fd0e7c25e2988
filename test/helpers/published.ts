/**
 * The list a WSGI process serves after taking everything published: the
 * snapshot with the journal's splices applied, as hooks/hgweb_wsgi.py applies
 * them (the WSGI tests run that code itself).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServedRepo } from '../../src/discovery/served-repos.js';
import { decodeName } from '../../src/discovery/fs-names.js';
import { PUBLISHED_FILE, type PublishedHeader } from '../../src/reload/publish.js';
import { runOracle } from './run.js';

/** The snapshot (src/reload/publish.ts): a JSON header line, then `name\0path\0` per repository, in bytes. */
export function readSnapshot(file: string): { header: PublishedHeader; repos: ServedRepo[] } {
  const data = readFileSync(file);
  const newline = data.indexOf(0x0a);
  const header = JSON.parse(data.subarray(0, newline).toString('utf8')) as PublishedHeader;
  const fields: string[] = [];
  for (let at = newline + 1; at < data.length; ) {
    const end = data.indexOf(0, at);
    assert.ok(end >= 0, `${file}: its last field is not ended by a NUL`);
    fields.push(decodeName(data.subarray(at, end)));
    at = end + 1;
  }
  assert.equal(fields.length, 2 * header.repos, `${file}: ${fields.length} fields for ${header.repos} repositories`);
  const repos: ServedRepo[] = [];
  for (let i = 0; i < fields.length; i += 2) repos.push({ name: fields[i]!, path: fields[i + 1]! });
  return { header, repos };
}

export function readPublished(folder: string): ServedRepo[] {
  const { header: snapshot, repos } = readSnapshot(join(folder, PUBLISHED_FILE));
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
