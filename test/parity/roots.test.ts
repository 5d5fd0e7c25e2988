/**
 * Parity of the roots themselves: how hgweb spells, normalises and resolves
 * the folder of a `*`/`**` entry or a [collections] value, and which roots make
 * hgweb fail every request (hgreload must then fail too, naming the path).
 */
import { before, describe, it } from 'node:test';
import { assertParity, parityTree } from '../helpers/parity.js';

describe('parity: collection roots', () => {
  const { tree, base } = parityTree('hgreload-parity-roots-');

  before(() => {
    tree.repo('repos/a', 'repos/b/c');
    // A root that is itself a repository, with a nested one and a patch queue.
    tree.repo('rootrepo', 'rootrepo/child', 'rootrepo/.hg/patches');
    tree.link('rootlink', 'repos');
    tree.link('rootrepo-link', 'rootrepo');
    tree.link('dangling-root', 'nothing-here');
    tree.file('afile');
    // `link/..` is resolved by the kernel (the parent of the link's target), not by
    // cutting the path: hgweb normalises `*` roots first, but walks [collections] as written.
    tree.repo('physical/elsewhere/deep/e1', 'physical/coll/real/c1');
    tree.link('physical/coll/real/link', '../../elsewhere/deep');
    // The working folder reached through a symlink: relative roots resolve from the real folder.
    tree.link('cwd-link', 'repos');
  });


  describe('spellings of a root', () => {
    it('serves a root that is itself a repository as the prefix (*)', async () => {
      const config = tree.config('rootrepo-star.config', ['[paths]', '/ = rootrepo/*', `proj = ${base}/rootrepo/*`]);
      await assertParity(config, { cwd: base, expect: { serves: ['', '.hg/patches', 'proj', 'proj/.hg/patches'], omits: ['child'] } });
    });

    it('serves a root that is itself a repository and its nested repositories (**)', async () => {
      const config = tree.config('rootrepo-starstar.config', ['[paths]', '/ = rootrepo/**']);
      await assertParity(config, { cwd: base, expect: { serves: ['', 'child'] } });
    });

    it('keeps a leading // in names and paths, and collapses ///', async () => {
      const config = tree.config('double-slash.config', [
        '[paths]',
        `two = /${base}/repos/*`,
        `three = //${base}/repos/*`,
        '[collections]',
        `/${base} = /${base}/repos`,
      ]);
      await assertParity(config, { cwd: base, expect: { serves: ['two/a', 'three/a', 'repos/a'] } });
    });

    it('serves x/*/ as a plain path, not a collection', async () => {
      const config = tree.config('star-slash.config', ['[paths]', `/ = ${base}/repos/*/`, `d = ${base}/repos/**/`]);
      await assertParity(config, { cwd: base, expect: { serves: ['', 'd'], omits: ['a'] } });
    });

    it('walks a root that is a symlink under the link name', async () => {
      const config = tree.config('root-symlink.config', ['[paths]', '/ = rootlink/*', '[collections]', 'rootlink = rootlink']);
      await assertParity(config, { cwd: base, expect: { serves: ['a', 'b/c'] } });
    });

    it('walks a ** root that is a symlink to a repository into its working folder', async () => {
      const config = tree.config('root-symlink-repo.config', ['[paths]', '/ = rootrepo-link/**', 'star = rootrepo-link/*']);
      await assertParity(config, { cwd: base, expect: { serves: ['', 'child', 'star'] } });
    });

    it('resolves link/.. in a [collections] value physically, as the kernel does', async () => {
      const config = tree.config('coll-dotdot.config', [
        '[collections]',
        'physical = physical/coll/real/link/..',
        `${base}/ = ${base}/physical/coll/real/link/..`,
      ]);
      await assertParity(config, { cwd: base, expect: { serves: ['coll/real/deep/e1', 'physical/coll/real/deep/e1'], omits: ['coll/real/c1'] } });
    });

    it('normalises link/.. in a * root lexically, as hgweb does before walking', async () => {
      const config = tree.config('star-dotdot.config', ['[paths]', '/ = physical/coll/real/link/../*']);
      await assertParity(config, { cwd: base, expect: { serves: ['c1'] } });
    });

    it('resolves relative roots from the working folder /', async () => {
      const rel = base.slice(1);
      const config = tree.config('cwd-root.config', ['[paths]', `star = ${rel}/repos/*`, '[collections]', `${rel} = ${rel}/repos`]);
      await assertParity(config, { cwd: '/', expect: { serves: ['star/a', 'repos/a'] } });
    });

    it('resolves relative roots from the real working folder when it is reached through a symlink', async () => {
      const config = tree.config('cwd-link.config', ['[paths]', 'star = *', 'plain = a', '[collections]', 'coll = .']);
      await assertParity(config, { cwd: tree.abs('cwd-link'), expect: { serves: ['star/a', 'plain', 'a'] } });
    });
  });

  describe('roots that make hgweb fail', () => {
    it('fails when a * root does not exist', async () => {
      const config = tree.config('missing-root.config', ['[paths]', 'ok = repos/*', `/ = ${base}/missing/*`]);
      await assertParity(config, { cwd: base, expect: { fails: true } });
    });

    it('fails when a relative ** root does not exist', async () => {
      const config = tree.config('missing-relative.config', ['[paths]', '/ = missing/deeper/**']);
      await assertParity(config, { cwd: base, expect: { fails: true } });
    });

    it('fails when a root is a file', async () => {
      const config = tree.config('file-root.config', ['[paths]', `/ = ${base}/afile/*`]);
      await assertParity(config, { cwd: base, expect: { fails: true } });
    });

    it('fails when a root is a dangling symlink', async () => {
      const config = tree.config('dangling-root.config', ['[paths]', `/ = ${base}/dangling-root/*`]);
      await assertParity(config, { cwd: base, expect: { fails: true } });
    });

    it('fails when a [collections] value is a file', async () => {
      const config = tree.config('file-collection.config', ['[collections]', 'f = afile']);
      await assertParity(config, { cwd: base, expect: { fails: true } });
    });
  });
});
