/**
 * The config reader against Mercurial's own (mercurial/config.py), file by file:
 * same sections, same items in the same order, same values, and the same
 * errors at the same FILE:LINE.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HgreloadError } from '../../src/errors.js';
import { readMercurialConfig, type MercurialConfig } from '../../src/config/hgrc-reader.js';
import { makeTempDir } from '../helpers/run.js';
import { askMercurial, asBytes, type ConfigAnswer } from '../helpers/oracle-config.js';

// Each case is a config file's bytes (latin-1 spelling, so any byte can be written).
const CASES: Record<string, string> = {
  'sections and items': '[a]\nx = 1\ny=2\n[b]\nz = three = 3\n',
  'duplicate key moves to the end': '[s]\na = 1\nb = 2\na = 3\n',
  'reopened section appends': '[s]\na = 1\n[t]\nq = 1\n[s]\nb = 2\n',
  'items before any header': 'top = 1\n[s]\na = 2\n',
  'unset': '[s]\na = 1\nb = 2\n%unset a\n%unset missing\n',
  'unset takes the first word': '[s]\na = 1\nb = 2\n%unset a b\n',
  'unset with equals is an item': '[s]\n%unset a=b\n',
  'continuation lines': '[s]\nk = first\n  second\n\tthird\n',
  'comment inside a continuation': '[s]\nk = first\n# note\n  second\n',
  'indented hash is content': '[s]\nk = first\n  # kept\n',
  'empty value then continuation': '[s]\nk =\n  a\n  b\n',
  'blank line ends a continuation': '[s]\nk = first\n\n  second\n',
  'inline comments are part of the value': '[s]\nk = value # not a comment ; nor this\n',
  'CRLF line ends': '[s]\r\nk = v\r\n  cont\r\nj = w\r\n',
  'lone CR line ends': '[s]\rk = v\r  cont\r',
  'UTF-8 BOM': '\xEF\xBB\xBF[s]\nk = v\n',
  'BOM only on line 1': '[s]\n\xEF\xBB\xBFk = v\n',
  'section trailing junk': '[s] ; junk\nk = v\n',
  'section name keeps spaces': '[ s ]\nk = v\n',
  'section name up to the last bracket': '[a]b]\nk = v\n',
  'empty section header': '[]\nk = v\n',
  'indented section header': '  [s]\n',
  'colon separator': '[s]\nkey: value\n',
  'indented item': '[s]\n  key = v\n',
  'tab-indented item': '[s]\n\tkey = v\n',
  'keys with spaces and colons': '[s]\nmy key:sub = v\n',
  'empty value': '[s]\nk =\nj=   \n',
  'last line without newline': '[s]\nk = v',
  'UTF-8 text': '[s]\nk = \xC3\xBCn\xC3\xAFc\xC3\xB6d\xC3\xA9\n',
  'non-breaking space is not whitespace': '[s]\nk =\xC2\xA0v\xC2\xA0\n',
  'form feed and vertical tab are whitespace': '[s]\nk =\x0Bv\x0C\n',
  'semicolon and hash comments': '; c1\n# c2\n[s]\n;k = 1\nk = 2\n',
  'whitespace-only line': '[s]\n   \nk = v\n',
  'garbage line': '[s]\njust words\n',
  'percent without directive': '[s]\n%include\n',
};

describe('Mercurial config grammar', () => {
  const dir = makeTempDir();
  const files: Record<string, string> = {};
  let answers: Record<string, ConfigAnswer> = {};

  before(() => {
    let i = 0;
    for (const [name, text] of Object.entries(CASES)) {
      files[name] = join(dir.path, `case${i++}.rc`);
      writeFileSync(files[name]!, Buffer.from(text, 'latin1'));
    }
    // Includes: relative to the including file, expansion, missing ones, errors, section handling.
    mkdirSync(join(dir.path, 'sub'));
    mkdirSync(join(dir.path, 'adir'));
    writeFileSync(join(dir.path, 'sub/inc.rc'), '[paths]\nfrominc = 1\nafter = 1\n[other]\no = 1\n');
    writeFileSync(join(dir.path, 'sub/nested.rc'), '%include inc.rc\n[paths]\nnested = 2\n');
    files['include relative to the file, then own section'] = join(dir.path, 'inc1.rc');
    writeFileSync(files['include relative to the file, then own section']!, '[paths]\nbefore = 0\n%include sub/inc.rc\nafter = 2\n');
    files['nested include'] = join(dir.path, 'inc2.rc');
    writeFileSync(files['nested include']!, '%include sub/nested.rc\n');
    files['missing include is ignored'] = join(dir.path, 'inc3.rc');
    writeFileSync(files['missing include is ignored']!, '[s]\n%include nothere.rc\nk = v\n');
    files['include of a folder is an error'] = join(dir.path, 'inc4.rc');
    writeFileSync(files['include of a folder is an error']!, '[s]\nk = v\n%include adir\n');
    files['include with $VAR and trailing spaces'] = join(dir.path, 'inc5.rc');
    writeFileSync(files['include with $VAR and trailing spaces']!, `%include $HGRELOAD_TEST_DIR/sub/inc.rc   \n%include \${HGRELOAD_TEST_DIR}/sub/inc.rc\n%include $UNSET_VAR_XYZ/x.rc\n`);
    files['include with ~'] = join(dir.path, 'inc6.rc');
    writeFileSync(files['include with ~']!, '%include ~/hgreload-test-nothing-here.rc\n[s]\nk = v\n');
    process.env.HGRELOAD_TEST_DIR = dir.path;

    const names = Object.keys(files);
    const result = askMercurial(names.map((n) => ({ file: files[n]!, remap: { paths: 'hgweb-paths' } })));
    answers = Object.fromEntries(names.map((n, i) => [n, result[i]!]));
  });
  after(() => dir.remove());

  const ours = (name: string): ConfigAnswer => {
    let config: MercurialConfig;
    try {
      config = readMercurialConfig(files[name]!, { remap: { paths: 'hgweb-paths' } }).config;
    } catch (err) {
      assert.ok(err instanceof HgreloadError, String(err));
      const m = /^parse error at (.+?:\d+): (.*)$/s.exec(err.message);
      assert.ok(m, `message not Mercurial-style: ${err.message}`);
      return { error: asBytes(m[2]!), location: m[1]! };
    }
    const sections: Record<string, Array<[string, string]>> = {};
    for (const s of config.sections()) sections[asBytes(s)] = config.items(s).map(([k, v]) => [asBytes(k), asBytes(v.value)]);
    return { sections };
  };

  for (const name of [...Object.keys(CASES), 'include relative to the file, then own section', 'nested include', 'missing include is ignored', 'include of a folder is an error', 'include with $VAR and trailing spaces', 'include with ~']) {
    it(name, () => {
      assert.deepEqual(ours(name), answers[name]);
    });
  }

  it('bytes that are not UTF-8 become U+FFFD (a documented limit: such paths cannot be opened by name anyway)', () => {
    const file = join(dir.path, 'latin1.rc');
    writeFileSync(file, Buffer.from('[s]\nk\xE9y = v\xE9\n', 'latin1'));
    assert.deepEqual(readMercurialConfig(file).config.items('s').map(([k, v]) => [k, v.value]), [['k\uFFFDy', 'v\uFFFD']]);
  });

  it('errors carry the parse code, file and line, and exit status 2', () => {
    try {
      readMercurialConfig(files['colon separator']!);
      assert.fail('no error');
    } catch (err) {
      assert.ok(err instanceof HgreloadError);
      assert.equal(err.code, 'parse');
      assert.equal(err.file, files['colon separator']);
      assert.equal(err.line, 2);
      assert.equal(err.exitCode, 2);
      assert.equal(err.message, `parse error at ${files['colon separator']}:2: key: value`);
    }
  });

  it('reports every file read, including missing includes', () => {
    const { files: read } = readMercurialConfig(files['missing include is ignored']!);
    assert.deepEqual(read, [
      { path: files['missing include is ignored'], exists: true },
      { path: join(dir.path, 'nothere.rc'), exists: false },
    ]);
  });

  it('names an include loop instead of recursing forever', () => {
    const loop = join(dir.path, 'loop.rc');
    writeFileSync(loop, '%include loop.rc\n');
    assert.throws(() => readMercurialConfig(loop), (err: unknown) => err instanceof HgreloadError && err.code === 'include' && /loop/.test(err.message));
  });

  it('a missing file is config-missing, a folder is config-unreadable', () => {
    assert.throws(() => readMercurialConfig(join(dir.path, 'nope.config')), (err: unknown) => err instanceof HgreloadError && err.code === 'config-missing' && err.message.includes('not found'));
    assert.throws(() => readMercurialConfig(join(dir.path, 'adir')), (err: unknown) => err instanceof HgreloadError && err.code === 'config-unreadable' && err.message.includes('Is a directory'));
  });
});
