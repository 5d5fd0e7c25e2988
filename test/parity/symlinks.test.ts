/**
 * Parity of hgweb's walk through symlinks. hgweb follows symlinked folders
 * (each as a nested walk that loses `**`), and keeps the first name under
 * which it meets a folder (same device and inode), in byte order with the
 * symlinks of a folder handled before its real subfolders. That one rule hides
 * link targets, drops later links and ends loops; each case here shows one
 * consequence of it.
 */
import { before, describe, it } from 'node:test';
import { parityTree } from '../helpers/parity.js';

describe('parity: symlinks in the walk', () => {
  const { tree, base, walk } = parityTree('hgreload-parity-symlinks-');


  before(() => {
    // A link sorting before its target: the target is met second, as a folder already seen.
    tree.repo('hide/plain', 'hide/plain/inwd', 'hide/zplain-sibling');
    tree.link('hide/Alink-to-plain', 'plain');
    // A link sorting after its target: the link is the one dropped.
    tree.repo('drop/nested/inner');
    tree.link('drop/zlink-to-nested', 'nested');

    // Links to a repository and to a folder outside the root; links come first in their folder's output.
    tree.repo('outside-target/x/extrepo', 'outside-target/repo');
    tree.repo('ext/a-real');
    tree.link('ext/ext', '../outside-target');
    tree.link('ext/repolink', '../outside-target/repo');

    // Several links to one folder, and a link straight to a repository inside it.
    tree.repo('multi/target/r', 'multi/target/s');
    tree.link('multi/a-repolink', 'target/r');
    tree.link('multi/b-link', 'target');
    tree.link('multi/c-link', 'target');
    tree.link('multi/d-abs-link', `${base}/multi/target`);

    // Loops: to the root itself, to the link's own folder, to a link's own name; a dangling link.
    tree.repo('loops/ok', 'loops/loopdir/r');
    tree.link('loops/loop-self', '.');
    tree.link('loops/loopdir/back', '../loopdir');
    tree.link('loops/loopdir/deeper/to-root', '../..');
    tree.link('loops/selfloop', 'selfloop');
    tree.link('loops/dangling', 'does-not-exist');
    tree.link('loops/to-file', 'ok/.hg/../../file');
    tree.file('loops/file');

    // A link to an ancestor of the root: the parent's other children get served through it.
    tree.repo('up-case/uproot/own', 'up-case/sibling', 'up-case/sibling2/deeper');
    tree.link('up-case/uproot/up', '..');

    // Links in and below a repository's working folder (for `**`).
    tree.repo('wd/outer', 'wd-outside2/o2repo', 'wd-outside3/o3repo');
    tree.link('wd/outer/wdlink', '../../wd-outside2');
    tree.link('wd/outer/dir2/lnk', '../../../wd-outside3');

    // `**` under a link: the nested walk is a `*` walk, so repositories inside repositories are lost.
    tree.repo('lost/real/repo', 'lost/real/repo/nested-in-wd', 'lost/zz-sorted-last/repo2', 'lost/zz-sorted-last/repo2/nested2');
    tree.link('lost/a-link', 'zz-sorted-last');

    // Under `**` the nested repositories of a working folder are not marked as seen,
    // so a link to one, met later, serves it a second time.
    tree.repo('unseen/A', 'unseen/A/sub');
    tree.link('unseen/b/zlink', '../A/sub');
  });


  describe('a link and its target', () => {
    it('a link sorting before its target hides the target (*)', async () => {
      await walk('hide-star', 'hide', '*', { serves: ['Alink-to-plain', 'zplain-sibling'], omits: ['plain'] });
    });

    it('a link sorting before its target hides the target, and ** is not carried through the link', async () => {
      await walk('hide-starstar', 'hide', '**', { serves: ['Alink-to-plain'], omits: ['plain', 'plain/inwd', 'Alink-to-plain/inwd'] });
    });

    it('a link sorting after its target is dropped', async () => {
      await walk('drop-star', 'drop', '*', { serves: ['nested/inner'], omits: ['zlink-to-nested/inner'] });
    });
  });

  describe('links to repositories and folders', () => {
    it('follows links to a folder and to a repository outside the root, before the real subfolders', async () => {
      await walk('ext-star', 'ext', '*', { serves: ['ext/x/extrepo', 'ext/repo', 'a-real'], omits: ['repolink'] });
    });

    it('serves a folder reached by several links under the first name only', async () => {
      await walk('multi-star', 'multi', '*', { serves: ['a-repolink', 'b-link/s'], omits: ['b-link/r', 'c-link/s', 'target/s'] });
    });
  });

  describe('loops', () => {
    it('prunes links to the root and to their own folder, and ignores dangling and looping links', async () => {
      await walk('loops-star', 'loops', '*', { serves: ['ok', 'loopdir/r'], omits: ['loop-self/ok', 'loopdir/back/r'] });
    });

    it('serves the siblings of the root through a link to its parent (up -> ..)', async () => {
      await walk('up-star', 'up-case/uproot', '*', { serves: ['own', 'up/sibling', 'up/sibling2/deeper'] });
    });

    it('ends the same loops under **', async () => {
      await walk('loops-starstar', 'loops', '**', { serves: ['ok', 'loopdir/r'] });
    });
  });

  describe('links inside repositories (**)', () => {
    it('does not follow a link directly in a working folder, but follows one below it', async () => {
      await walk('wd-starstar', 'wd', '**', { serves: ['outer', 'outer/dir2/lnk/o3repo'], omits: ['outer/wdlink/o2repo'] });
    });

    it('with * finds only the repository itself', async () => {
      await walk('wd-star', 'wd', '*', { serves: ['outer'], omits: ['outer/dir2/lnk/o3repo'] });
    });

    it('does not carry ** through a link to a folder of repositories', async () => {
      await walk('lost-starstar', 'lost', '**', {
        serves: ['a-link/repo2', 'real/repo', 'real/repo/nested-in-wd'],
        omits: ['a-link/repo2/nested2', 'zz-sorted-last/repo2'],
      });
    });

    it('serves a nested repository twice when a later link points at it (** marks nothing seen inside repositories)', async () => {
      await walk('unseen-starstar', 'unseen', '**', { serves: ['A/sub', 'b/zlink'] });
    });
  });
});
