/**
 * The combined tree of the behaviour reference (section 6, "Results on the
 * crafted tree"): every walk rule at once, compared whole for the configs that
 * were checked against a real hgweb. `plain` and the MQ queue in `outer` are
 * made by `hg init`, so a real `.hg` (store, requires, cache) is in the mix.
 */
import { before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { assertParity, parityTree } from '../helpers/parity.js';

describe('parity: the crafted tree of the reference (section 6)', () => {
  const { tree, base } = parityTree('hgreload-parity-crafted-');
  let root: string;

  before(() => {
    root = tree.abs('root');

    // Ordinary repositories, one with a repository in its working folder.
    tree.hgInit('root/plain').repo('root/plain/inwd', 'root/nested/inner', 'root/a/b/c/deep');
    // Repositories inside a repository.
    tree.repo('root/outer', 'root/outer/sub', 'root/outer/sub/subsub2', 'root/outer/dir/subsub');
    // Symlinks directly in and below outer's working folder.
    tree.repo('outside2/o2repo', 'outside3/o3repo');
    tree.link('root/outer/wdlink', '../../outside2');
    tree.link('root/outer/dir2/lnk', '../../../outside3');
    // MQ and other repositories under .hg: only .hg/patches is served.
    tree.hgInit('root/outer/.hg/patches');
    tree.repo('root/plain/.hg/patches-other', 'root/plain/.hg/sneaky');
    // .hg that is not a plain folder.
    tree.file('root/hgfile/.hg', 'not a repository');
    tree.link('root/hgdirlink/.hg', '../plain/.hg');
    tree.link('root/hgfilelink/.hg', '../hgfile/.hg');
    tree.link('root/hgbroken/.hg', '../nowhere/.hg');
    tree.dir('root/emptyhg/.hg');
    // Symlinks in the root.
    tree.link('root/Alink-to-plain', 'plain');
    tree.link('root/zlink-to-nested', 'nested');
    tree.link('root/loop-self', '.');
    tree.link('root/loopdir/back', '../loopdir');
    tree.link('root/dangling', 'does-not-exist');
    tree.link('root/selfloop', 'selfloop');
    tree.repo('outside/x/extrepo');
    tree.link('root/ext', '../outside');
    // Hidden and odd names.
    tree.repo('root/.hidden/hrepo', 'root/.dotrepo', 'root/.git/inside-dotgit', 'root/with space/r e p o', 'root/ünïcödé/répo', 'root/comma,name', 'root/UPPER');
    // Permission cases (root bypasses them; as another user they matter).
    tree.repo('root/unreadable/hidden-by-perms', 'root/noexec/below', 'root/zz-unreadable-repo');
    const r = spawnSync('chmod', ['-R', 'a+rX', base]);
    if (r.status !== 0) throw new Error(`chmod failed: ${r.stderr}`);
    tree.chmod('root/unreadable', 0o000).chmod('root/noexec', 0o644).chmod('root/zz-unreadable-repo/.hg', 0o000);
  });


  it('/ = root/* (relative to the working folder)', async () => {
    const config = tree.config('star.config', ['[paths]', '/ = root/*']);
    await assertParity(config, {
      cwd: base,
      expect: {
        serves: ['Alink-to-plain', 'ext/x/extrepo', '.git/inside-dotgit', 'hgdirlink', 'outer/.hg/patches', 'unreadable/hidden-by-perms', 'zz-unreadable-repo'],
        omits: ['plain', 'zlink-to-nested/inner', 'hgfile', 'hgfilelink', 'hgbroken', 'plain/.hg/patches-other', 'outer/sub'],
      },
    });
  });

  it('/ = root/**', async () => {
    const config = tree.config('starstar.config', ['[paths]', '/ = root/**']);
    await assertParity(config, {
      cwd: base,
      expect: {
        serves: ['outer/dir/subsub', 'outer/dir2/lnk/o3repo', 'outer/sub', 'outer/sub/subsub2'],
        omits: ['Alink-to-plain/inwd', 'plain/inwd', 'outer/wdlink/o2repo'],
      },
    });
  });

  it('proj = <absolute root>/*', async () => {
    const config = tree.config('proj.config', ['[paths]', `proj = ${root}/*`]);
    await assertParity(config, { cwd: base, expect: { serves: ['proj/Alink-to-plain', 'proj/outer'] } });
  });

  it('[collections] <root> = <root>', async () => {
    const config = tree.config('collections-absolute.config', ['[collections]', `${root} = ${root}`]);
    await assertParity(config, { cwd: base, expect: { serves: ['Alink-to-plain', 'outer/.hg/patches'] } });
  });

  it('[collections] root = root (relative paths)', async () => {
    const config = tree.config('collections-relative.config', ['[collections]', 'root = root']);
    await assertParity(config, { cwd: base, expect: { serves: ['Alink-to-plain', 'outer'] } });
  });

  it('all of them in one config, with plain entries, compared whole', async () => {
    const config = tree.config('combined.config', [
      '[web]',
      'refreshinterval = -1',
      '[collections]',
      'root = root',
      '[paths]',
      '/ = root/*',
      'deep = root/**',
      `proj = ${root}/*`,
      `direct = ${root}/plain`,
      'missing = root/not-there',
      '/ = root/*, root/outer/**',
    ]);
    await assertParity(config, { cwd: base, expect: { serves: ['direct', 'missing', 'deep/outer/sub', 'sub'] } });
  });

  it('fails as a normal user, like hgweb, on the 644 folder noexec', async () => {
    const config = tree.config('star-as-user.config', ['[paths]', `/ = ${root}/*`]);
    await assertParity(config, { cwd: base, user: 'nobody', expect: { fails: true } });
  });
});
