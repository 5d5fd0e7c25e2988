/**
 * Parity of permission problems. The tests run as root, which bypasses file
 * modes, so both hgweb and hgreload run here as 'nobody', as a web server would
 * run as its own user. hgweb skips a folder it cannot list, but fails
 * entirely on a stat that fails (a child of a readable, non-searchable folder),
 * on a root it cannot list, and on a symlink to a folder it cannot list.
 */
import { before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { assertParity, type CaseExpectations, parityTree } from '../helpers/parity.js';

const USER = 'nobody';

describe(`parity: permissions (hgweb and hgreload run as ${USER})`, () => {
  const { tree, base, walk } = parityTree('hgreload-parity-perms-');

  const walkAsUser = (name: string, root: string, star: '*' | '**', expect: CaseExpectations) => walk(name, root, star, expect, { user: USER });

  before(() => {
    // Unreadable folders below the root are skipped with everything in them.
    tree.repo('skip/ok', 'skip/locked/r', 'skip/xonly/r2', 'skip/zz-repo-000', 'skip/r644');
    tree.repo('skip/ok/inwd', 'skip/ok/locked-in-wd/r3');
    // A root below a folder nobody may search.
    tree.repo('skip/locked/inner/r4');

    // A readable but non-searchable (644) folder holding a subfolder: stat of the child fails.
    tree.repo('noexec/fine', 'noexec/n/below');
    // The same folder inside a repository's working folder, reached by `**`.
    tree.repo('noexec-in-wd/outer', 'noexec-in-wd/outer/n/below');
    // A 644 folder holding only files and a symlink to a folder is harmless.
    tree.repo('noexec-files/fine').file('noexec-files/n/somefile').dir('noexec-files/target');
    tree.link('noexec-files/n/link', '../target');

    // A symlink to a folder nobody may list: the link is the top of a nested walk.
    tree.repo('linkto000/fine', 'linkto000/locked/r');
    tree.link('linkto000/a-link', 'locked');
    // The same link sorting after the folder: the folder was seen first (a stat is allowed), the link is dropped.
    tree.repo('link-after-000/fine', 'link-after-000/locked/r');
    tree.link('link-after-000/z-link', 'locked');

    tree.repo('root000/r');

    // An %include that exists but cannot be read is a config error (a missing one is ignored).
    tree.file('secret.rc', '[paths]\nsecret = skip/*\n');
    tree.file('hidden-config/hgweb.config', '[paths]\nok = skip/*\n');

    // Everything readable by the server's user, then the permission cases themselves.
    const r = spawnSync('chmod', ['-R', 'a+rX', base]);
    if (r.status !== 0) throw new Error(`chmod failed: ${r.stderr}`);
    tree.chmod('skip/locked', 0o000).chmod('skip/xonly', 0o711).chmod('skip/zz-repo-000/.hg', 0o000).chmod('skip/r644', 0o644);
    tree.chmod('skip/ok/locked-in-wd', 0o000);
    tree.chmod('noexec/n', 0o644).chmod('noexec-in-wd/outer/n', 0o644).chmod('noexec-files/n', 0o644);
    tree.chmod('linkto000/locked', 0o000).chmod('link-after-000/locked', 0o000);
    tree.chmod('root000', 0o000).chmod('secret.rc', 0o000).chmod('hidden-config', 0o700);
  });


  describe('what hgweb skips', () => {
    it('skips 000 and 711 folders silently, and serves repositories whose .hg or folder is unreadable (*)', async () => {
      await walkAsUser('skip-star', 'skip', '*', { fails: false, serves: ['ok', 'zz-repo-000', 'r644'], omits: ['locked/r', 'xonly/r2'] });
    });

    it('skips an unreadable folder inside a working folder (**)', async () => {
      await walkAsUser('skip-starstar', 'skip', '**', { fails: false, serves: ['ok', 'ok/inwd'], omits: ['ok/locked-in-wd/r3'] });
    });

    it('ignores a symlink to a 000 folder that sorts after the folder', async () => {
      await walkAsUser('link-after-000-star', 'link-after-000', '*', { fails: false, serves: ['fine'] });
    });

    it('ignores a 644 folder that holds only files and a symlink', async () => {
      await walkAsUser('noexec-files-star', 'noexec-files', '*', { fails: false, serves: ['fine'] });
    });
  });

  describe('what makes hgweb fail', () => {
    it('fails on a 644 folder holding a subfolder', async () => {
      await walkAsUser('noexec-star', 'noexec', '*', { fails: true });
    });

    it('fails on a 644 folder holding a subfolder inside a working folder (**)', async () => {
      await walkAsUser('noexec-in-wd-starstar', 'noexec-in-wd', '**', { fails: true });
    });

    it('but not with *, which never enters the working folder', async () => {
      await walkAsUser('noexec-in-wd-star', 'noexec-in-wd', '*', { fails: false, serves: ['outer'] });
    });

    it('fails on a symlink to a folder it cannot list', async () => {
      await walkAsUser('linkto000-star', 'linkto000', '*', { fails: true });
    });

    it('fails on a 000 root', async () => {
      await walkAsUser('root000-star', 'root000', '*', { fails: true });
    });

    it('fails on a 000 [collections] folder', async () => {
      const config = tree.config('root000-collection.config', ['[collections]', 'root000 = root000']);
      await assertParity(config, { cwd: base, user: USER, expect: { fails: true } });
    });

    it('fails on an %include it cannot read', async () => {
      const config = tree.config('include-secret.config', ['[paths]', 'ok = skip/*', '%include secret.rc']);
      await assertParity(config, { cwd: base, user: USER, expect: { fails: true } });
    });

    it('fails when the config file is in a folder it cannot search', async () => {
      // hgweb sees no such file (os.path.exists is false) and refuses to start.
      await assertParity(tree.abs('hidden-config/hgweb.config'), { cwd: base, user: USER, expect: { fails: true } });
    });

    it('fails on a root below a folder it cannot search', async () => {
      await walkAsUser('below-locked-star', 'skip/locked/inner', '*', { fails: true });
    });
  });
});
