/**
 * The ways of reading folders (synchronous for local file systems, through the
 * addon's listing and its reader's thread, or Node's readdir where the addon
 * is not built; thread pool with read-ahead for network ones) must give
 * hgweb's answer alike. The parity suite runs the CLI, which picks the local
 * one here; this runs each in-process on a tree full of the cases where order
 * and first-seen-wins matter.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadServed } from '../../src/discovery/load-served.js';
import { localWalkFs, parallelWalkFs } from '../../src/discovery/dir-reader.js';
import { parityTree } from '../helpers/parity.js';
import { runOracle } from '../helpers/run.js';

describe('walk strategies', () => {
  const { tree, base } = parityTree('hgreload-strategies-');
  let config = '';
  before(() => {
    tree.repo('root/plain', 'root/plain/inwd', 'root/nested/inner', 'root/a/b/c/deep', 'root/outer', 'root/outer/sub', 'root/outer/.hg/patches');
    tree.repo('root/.hidden/h', 'root/ünï/r', 'outside/x/extrepo');
    tree.link('root/Alink-to-plain', 'plain').link('root/zlink-to-nested', 'nested').link('root/loop-self', '.');
    tree.link('root/loopdir/back', '../loopdir').link('root/ext', '../outside').link('root/dangling', 'nothing');
    tree.link('root/outer/dir2/lnk', '../../../outside');
    for (let i = 0; i < 300; i++) tree.repo(`root/many/r${String(i).padStart(3, '0')}`);
    config = tree.config('hgweb.config', ['[paths]', `star = ${base}/root/*`, `starstar = ${base}/root/**`, '[collections]', `${base} = ${base}/root`]);
  });

  it('local (addon and readdir) and parallel reads all give what hgweb serves', async () => {
    const expected = runOracle(config, { cwd: base });
    assert.ok('repos' in expected && expected.repos.length > 300);
    assert.ok(localWalkFs.reader !== undefined, 'npm install builds the addon: a machine that cannot fails here');
    const ways = { addon: localWalkFs, readdir: { ...localWalkFs, reader: undefined, names: undefined }, parallel: parallelWalkFs };
    for (const [way, fs] of Object.entries(ways)) {
      const state = await loadServed(config, { cwd: base, fs });
      assert.deepEqual(state.errors, []);
      assert.deepEqual(state.repos, expected.repos, way);
    }
  });
});
