/**
 * A walk's results take the values the daemon holds already where they are
 * equal, so that a rescan of a still tree leaves one copy of each path in
 * memory, not two. (Entries are objects: which one is kept can be seen.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Root, RootResult, ServedRepo } from '../../src/discovery/served-repos.js';
import { reuseUnchanged } from '../../src/model/reuse.js';

const root: Root = { kind: 'walk', prefix: '', folder: '/srv/hg', recurse: false } as Root;
/** Fresh objects and strings each call, as a walk makes them. */
const fresh = (s: string): string => [...s].join('');
const repo = (name: string, path = `/srv/hg/${name}`): ServedRepo => ({ name: fresh(name), path: fresh(path) });
const folder = (name: string): string => fresh(`/srv/hg/${name}`);
const result = (names: readonly string[]): RootResult => ({ root, repos: names.map((n) => repo(n)), folders: names.map(folder), links: false, canonical: '/srv/hg' });
const held = (names: readonly string[]) => ({ repos: names.map((n) => repo(n)), folders: names.map(folder) });
const parts = (r: RootResult): { repos: readonly ServedRepo[]; folders: readonly string[] } => ('error' in r ? { repos: [], folders: [] } : r);

describe('reuseUnchanged', () => {
  it('takes every entry and folder held already, changes made between walks included', () => {
    const now = held(['a', 'b', 'd', 'e']);
    const walked = result(['a', 'b', 'c', 'd', 'e']);
    const got = parts(reuseUnchanged([walked], now)[0]!);
    assert.deepEqual(got, parts(walked));
    const same = (x: unknown, y: unknown): boolean => x === y;
    assert.deepEqual(
      got.repos.map((r) => now.repos.some((h) => same(h, r))),
      [true, true, false, true, true],
    );
    assert.equal(got.repos[2], parts(walked).repos[2]);
    // (A string's identity cannot be seen from JavaScript: the folders are only checked equal.)
  });

  it("keeps the walk's own entry for a name that now leads elsewhere", () => {
    const now = { repos: [repo('a', '/elsewhere/a')], folders: [] };
    const walked = result(['a']);
    assert.equal(parts(reuseUnchanged([walked], now)[0]!).repos[0], parts(walked).repos[0]);
  });
});
