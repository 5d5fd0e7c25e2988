/**
 * Parity of the hgweb.config side: how [paths] values become entries (plain
 * paths, `*` and `**` roots, lists, prefixes, repeated keys), the config
 * grammar (%include, %unset, continuations, comments) and [collections].
 * Every case runs Mercurial's hgwebdir and `hgreload list --json` on the same
 * file, in the same working folder, and compares the lists.
 */
import { before, describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { assertParity, parityTree } from '../helpers/parity.js';

describe('parity: hgweb.config [paths] and [collections]', () => {
  const { tree, base } = parityTree('hgreload-parity-paths-');
  // Relative roots are taken from hgweb's working folder, so most cases run in the tree's base.
  const here = (): { cwd: string } => ({ cwd: base });

  before(() => {
    tree.repo('repos/a', 'repos/b/c', 'other/x', 'plainrepo');
    tree.repo('with space/ws', 'comma,dir/cd');
    // Folders literally named "~" and "$HOME": hgweb does not expand roots, it walks these.
    tree.repo('~/repos/t', '$HOME/h');
  });


  describe('plain entries', () => {
    it('serves an existing repository as written', async () => {
      const config = tree.config('plain-existing.config', ['[paths]', `x = ${base}/plainrepo`]);
      await assertParity(config, { ...here(), expect: { serves: ['x'] } });
    });

    it('serves a missing path as written, without checking it', async () => {
      const config = tree.config('plain-missing.config', ['[paths]', `x = ${base}/missing`, 'y = /nowhere/at/all']);
      await assertParity(config, { ...here(), expect: { serves: ['x', 'y'] } });
    });

    it('keeps a relative path relative (hgweb resolves it per request)', async () => {
      const config = tree.config('plain-relative.config', ['[paths]', 'y = relative/thing', 'z = plainrepo', 'w = ./plainrepo/']);
      await assertParity(config, { ...here(), expect: { serves: ['y', 'z', 'w'] } });
    });

    it('keeps ~/x and $HOME/x literally', async () => {
      const config = tree.config('plain-tilde.config', ['[paths]', 't = ~/x', 'u = $HOME/x', 'v = ~root/x']);
      await assertParity(config, { ...here(), expect: { serves: ['t', 'u', 'v'] } });
    });

    it('treats values that only look like globs as plain paths', async () => {
      // Only a last path component of exactly `*` or `**` makes a collection.
      const config = tree.config('plain-globlike.config', [
        '[paths]',
        `g1 = ${base}/repos*`,
        'g2 = *.hg',
        `g3 = ${base}/repos/`,
        `g4 = ${base}/repos/***`,
        `g5 = ${base}/repos/*/`,
      ]);
      await assertParity(config, { ...here(), expect: { serves: ['g1', 'g2', 'g3', 'g4', 'g5'] } });
    });
  });

  describe('* and ** collections', () => {
    it('walks a relative * root from the working folder', async () => {
      const config = tree.config('star-relative.config', ['[paths]', '/ = repos/*']);
      await assertParity(config, { ...here(), expect: { serves: ['a', 'b/c'] } });
    });

    it('walks an absolute * root and an absolute ** root', async () => {
      const config = tree.config('star-absolute.config', ['[paths]', `/ = ${base}/repos/*`, `deep = ${base}/other/**`]);
      await assertParity(config, { ...here(), expect: { serves: ['a', 'b/c', 'deep/x'] } });
    });

    it('does not expand ~ or $VAR in roots: it walks folders with those names', async () => {
      const config = tree.config('star-tilde.config', ['[paths]', '/ = ~/repos/*', 'h = $HOME/*']);
      await assertParity(config, { ...here(), expect: { serves: ['t', 'h/h'] } });
    });

    it('walks the working folder for a bare *', async () => {
      const config = tree.config('star-bare.config', ['[paths]', 'here = *']);
      await assertParity(config, { cwd: tree.abs('repos'), expect: { serves: ['here/a', 'here/b/c'] } });
    });

    it('collapses slashes and dots in a root like Python normpath', async () => {
      const config = tree.config('star-normpath.config', [
        '[paths]',
        'one = repos//*',
        `two = ${base}/other/../repos/./*`,
        'three = ./repos/b/..//*',
      ]);
      await assertParity(config, { ...here(), expect: { serves: ['one/a', 'two/a', 'three/a'] } });
    });
  });

  describe('several roots in one value', () => {
    it('splits at commas', async () => {
      const config = tree.config('list-comma.config', ['[paths]', '/ = repos/*, other/*,plainrepo']);
      await assertParity(config, { ...here(), expect: { serves: ['a', 'x', ''] } });
    });

    it('splits at spaces and tabs', async () => {
      const config = tree.config('list-space.config', ['[paths]', '/ = repos/*   other/*\tplainrepo']);
      await assertParity(config, { ...here(), expect: { serves: ['a', 'x', ''] } });
    });

    it('adds the roots of continuation lines', async () => {
      const config = tree.config('list-continuation.config', [
        '[paths]',
        '/ = repos/*',
        '  other/*',
        '# a comment line inside the continuation is skipped',
        '\tplainrepo',
        '  # only a comment at the start of a line is one: these are four plain entries',
        'after = plainrepo',
      ]);
      await assertParity(config, { ...here(), expect: { serves: ['a', 'x', '', 'after'] } });
    });

    it('keeps a quoted path with a space or a comma in one piece', async () => {
      const config = tree.config('list-quoted.config', ['[paths]', '/ = "with space/*", "comma,dir/*"', `q = "${base}/with space/ws"`]);
      await assertParity(config, { ...here(), expect: { serves: ['ws', 'cd', 'q'] } });
    });

    it('fails like hgweb when an unquoted space splits a root (the second half does not exist)', async () => {
      // `with space/*` is the plain entry `with` plus a walk of `space`, which is missing.
      const config = tree.config('list-unquoted-space.config', ['[paths]', '/ = with space/*']);
      await assertParity(config, { ...here(), expect: { fails: true } });
    });

    it('follows the list parser into its odd corners', async () => {
      // All plain entries: the names and paths show exactly how each value was split.
      const config = tree.config('list-corners.config', [
        '[paths]',
        'q1 = "a b" c',
        'q2 = a\\"b',
        'q3 = "unterminated a b',
        'q4 = ""',
        'q5 = "x"y',
        'q6 = , a ,, b ,',
        'q7 = "x y""',
        'q8 = "say \\"hi\\"" z',
        'q9 = "" ""',
      ]);
      await assertParity(config, { ...here(), expect: { serves: ['q1', 'q4', 'q9'] } });
    });
  });

  describe('prefixes', () => {
    it('strips every leading and trailing slash, and only those', async () => {
      const config = tree.config('prefix-slashes.config', [
        '[paths]',
        '/ = repos/*',
        'proj = repos/*',
        'proj/ = other/*',
        '/proj/ = plainrepo',
        '// = other/*',
        'a//b = repos/*',
        'my repos = other/*',
        'ünï cödé = other/*',
      ]);
      await assertParity(config, { ...here(), expect: { serves: ['a', 'proj/a', 'proj/x', 'proj', 'a//b/a', 'my repos/x', 'ünï cödé/x'] } });
    });
  });

  describe('repeated keys', () => {
    it('lets a later definition win and move the key to the end', async () => {
      const config = tree.config('dup-moves.config', ['[paths]', `a = ${base}/plainrepo`, 'b = repos/*', 'a = other/*']);
      await assertParity(config, { ...here(), expect: { serves: ['a/x', 'b/a'], omits: ['a'] } });
    });

    it('keeps duplicate names from different keys', async () => {
      const config = tree.config('dup-names.config', ['[paths]', 'x = r1', 'x/ = r2', '/x/ = repos/*']);
      await assertParity(config, { ...here(), expect: { serves: ['x', 'x/a'] } });
    });

    it('merges a [paths] section that appears twice', async () => {
      const config = tree.config('dup-sections.config', [
        '[paths]',
        'a = repos/*',
        'b = other/*',
        '[web]',
        'style = gitweb',
        '[paths]',
        'a = plainrepo',
        'c = other/*',
      ]);
      await assertParity(config, { ...here(), expect: { serves: ['b/x', 'a', 'c/x'] } });
    });
  });

  describe('%include and %unset', () => {
    before(() => {
      tree.file('conf/parts/more.rc', ['[paths]', 'inc = repos/*', '%include ../sibling.rc', ''].join('\n'));
      tree.file('conf/sibling.rc', ['[paths]', 'sib = other/*', ''].join('\n'));
      tree.file('conf/unset-me.rc', ['[paths]', 'gone = other/*', 'kept = plainrepo', ''].join('\n'));
      tree.file('conf/env-target/env.rc', ['[paths]', 'env = other/*', ''].join('\n'));
      tree.dir('conf/a-directory.rc');
      // Items before any section header of an included file are not in [paths], even when
      // the %include line is; the including file's section goes on after it.
      tree.file('conf/with space.rc', ['headless = repos/*', '[paths]', 'spaced = other/*', '[web]', 'style = paper', ''].join('\n'));
      tree.file('conf/broken.rc', ['[paths]', 'fine = other/*', 'broken line', ''].join('\n'));
    });

    it('resolves %include next to the including file, roots still from the working folder', async () => {
      const config = tree.config('conf/include.config', ['[paths]', 'top = plainrepo', '%include parts/more.rc', 'last = other/*']);
      await assertParity(config, { ...here(), expect: { serves: ['top', 'inc/a', 'sib/x', 'last/x'] } });
    });

    it('resolves %include next to a config named by a relative path', async () => {
      tree.config('conf/include-relative.config', ['[paths]', '%include parts/more.rc']);
      // Both sides get the path as written: Mercurial joins the include to its dirname.
      await assertParity('conf/include-relative.config', { ...here(), expect: { serves: ['inc/a', 'sib/x'] } });
    });

    it('resolves %include next to a symlinked config, not next to its target', async () => {
      tree.config('conf/link-target.config', ['[paths]', 'top = plainrepo', '%include parts/more.rc', 'last = other/*']);
      tree.link('linked.config', 'conf/link-target.config');
      // Next to the link (the base folder) there is no parts/more.rc, so nothing is included.
      await assertParity(tree.abs('linked.config'), { ...here(), expect: { serves: ['top', 'last/x'], omits: ['inc/a'] } });
    });

    it('opens a config path with link/.. physically, as the kernel does, and its %include lexically', async () => {
      // cfglink/.. is conf/ for the kernel but the base folder for a lexical cut; each holds a phys.config.
      tree.link('cfglink', 'conf/parts');
      tree.config('conf/phys.config', ['[paths]', 'physical = repos/*', '%include inc-next-to-base.rc']);
      tree.config('phys.config', ['[paths]', 'lexical = repos/*']);
      tree.config('inc-next-to-base.rc', ['[paths]', 'included = other/*']);
      await assertParity('cfglink/../phys.config', { ...here(), expect: { serves: ['physical/a', 'included/x'], omits: ['lexical/a'] } });
    });

    it('expands $VAR in an %include path', async () => {
      const config = tree.config('conf/include-env.config', ['%include $HGRELOAD_PARITY_INC/env.rc']);
      await assertParity(config, { ...here(), env: { HGRELOAD_PARITY_INC: tree.abs('conf/env-target') }, expect: { serves: ['env/x'] } });
    });

    it('keeps sections per file: an include starts outside any section, the includer goes on in its own', async () => {
      const config = tree.config('conf/include-sections.config', ['[paths]', 'before = plainrepo', '%include with space.rc  ', 'after = other/*']);
      await assertParity(config, { ...here(), expect: { serves: ['before', 'spaced/x', 'after/x'], omits: ['headless/a'] } });
    });

    it('fails like hgweb on a parse error in an included file, naming that file', async () => {
      const config = tree.config('conf/include-broken.config', ['[paths]', 'a = plainrepo', '%include broken.rc']);
      await assertParity(config, { ...here(), expect: { fails: true, failingPath: tree.abs('conf/broken.rc') } });
    });

    it('ignores an %include whose file does not exist', async () => {
      const config = tree.config('conf/include-missing.config', ['[paths]', 'a = plainrepo', '%include nothing-here.rc', 'b = other/*']);
      await assertParity(config, { ...here(), expect: { serves: ['a', 'b/x'] } });
    });

    it('fails like hgweb on an %include of a directory', async () => {
      const config = tree.config('conf/include-dir.config', ['[paths]', 'a = plainrepo', '%include a-directory.rc']);
      await assertParity(config, { ...here(), expect: { fails: true } });
    });

    it('removes a key with %unset, also one set by an include, and a key set again goes last', async () => {
      const config = tree.config('conf/unset.config', [
        '[paths]',
        'a = repos/*',
        'b = other/*',
        '%unset a',
        '%include unset-me.rc',
        '%unset gone',
        '%unset never-set',
        'a = plainrepo',
      ]);
      await assertParity(config, { ...here(), expect: { serves: ['b/x', 'kept', 'a'], omits: ['a/a', 'gone/x'] } });
    });

    it('reads [hgweb-paths] written directly like [paths]', async () => {
      const config = tree.config('hgweb-paths.config', ['[hgweb-paths]', 'direct = repos/*', '[paths]', 'via = other/*']);
      await assertParity(config, { ...here(), expect: { serves: ['direct/a', 'via/x'] } });
    });
  });

  describe('config grammar', () => {
    it('reads a file with a BOM, CRLF line ends and comments', async () => {
      const config = tree.abs('grammar-crlf.config');
      const lines = ['[paths]', '; a comment', '# another', 'a = repos/*', '  other/*', '', 'b   =   plainrepo   ', 'c=other/*'];
      writeFileSync(config, `\uFEFF${lines.join('\r\n')}\r\n`);
      await assertParity(config, { ...here(), expect: { serves: ['a/a', 'a/x', 'b', 'c/x'] } });
    });

    it('ignores items outside [paths], before any section and in "[ paths ]"', async () => {
      const config = tree.config('grammar-sections.config', [
        'early = repos/*',
        '[ paths ]',
        'spaced = repos/*',
        '[paths] ; trailing comment',
        'real = other/*',
        '[pathsx]',
        'other = repos/*',
      ]);
      await assertParity(config, { ...here(), expect: { serves: ['real/x'], omits: ['early/a', 'spaced/a', 'other/a'] } });
    });

    it('fails like hgweb on a line Mercurial cannot parse', async () => {
      const config = tree.config('grammar-error.config', ['[paths]', 'a = repos/*', 'this line has no equals sign']);
      await assertParity(config, { ...here(), expect: { fails: true } });
    });

    it('fails like hgweb on an indented line after a blank line (the blank line ends the value)', async () => {
      const config = tree.config('grammar-blank-continuation.config', ['[paths]', 'a = repos/*', '', '  other/*']);
      await assertParity(config, { ...here(), expect: { fails: true } });
    });

    it('serves nothing from a config without [paths] or [collections]', async () => {
      const config = tree.config('grammar-empty.config', ['# nothing here', '[web]', 'style = gitweb']);
      await assertParity(config, { ...here(), expect: { fails: false } });
    });

    it('fails like hgweb on unexpected leading whitespace', async () => {
      const config = tree.config('grammar-leading-space.config', ['[paths]', '  a = repos/*']);
      await assertParity(config, { ...here(), expect: { fails: true } });
    });

    it('fails like hgweb when the config file does not exist', async () => {
      await assertParity(tree.abs('no-such.config'), { ...here(), expect: { fails: true } });
    });
  });

  describe('[collections]', () => {
    it('names repositories by their path with the prefix cut off', async () => {
      const config = tree.config('coll-absolute.config', ['[collections]', `${base}/repos = ${base}/repos`]);
      await assertParity(config, { ...here(), expect: { serves: ['a', 'b/c'] } });
    });

    it('cuts the prefix as a plain string, not at a path boundary', async () => {
      const config = tree.config('coll-quirk.config', [
        '[collections]',
        `${base}/rep = ${base}/repos`,
        `nomatch = ${base}/other`,
        `${base}/repos/ = ${base}/repos`,
      ]);
      await assertParity(config, { ...here(), expect: { serves: ['os/a', `${base.slice(1)}/other/x`, 'a'] } });
    });

    it('keeps a relative value relative, in names and paths', async () => {
      const config = tree.config('coll-relative.config', ['[collections]', 'repos = repos', './other = ./other', 'x = repos/b/']);
      await assertParity(config, { ...here(), expect: { serves: ['a', 'other/x', 'repos/b/c'] } });
    });

    it('does not split the value as a list', async () => {
      const config = tree.config('coll-space.config', ['[collections]', `${base}/with space = ${base}/with space`, `c = ${base}/comma,dir`]);
      await assertParity(config, { ...here(), expect: { serves: ['ws'] } });
    });

    it('does not expand ~ in a [collections] value', async () => {
      const config = tree.config('coll-tilde.config', ['[collections]', '~/repos = ~/repos']);
      await assertParity(config, { ...here(), expect: { serves: ['t'] } });
    });

    it('lists collections after every [paths] entry, whatever the order in the file', async () => {
      const config = tree.config('coll-order.config', [
        '[collections]',
        'repos = repos',
        'repos = other',
        '[paths]',
        'p = plainrepo',
      ]);
      await assertParity(config, { ...here(), expect: { serves: ['p', 'other/x'] } });
    });

    it('fails like hgweb when a collection folder does not exist', async () => {
      const config = tree.config('coll-missing.config', ['[collections]', 'gone = gone']);
      await assertParity(config, { ...here(), expect: { fails: true } });
    });

    it('fails like hgweb on an empty collection value', async () => {
      const config = tree.config('coll-empty.config', ['[paths]', 'a = plainrepo', '[collections]', 'x =']);
      await assertParity(config, { ...here(), expect: { fails: true } });
    });
  });
});
