/** Python's posixpath, ported: hgweb names repositories with normpath and split. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { abspath, normpath, split } from '../../src/config/paths.js';
import { SYSTEM_PYTHON } from '../helpers/run.js';

import { random } from '../helpers/random.js';

// normpath gives a path that is normal already back as it is: paths near that line, and random ones over the parts that matter.
const PARTS = ['a', '.', '..', '', '.hg', '...', 'b.', '.c'];
const rnd = random(20261204);
const RANDOM = Array.from({ length: 300 }, () => Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => PARTS[Math.floor(rnd() * PARTS.length)]!).join('/'));
const PATHS = [
  ...['', '.', '/', '//', '///', '////x', '//a//b/', 'a/../..', '../a', '/..', '/a/./b/../c/', 'a/b/..', './a', 'a/', '/srv/repos/*', '/srv/repos/**', '/srv/repos/*/', '*', 'a//b//', '/x/y/../../..', 'ü/./é'],
  ...['/a/b', 'a/.hg', '.hg', '...', 'a/...', '/.', '/./', 'a/.', '/a/.b/c', '/a/b./c', '/srv/repos/group-00/repo-000'],
  ...RANDOM,
];

describe('posixpath port', () => {
  let python: Array<{ normpath: string; split: [string, string]; abspath: string }> = [];
  before(() => {
    const script = 'import json,sys,posixpath\nprint(json.dumps([{"normpath":posixpath.normpath(p),"split":posixpath.split(p),"abspath":posixpath.normpath(posixpath.join("/cwd/x",p))} for p in json.load(sys.stdin)]))';
    const r = spawnSync(SYSTEM_PYTHON, ['-c', script], { input: JSON.stringify(PATHS), encoding: 'utf8' });
    python = JSON.parse(r.stdout) as typeof python;
  });
  for (const [i, p] of PATHS.entries()) {
    it(JSON.stringify(p), () => {
      assert.equal(normpath(p), python[i]!.normpath);
      assert.deepEqual(split(p), python[i]!.split);
      assert.equal(abspath(p, '/cwd/x'), python[i]!.abspath);
    });
  }
});
