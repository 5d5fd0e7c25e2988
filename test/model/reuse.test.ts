/**
 * A walk's results take the last walk's values where they are equal, so that
 * a rescan of a still tree leaves one copy of each path in memory, not two.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Root, RootResult, ServedRepo } from '../../src/discovery/served-repos.js';
import { reuseUnchanged } from '../../src/model/reuse.js';

const root: Root = { kind: 'walk', prefix: '', folder: '/srv/hg', recurse: false } as Root;
/** Fresh objects and strings each call, as a walk makes them. */
const repo = (name: string): ServedRepo => ({ name: [name].join(''), path: ['/srv/hg/', name].join('') });
const result = (names: readonly string[]): RootResult => ({ root, repos: names.map(repo), folders: ['/srv/hg', ...names.map((n) => `/srv/hg/${n}`)], links: false, canonical: '/srv/hg' });
const reposOf = (r: RootResult): ServedRepo[] => ('error' in r ? [] : r.repos);

describe('reuseUnchanged', () => {
  it("takes the last walk's lists whole where nothing changed", () => {
    const last = result(['a', 'b', 'c']);
    const [next] = reuseUnchanged([result(['a', 'b', 'c'])], [last]);
    assert.equal(reposOf(next!), reposOf(last));
    assert.equal(!('error' in next!) && next.folders, !('error' in last) && last.folders);
  });

  it("keeps the last walk's entries before and after a change, and the walk's own for what changed", () => {
    const last = result(['a', 'b', 'd', 'e']);
    const walked = result(['a', 'b', 'c', 'd', 'e']);
    const [next] = reuseUnchanged([walked], [last]);
    const got = reposOf(next!);
    assert.deepEqual(got, reposOf(walked));
    const before = reposOf(last);
    assert.equal(got[0], before[0]);
    assert.equal(got[1], before[1]);
    assert.equal(got[2], reposOf(walked)[2]);
    assert.equal(got[3], before[2]);
    assert.equal(got[4], before[3]);
  });

  it('leaves results alone when the roots are not the same ones', () => {
    const walked = [result(['a']), result(['b'])];
    const got = reuseUnchanged(walked, [result(['a'])]);
    assert.equal(reposOf(got[0]!), reposOf(walked[0]!));
  });
});
