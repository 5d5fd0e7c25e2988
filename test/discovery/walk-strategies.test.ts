/**
 * The two ways of reading folders (synchronous for local file systems, thread
 * pool with read-ahead for network ones) must give hgweb's answer alike. The
 * parity suite runs the CLI, which picks the local one here; this runs both
 * in-process on a tree full of the cases where order and first-seen-wins matter.
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

  it('local and parallel reads both give what hgweb serves', async () => {
    const expected = runOracle(config, { cwd: base });
    assert.ok('repos' in expected && expected.repos.length > 300);
    for (const fs of [localWalkFs, parallelWalkFs]) {
      const state = await loadServed(config, { cwd: base, fs });
      assert.deepEqual(state.errors, []);
      assert.deepEqual(state.repos, expected.repos, fs.readAhead ? 'parallel' : 'local');
    }
  });
});
