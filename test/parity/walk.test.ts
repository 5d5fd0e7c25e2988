/**
 * Parity of hgweb's walk below a `*` or `**` root (scmutil.walkrepos): what
 * counts as a repository, nesting, MQ patch queues, hidden folders, odd names
 * and their byte order. Symlinks have their own file (symlinks.test.ts).
 * One tree is built for the whole file; each case walks its own part of it.
 */
import { before, describe, it } from 'node:test';
import { assertParity, parityTree } from '../helpers/parity.js';

describe('parity: the walk below a collection root', () => {
  const { tree, base, walk } = parityTree('hgreload-parity-walk-');


  before(() => {
    // Repositories inside a repository's working folder: only `**` finds them.
    tree.repo('nesting/outer', 'nesting/outer/sub', 'nesting/outer/sub/subsub', 'nesting/outer/dir/deep', 'nesting/outer/.hidden-in-wd/r');
    tree.repo('nesting/single', 'nesting/a/b/c/deep');

    // MQ: only `.hg/patches` holding its own `.hg` is served; nothing else inside `.hg` is looked at.
    tree.repo('patches/mq', 'patches/mq/.hg/patches');
    tree.repo('patches/named', 'patches/named/.hg/patches-other');
    tree.repo('patches/sneaky', 'patches/sneaky/.hg/sneaky');
    tree.repo('patches/nopq').dir('patches/nopq/.hg/patches');
    tree.repo('patches/pqfile').file('patches/pqfile/.hg/patches/.hg', 'not a folder');
    tree.repo('patches/pqlink').dir('patches/pqlink/.hg/patches', 'patches/pq-store/realhg');
    tree.link('patches/pqlink/.hg/patches/.hg', '../../../pq-store/realhg');
    // `**` also walks into a working folder holding a patch queue.
    tree.repo('patches/mq/inwd');

    // Hidden folders get no special treatment: only the exact name `.hg` is special.
    tree.repo('hidden/.hidden/hrepo', 'hidden/.dotrepo', 'hidden/.git/inside-dotgit', 'hidden/UPPER', 'hidden/lower');
    tree.repo('hidden/_under', 'hidden/-dash', 'hidden/.hgx', 'hidden/hg');
    tree.dir('hidden/notarepo/.HG', 'hidden/notarepo/_hg');

    // What counts as `.hg`: a folder (even empty) or a symlink to one; not a file, a link to a file or a dangling link.
    tree.file('hgkinds/hgfile/.hg', 'a file, not a repository');
    tree.repo('hgkinds/hgfile/inner'); // so the walk goes on into a folder whose .hg is a file
    tree.dir('hgkinds/store/realhg').file('hgkinds/store/afile');
    tree.link('hgkinds/hgdirlink/.hg', '../store/realhg');
    tree.link('hgkinds/hgfilelink/.hg', '../store/afile');
    tree.link('hgkinds/hgbroken/.hg', '../store/nothing');
    tree.link('hgkinds/hgloop/.hg', '.hg');
    tree.dir('hgkinds/emptyhg/.hg');
    tree.repo('hgkinds/hgbroken/below-broken');

    // Names: spaces, commas, non-ASCII letters (kept as bytes, not normalised) and their byte order.
    tree.repo('names/with space/r e p o', 'names/comma,name', 'names/ünïcödé/répo');
    tree.repo('names/\u00e9-nfc', 'names/e\u0301-nfd'); // é precomposed and decomposed: two different folders
    // UTF-16 and UTF-8 order differ around astral characters: U+1F600 sorts after U+FF61 as bytes, before it in UTF-16.
    tree.repo('names/\u{1F600}', 'names/\uFF61', 'names/Z', 'names/a', 'names/,', 'names/~tilde', 'names/semi;colon', 'names/quote"d');
    tree.repo('names/new\nline', 'names/back\\slash', 'names/tab\there');
    // Names that are not UTF-8 (Latin-1 é, a lone 0xFF): hgweb works on bytes and serves them.
    tree.repo('raw/ok', 'raw/café');
    tree.rawRepo(Buffer.from('raw/caf\xe9/r', 'latin1')).rawRepo(Buffer.from('raw/x\xff', 'latin1'));
  });


  describe('nested repositories', () => {
    it('* does not enter a repository', async () => {
      await walk('nesting-star', 'nesting', '*', { serves: ['outer', 'single', 'a/b/c/deep'], omits: ['outer/sub'] });
    });

    it('** enters working folders (not .hg) and finds nested repositories', async () => {
      await walk('nesting-starstar', 'nesting', '**', { serves: ['outer/sub', 'outer/sub/subsub', 'outer/dir/deep', 'outer/.hidden-in-wd/r'] });
    });
  });

  describe('.hg/patches', () => {
    it('* serves .hg/patches with its own .hg, and nothing else below .hg', async () => {
      await walk('patches-star', 'patches', '*', {
        serves: ['mq', 'mq/.hg/patches', 'named', 'sneaky'],
        omits: ['named/.hg/patches-other', 'sneaky/.hg/sneaky', 'nopq/.hg/patches', 'pqfile/.hg/patches'],
      });
    });

    it('** serves .hg/patches too, and a .hg/patches/.hg that is a symlink to a folder', async () => {
      await walk('patches-starstar', 'patches', '**', { serves: ['mq/.hg/patches', 'mq/inwd', 'pqlink/.hg/patches'] });
    });
  });

  describe('hidden folders', () => {
    it('walks hidden folders like any other; only the exact name .hg makes a repository', async () => {
      await walk('hidden-star', 'hidden', '*', { serves: ['.hidden/hrepo', '.dotrepo', '.git/inside-dotgit', 'UPPER'], omits: ['notarepo'] });
    });
  });

  describe('what counts as .hg', () => {
    it('* : a folder, empty or not, or a symlink to a folder; not a file, a link to a file, a dangling or looping link', async () => {
      await walk('hgkinds-star', 'hgkinds', '*', {
        serves: ['hgdirlink', 'emptyhg', 'hgfile/inner', 'hgbroken/below-broken'],
        omits: ['hgfile', 'hgfilelink', 'hgbroken', 'hgloop'],
      });
    });

    it('** : the same, and a repository whose .hg is a symlink is entered like any other', async () => {
      await walk('hgkinds-starstar', 'hgkinds', '**', { serves: ['hgdirlink', 'emptyhg'] });
    });
  });

  describe('names', () => {
    it('keeps spaces, commas and non-ASCII letters, in bytewise order', async () => {
      await walk('names-star', 'names', '*', {
        serves: ['with space/r e p o', 'comma,name', 'ünïcödé/répo', '\u00e9-nfc', 'e\u0301-nfd', '\u{1F600}', '\uFF61'],
      });
    });

    it('serves repositories below folder names that are not UTF-8, in byte order', async () => {
      // Both sides print such a name with its bytes that are not UTF-8 as \udcNN escapes
      // (Python's surrogateescape), so the comparison is exact.
      await walk('raw-star', 'raw', '*', { serves: ['ok', 'café', 'caf\udce9/r', 'x\udcff'] });
    });

    it('serves under a prefix with spaces and non-ASCII letters', async () => {
      const config = tree.config('names-prefix.config', ['[paths]', `/mes dépôts/ = ${base}/names/ünïcödé/*`]);
      await assertParity(config, { cwd: base, expect: { serves: ['mes dépôts/répo'] } });
    });
  });
});
