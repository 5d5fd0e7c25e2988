/**
 * `hgreload install-hooks --system`: one file that every Mercurial on the host
 * reads, here a temp folder named by --system-file and read through HGRCPATH
 * (never /etc). Byte-exact beside an admin's own lines, idempotent, removed
 * only when nothing but ours was in it, and clear errors when it cannot be
 * written.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOOK_NAME } from '../../src/hooks/hgrc-edit.js';
import { PROJECT_ROOT, makeTempDir, runCli } from '../helpers/run.js';
import { hgInit } from '../helpers/web-site.js';

describe('hgreload install-hooks --system', () => {
  const dir = makeTempDir('hgreload-system-hook-');
  const base = dir.path;
  const ini = join(base, 'hgreload.ini');
  const hgrcd = join(base, 'hgrc.d');
  const file = join(hgrcd, 'hgreload.rc');
  const hookLine = `/usr/bin/python3 -IS ${PROJECT_ROOT}hooks/hgreload_hook.py ${base}/state/control.sock`;
  const cli = (...args: string[]) => runCli(['-c', ini, 'install-hooks', '--system', '--system-file', file, ...args], { env: { HGRCPATH: hgrcd } });
  /** The hook as Mercurial sees it in `repo`, reading only the folder under test as its system-wide configuration. */
  const inForce = (repo: string) => spawnSync('hg', ['-R', repo, 'config', `hooks.${HOOK_NAME}`], { encoding: 'utf8', env: { ...process.env, HGRCPATH: hgrcd } }).stdout.trim();

  before(() => {
    mkdirSync(hgrcd);
    hgInit(join(base, 'repos/served'));
    hgInit(join(base, 'unserved'));
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/repos/*\n`);
    writeFileSync(ini, 'webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\n');
  });
  after(() => dir.remove());

  it('writes one file, 0644, that puts the hook into every repository, served or not; again changes nothing; uninstall removes the file', () => {
    let r = cli('--dry-run');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^dry run: added ${file}$`, 'm'));
    assert.ok(r.stdout.includes(`+${HOOK_NAME} = ${hookLine}\n`));
    assert.equal(existsSync(file), false, 'a dry run writes nothing');

    r = cli();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^added ${file}$`, 'm'));
    assert.equal(statSync(file).mode & 0o777, 0o644);
    assert.equal(inForce(join(base, 'repos/served')), hookLine);
    assert.equal(inForce(join(base, 'unserved')), hookLine);
    const written = readFileSync(file);
    r = cli();
    assert.match(r.stdout, new RegExp(`^unchanged ${file}$`, 'm'));
    assert.deepEqual(readFileSync(file), written);

    r = cli('--uninstall');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^removed ${file}$`, 'm'));
    assert.equal(existsSync(file), false, 'nothing but ours was in it');
    assert.equal(inForce(join(base, 'unserved')), '');
  });

  it("keeps every byte of an admin's file, and the file itself on uninstall", () => {
    const admin = '# site-wide settings\r\n[hooks]\r\nincoming.notify = /usr/local/bin/notify\r\n[web]\r\nallow_push = *';
    writeFileSync(file, admin);
    let r = cli();
    assert.equal(r.status, 0, r.stderr);
    assert.equal(inForce(join(base, 'unserved')), hookLine);
    r = cli('--uninstall');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(file, 'latin1'), admin);
  });

  it('warns when served repositories have the hook in their own hgrc too, and when a per-repository install meets a system-wide hook', () => {
    const served = join(base, 'repos/served');
    let r = runCli(['-c', ini, 'install-hooks', served], { env: { HGRCPATH: hgrcd } });
    assert.equal(r.status, 0, r.stderr);
    r = cli();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /warning: 1 served repositories have the hook in their own hgrc too .*runs it twice/);
    r = runCli(['-c', ini, 'install-hooks', served], { env: { HGRCPATH: hgrcd } });
    assert.match(r.stderr, /warning: a system-wide hook is in force too .*hgreload\.rc.*runs the hook twice/);
    runCli(['-c', ini, 'install-hooks', '--uninstall', served]);
    cli('--uninstall');
  });

  it('a missing folder, or one this user may not write, fails naming the file and what to do', () => {
    let r = runCli(['-c', ini, 'install-hooks', '--system', '--system-file', join(base, 'no-such/hgreload.rc')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot write .*no-such\/hgreload\.rc: .*no-such \(No such file or directory\)/);
    assert.match(r.stderr, /--system-file/);
    // As the daemon's unprivileged user would run it: the folder is root's.
    const admins = readFileSync(file);
    r = runCli(['install-hooks', '--system', '--system-file', file], { user: 'nobody' });
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`cannot write ${file} \\(Permission denied\\)[^]*run hgreload install-hooks --system as root`));
    assert.deepEqual(readFileSync(file), admins);
  });

  it('refuses REPO arguments beside --system', () => {
    const r = cli(join(base, 'unserved'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--system takes no REPO/);
  });
});
