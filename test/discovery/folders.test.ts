/** The folders discovery reports for watching: where a new repository could appear, and nowhere else. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { loadServed } from '../../src/discovery/load-served.js';
import { parityTree } from '../helpers/parity.js';

describe('discovery folders', () => {
  const { tree, base } = parityTree('hgreload-folders-');
  const real = (rel: string) => realpathSync(tree.abs(rel));
  before(() => {
    tree.repo('root/a/r1', 'root/a/r1/sub/nested', 'root/b/r2', 'other/x/r3');
    tree.dir('root/empty', 'root/a/r1/sub/deeper', 'other/x/r3/wd').link('root/ext', '../other');
  });

  it('* : every folder walked that is not a repository, links resolved, none inside repositories; and where a link leads', async () => {
    const conf = tree.config('star.config', ['[paths]', `/ = ${base}/root/*`]);
    const { folders } = await loadServed(conf, { cwd: base });
    // root/ext -> ../other: the folder holding `other` too, where it may be removed, renamed or made again.
    assert.deepEqual(new Set(folders), new Set(['root', 'root/ext', 'other/x', 'root/a', 'root/b', 'root/empty', '.'].map((r) => real(r))));
  });

  it('** : working folders too, but not .hg', async () => {
    const conf = tree.config('starstar.config', ['[paths]', `/ = ${base}/root/**`]);
    const { folders, repos } = await loadServed(conf, { cwd: base });
    assert.ok(repos.some((r) => r.name === 'a/r1/sub/nested'));
    for (const f of ['root/a/r1', 'root/a/r1/sub', 'root/a/r1/sub/deeper', 'root/b/r2']) assert.ok(folders.includes(real(f)), f);
    assert.ok(!folders.some((f) => f.includes('/.hg')));
    // Through a link the walk is a `*` walk: a repository's working folder there is not watched.
    assert.ok(!folders.includes(real('other/x/r3')) && !folders.includes(real('other/x/r3/wd')));
  });
});
