/**
 * The list a WSGI process serves after taking everything published: the
 * snapshot with the journal's splices applied, as hooks/hgweb_wsgi.py applies
 * them (the WSGI tests run that code itself).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { ServedRepo } from '../../src/discovery/served-repos.js';
import { decodeName } from '../../src/discovery/fs-names.js';
import { PUBLISHED_FILE, slotCount, type PublishedHeader } from '../../src/reload/publish.js';
import { runOracle } from './run.js';

/**
 * The snapshot (src/reload/publish.ts): a JSON header line, then `name\0path\0` per repository, in bytes,
 * then the index and the checksum, each checked here against the entries.
 */
export function readSnapshot(file: string): { header: PublishedHeader; repos: ServedRepo[] } {
  const data = readFileSync(file);
  const newline = data.indexOf(0x0a);
  const header = JSON.parse(data.subarray(0, newline).toString('utf8')) as PublishedHeader;
  assert.equal(header.format, 4);
  const n = header.repos;
  assert.equal(header.slots, slotCount(n), `${file}: the hash table's size`);
  assert.equal(data.readUInt32LE(data.length - 4), crc32(data.subarray(0, data.length - 4)), `${file}: its checksum`);
  const index = data.length - 4 - 4 * (n + 1 + header.slots);
  const offset = (i: number): number => data.readUInt32LE(index + 4 * i);
  const slot = (i: number): number => data.readUInt32LE(index + 4 * (n + 1 + i));
  const fields: Buffer[] = [];
  for (let at = newline + 1; at < offset(n); ) {
    if (fields.length % 2 === 0) assert.equal(offset(fields.length / 2), at, `${file}: the offset of entry ${fields.length / 2}`);
    const end = data.indexOf(0, at);
    assert.ok(end >= 0 && end < offset(n), `${file}: its last field is not ended by a NUL`);
    fields.push(data.subarray(at, end));
    at = end + 1;
  }
  assert.equal(fields.length, 2 * n, `${file}: ${fields.length} fields for ${n} repositories`);
  assert.ok(index >= offset(n) && index - offset(n) < 4 && index % 4 === 0, `${file}: the index starts at the first multiple of 4 after the entries`);
  // Every entry is in the hash table once, at or after its name's slot with no empty slot between.
  const mask = header.slots - 1;
  const placed = new Set<number>();
  for (let i = 0; i < n; i++) {
    let at = crc32(fields[2 * i]!) & mask;
    while (slot(at) !== i + 1) {
      assert.notEqual(slot(at), 0, `${file}: entry ${i} is not in the hash table`);
      at = (at + 1) & mask;
    }
    placed.add(at);
  }
  for (let at = 0; at < header.slots; at++) if (!placed.has(at)) assert.equal(slot(at), 0, `${file}: slot ${at} names no entry of its name`);
  const repos: ServedRepo[] = [];
  for (let i = 0; i < n; i++) repos.push({ name: decodeName(fields[2 * i]!), path: decodeName(fields[2 * i + 1]!) });
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
    const entry = JSON.parse(line) as { generation?: string; n?: number; size?: number; splices?: Array<[number, string[], Array<[string, string]>]> };
    if (entry.generation !== undefined) {
      applies = entry.generation === snapshot.generation;
      continue;
    }
    if (!applies) continue;
    // As the WSGI script checks: each line follows the one before and applies to a list of its size.
    n++;
    if (entry.n !== n || entry.size !== repos.length) throw new Error(`journal line ${JSON.stringify(entry.n)} (size ${entry.size}) does not follow line ${n - 1} on a list of ${repos.length}`);
    for (const [at, removed, inserted] of entry.splices!) {
      // The names a splice says it removes are those at its place.
      assert.deepEqual(repos.slice(at, at + removed.length).map((r) => r.name), removed, `journal line ${n}: the names removed at ${at}`);
      repos.splice(at, removed.length, ...inserted.map(([name, path]) => ({ name, path })));
    }
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
