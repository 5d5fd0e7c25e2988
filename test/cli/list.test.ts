/** `hgreload list` as a user runs it: the built CLI, its output and its exit status. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, PROJECT_ROOT, makeTempDir, runCli } from '../helpers/run.js';

describe('hgreload list', () => {
  const dir = makeTempDir();
  const conf = join(dir.path, 'hgweb.config');
  before(() => {
    for (const r of ['root/b/.hg', 'root/a/.hg', 'root/group/c/.hg']) mkdirSync(join(dir.path, r), { recursive: true });
    writeFileSync(conf, `[paths]\nprojects = ${dir.path}/root/*\n`);
  });
  after(() => dir.remove());

  it('prints name<TAB>path lines in hgweb order', () => {
    const r = runCli(['list', '-w', conf]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, ['a', 'b', 'group/c'].map((n) => `projects/${n}\t${dir.path}/root/${n}\n`).join(''));
  });

  it('prints JSON with --json', () => {
    const r = runCli(['list', '--json', '--web-conf', conf]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['a', 'b', 'group/c'].map((n) => ({ name: `projects/${n}`, path: `${dir.path}/root/${n}` })));
  });

  it('prints a name that is not UTF-8 as its bytes, and as \\udcNN escapes in JSON', () => {
    mkdirSync(Buffer.from(`${dir.path}/raw/caf\xe9/.hg`, 'latin1'), { recursive: true });
    const raw = join(dir.path, 'raw.config');
    writeFileSync(raw, `[paths]\nr = ${dir.path}/raw/*\n`);
    const text = spawnSync(process.execPath, [CLI, 'list', '-w', raw]);
    assert.equal(text.status, 0, text.stderr.toString());
    assert.deepEqual(text.stdout, Buffer.from(`r/caf\xe9\t${dir.path}/raw/caf\xe9\n`, 'latin1'));
    const json = runCli(['list', '--json', '-w', raw]);
    assert.ok(json.stdout.includes('"r/caf\\udce9"'), json.stdout);
  });

  it('takes webconf from the settings file, named by -c or $HGRELOAD_CONFIG', () => {
    const ini = join(dir.path, 'hgreload.ini');
    writeFileSync(ini, 'webconf = hgweb.config\n');
    assert.equal(runCli(['-c', ini, 'list']).stdout.split('\n').length, 4);
    assert.equal(runCli(['list'], { env: { HGRELOAD_CONFIG: ini } }).stdout.split('\n').length, 4);
  });

  it('exits 2 without an hgweb.config, saying how to give one', () => {
    const r = runCli(['list'], { cwd: dir.path });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^hgreload: no hgweb.config given\n\(pass -w\/--web-conf FILE/);
  });

  it('exits 2 on a parse error, naming file and line', () => {
    const bad = join(dir.path, 'bad.config');
    writeFileSync(bad, '[paths]\nok = /x\nbroken: line\n');
    const r = runCli(['list', '-w', bad]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`^hgreload: parse error at ${bad}:3: broken: line\n`));
  });

  it('exits 2 when the hgweb.config does not exist', () => {
    const r = runCli(['list', '-w', join(dir.path, 'nothere.config')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /nothere\.config not found/);
  });

  it('exits 1 when a root is missing, naming it, its entry and what hgweb does', () => {
    const missing = join(dir.path, 'missing.config');
    writeFileSync(missing, `[paths]\n/ = ${dir.path}/root/*\nx = ${dir.path}/gone/**\n`);
    const r = runCli(['list', '-w', missing]);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^hgreload: ${missing}:3: root ${dir.path}/gone does not exist\n\\(hgweb fails every request until this is fixed`));
  });

  it('exits 2 on an unknown option and on an unknown command', () => {
    assert.equal(runCli(['list', '--jsn', '-w', conf]).status, 2);
    assert.equal(runCli(['lst']).status, 2);
  });

  it('--help explains and exits 0', () => {
    const r = runCli(['list', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Exit status/);
  });

  it('--version prints the version of package.json and exits 0', () => {
    const r = runCli(['--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
  });
});
