/**
 * The hgrc editor over a corpus of hgrc shapes: install then uninstall gives
 * back the same bytes, a second install changes nothing, and real Mercurial
 * (`hg config`) reads every other setting as before, plus our hook.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOOK_NAME, installHook, uninstallHook } from '../../src/hooks/hgrc-edit.js';
import { makeTempDir } from '../helpers/run.js';

const VALUE = 'python:/usr/lib/hgreload/hooks/hgreload_hook.py:changegroup';

// hgrc shapes, as latin1 text (one character per byte).
const CORPUS: Record<string, string | undefined> = {
  'no hgrc': undefined,
  'empty file': '',
  'plain settings': '[ui]\nusername = Jane <jane@example.com>\n\n[web]\nallow_push = *\n',
  'no final newline': '[ui]\nusername = x',
  'CRLF': '[ui]\r\nusername = x\r\n[paths]\r\ndefault = https://example.com/r\r\n',
  'BOM and CRLF': '\xEF\xBB\xBF[ui]\r\nusername = x\r\n',
  'existing [hooks]': '[hooks]\nincoming.notify = python:hgext.notify.hook\n# keep me\n\n[ui]\nx = 1\n',
  'hooks with continuation lines': '[hooks]\nchangegroup.mail = /usr/bin/mail\n  --to ops\n  --subject push\n[ui]\nx = 1\n',
  'two [hooks] sections': '[hooks]\na = 1\n[ui]\nx = 1\n[hooks]\nb = 2\n',
  '[hooks] is the last line, without a newline': '[ui]\nx = 1\n[hooks]',
  '[hooks] with a trailing junk comment': '[hooks] ; mine\nfoo = bar\n',
  '%include and %unset': '%include ../shared.rc\n[ui]\nx = 1\n%unset x\n',
  'comments of both kinds and blank lines': '; top\n# top2\n\n[ui]\n; inner\nx = 1\n\n\n',
  'latin1 bytes in a value': '[ui]\nusername = Ren\xE9\n',
  'inline text that is not a comment': '[web]\ndescription = a ; b # c\n',
  'section that only looks like hooks': '[hooks2]\nx = 1\n[ hooks ]\ny = 2\n',
};

describe('hgrc editor', () => {
  const dir = makeTempDir('hgreload-hgrc-');
  const repo = join(dir.path, 'repo');
  before(() => {
    const r = spawnSync('hg', ['init', repo], { env: { ...process.env, HGRCPATH: '' } });
    assert.equal(r.status, 0);
  });
  after(() => dir.remove());

  /** `hg config` of the repository with this hgrc (none when undefined), as sorted lines. */
  const hgConfig = (bytes: Buffer | undefined): string[] => {
    const hgrc = join(repo, '.hg/hgrc');
    rmSync(hgrc, { force: true });
    if (bytes !== undefined) writeFileSync(hgrc, bytes);
    const r = spawnSync('hg', ['-R', repo, 'config'], { encoding: 'latin1', env: { ...process.env, HGRCPATH: '' } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).sort();
  };

  for (const [name, text] of Object.entries(CORPUS)) {
    it(name, () => {
      const original = text === undefined ? undefined : Buffer.from(text, 'latin1');
      const installed = installHook(original, VALUE);
      assert.ok(installed.kind === 'added', installed.kind);
      assert.equal(installHook(installed.text, VALUE).kind, 'unchanged', 'a second install changes nothing');
      const expected = [...hgConfig(original), `hooks.${HOOK_NAME}=${VALUE}`].sort();
      assert.deepEqual(hgConfig(installed.text), expected, 'Mercurial reads the same settings plus the hook');
      const removed = uninstallHook(installed.text);
      assert.ok(removed.kind === 'removed', removed.kind);
      assert.deepEqual(removed.text, original ?? Buffer.alloc(0), 'install + uninstall gives the same bytes');
    });
  }

  it('updates a hook line with another value, keeping its place', () => {
    const original = Buffer.from('[hooks]\nchangegroup.hgreload = old\n  continued\n[ui]\nx = 1\n');
    const updated = installHook(original, VALUE);
    assert.ok(updated.kind === 'updated', updated.kind);
    assert.equal(updated.text.toString('latin1'), `[hooks]\nchangegroup.hgreload = ${VALUE}\n[ui]\nx = 1\n`);
  });

  it('leaves a file Mercurial cannot parse alone, naming the line', () => {
    const outcome = installHook(Buffer.from('[ui]\nkey: value\n'), VALUE);
    assert.deepEqual(outcome, { kind: 'unparseable', line: 2, message: 'key: value' });
  });

  it('uninstall without our hook changes nothing', () => {
    const text = Buffer.from('[hooks]\nother = x\n');
    assert.deepEqual(uninstallHook(text), { kind: 'unchanged', text });
  });
});
