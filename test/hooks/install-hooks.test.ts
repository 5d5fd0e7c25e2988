/**
 * `hgreload install-hooks` as an administrator runs it, on repositories served
 * by an hgweb.config: byte-exact install and uninstall, idempotence, dry runs,
 * unparseable and symlinked files, owners kept, a crash in the middle of a
 * write, and a real push that reaches the daemon.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOOK_NAME } from '../../src/hooks/hgrc-edit.js';
import { CLI, makeTempDir, runCli } from '../helpers/run.js';
import { DaemonProcess, isReload } from '../helpers/daemon-process.js';
import { hgInit } from '../helpers/web-site.js';

const SHAPES: Record<string, string | undefined> = {
  none: undefined,
  crlf: '[ui]\r\nusername = x\r\n',
  'no-final-newline': '[web]\nallow_push = *',
  'hooks-section': '[hooks]\nincoming.x = true\n  --cont\n[ui]\nx = 1\n',
  bom: '\xEF\xBB\xBF[ui]\nx = 1\n',
};

describe('hgreload install-hooks', () => {
  const dir = makeTempDir('hgreload-install-');
  const base = dir.path;
  const ini = join(base, 'hgreload.ini');
  const hgrc = (name: string) => join(base, 'repos', name, '.hg/hgrc');
  const read = (name: string) => (existsSync(hgrc(name)) ? readFileSync(hgrc(name)) : undefined);
  const cli = (...args: string[]) => runCli(['-c', ini, 'install-hooks', ...args]);

  before(() => {
    for (const [name, text] of Object.entries(SHAPES)) {
      hgInit(join(base, 'repos', name));
      if (text !== undefined) writeFileSync(hgrc(name), Buffer.from(text, 'latin1'));
    }
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/repos/*\n`);
    writeFileSync(ini, `webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 50\n`);
  });
  after(() => dir.remove());

  it('--dry-run shows each change and writes nothing', () => {
    const r = cli('--dry-run');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\+${HOOK_NAME} = python:${base}/state/hgreload_hook\\.py:changegroup`));
    assert.match(r.stdout, /dry run: 5 added/);
    for (const [name, text] of Object.entries(SHAPES)) assert.deepEqual(read(name), text === undefined ? undefined : Buffer.from(text, 'latin1'));
  });

  it('installs into every served repository; a second run changes nothing; uninstall gives back every byte', () => {
    let r = cli();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^5 added$/m);
    for (const name of Object.keys(SHAPES)) {
      const shown = spawnSync('hg', ['-R', join(base, 'repos', name), 'config', `hooks.${HOOK_NAME}`], { encoding: 'utf8', env: { ...process.env, HGRCPATH: '' } });
      assert.equal(shown.stdout.trim(), `python:${base}/state/hgreload_hook.py:changegroup`, name);
    }
    r = cli();
    assert.match(r.stdout, /^5 unchanged$/m);
    r = cli('--uninstall');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^5 removed$/m);
    for (const [name, text] of Object.entries(SHAPES)) assert.deepEqual(read(name), text === undefined ? undefined : Buffer.from(text, 'latin1'), name);
  });

  it('edits only the repositories named, and skips what is not a repository', () => {
    const r = cli(join(base, 'repos/crlf'), join(base, 'nowhere'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^added +.*repos\/crlf$/m);
    assert.match(r.stdout, /^skipped +.*nowhere: not a repository/m);
    assert.equal(read('none'), undefined);
    cli('--uninstall', join(base, 'repos/crlf'));
  });

  it('leaves a file Mercurial cannot parse alone, naming its line', () => {
    hgInit(join(base, 'other/broken'));
    writeFileSync(join(base, 'other/broken/.hg/hgrc'), '[ui]\nusername: x\n');
    const r = cli(join(base, 'other/broken'));
    assert.equal(r.status, 0);
    assert.match(r.stdout, /skipped +.*broken: Mercurial cannot parse .*hgrc:2: username: x; left as it is/);
    assert.equal(readFileSync(join(base, 'other/broken/.hg/hgrc'), 'utf8'), '[ui]\nusername: x\n');
  });

  it('refuses a symlinked hgrc that leads outside the repository, and follows one that stays inside', () => {
    hgInit(join(base, 'other/outlink'));
    writeFileSync(join(base, 'outside.rc'), '[ui]\nx = 1\n');
    symlinkSync(join(base, 'outside.rc'), join(base, 'other/outlink/.hg/hgrc'));
    hgInit(join(base, 'other/inlink'));
    writeFileSync(join(base, 'other/inlink/.hg/hgrc.real'), '[ui]\nx = 1\n');
    symlinkSync('hgrc.real', join(base, 'other/inlink/.hg/hgrc'));
    const r = cli(join(base, 'other/outlink'), join(base, 'other/inlink'));
    assert.match(r.stdout, /skipped +.*outlink: .*outside the repository/);
    assert.equal(readFileSync(join(base, 'outside.rc'), 'utf8'), '[ui]\nx = 1\n');
    assert.match(r.stdout, /added +.*inlink/);
    assert.ok(lstatSync(join(base, 'other/inlink/.hg/hgrc')).isSymbolicLink(), 'the link is kept');
    assert.match(readFileSync(join(base, 'other/inlink/.hg/hgrc.real'), 'utf8'), /changegroup\.hgreload/);
  });

  it("keeps an hgrc's owner and mode, and makes a new one owned like the repository's .hg", () => {
    const owned = join(base, 'other/owned');
    hgInit(owned);
    const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout);
    const nogroup = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout);
    spawnSync('chown', ['-R', `${nobody}:${nogroup}`, owned]);
    let r = cli(owned);
    assert.equal(r.status, 0, r.stderr);
    let st = statSync(join(owned, '.hg/hgrc'));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [nobody, nogroup, 0o644]);
    // And that user's Mercurial trusts it: the hook is in force, with no "not trusting" warning.
    const asNobody = spawnSync('setpriv', [`--reuid=${nobody}`, `--regid=${nogroup}`, '--clear-groups', 'hg', '-R', owned, 'config', `hooks.${HOOK_NAME}`], {
      encoding: 'utf8',
      env: { ...process.env, HGRCPATH: '', HOME: '/nonexistent' },
    });
    assert.match(asNobody.stdout, /hgreload_hook\.py:changegroup/);
    assert.doesNotMatch(asNobody.stderr, /not trusting/);

    cli('--uninstall', owned);
    writeFileSync(join(owned, '.hg/hgrc'), '[ui]\nx = 1\n');
    chownSync(join(owned, '.hg/hgrc'), nobody, 0);
    chmodSync(join(owned, '.hg/hgrc'), 0o640);
    r = cli(owned);
    st = statSync(join(owned, '.hg/hgrc'));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [nobody, 0, 0o640]);
  });

  it('refuses to run beside another run (a lock with a live pid), and takes over a stale lock', () => {
    mkdirSync(join(base, 'state'), { recursive: true });
    const lock = join(base, 'state/install-hooks.lock');
    writeFileSync(lock, `${process.pid}\n`);
    let r = cli('--dry-run');
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`already running \\(pid ${process.pid}`));
    writeFileSync(lock, '999999999\n');
    r = cli('--dry-run');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(existsSync(lock), false);
  });

  it("runs when the repository's owner pushes: that user's hg trusts the hgrc", async () => {
    const owned = join(base, 'other/owned');
    cli(owned);
    const ids = ['-u', '-g'].map((flag) => spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' }).stdout.trim());
    const asNobody = (args: string[]) =>
      spawnSync('setpriv', [`--reuid=${ids[0]}`, `--regid=${ids[1]}`, '--clear-groups', 'hg', ...args], {
        encoding: 'utf8',
        env: { ...process.env, HGRCPATH: '', HOME: '/nonexistent' },
      });
    const clone = join(base, 'nobody-clone');
    mkdirSync(clone);
    spawnSync('chown', [`${ids[0]}:${ids[1]}`, clone]);
    assert.equal(asNobody(['clone', '-q', owned, clone]).status, 0);
    writeFileSync(join(clone, 'f'), 'x\n');
    spawnSync('chown', [`${ids[0]}:${ids[1]}`, join(clone, 'f')]);
    assert.equal(asNobody(['-R', clone, 'commit', '-q', '-A', '-m', 'x', '-u', 'nobody']).status, 0);
    // The daemon runs as root here, so its socket (0660, root's group) refuses nobody: the hook
    // then says so, which shows that it ran, trusted, in nobody's push.
    const daemon = new DaemonProcess(['-c', ini]);
    try {
      await daemon.waitFor((l) => l.msg === 'ready', 'ready');
      const push = asNobody(['-R', clone, 'push', owned]);
      assert.equal(push.status, 0, push.stderr);
      assert.doesNotMatch(push.stdout + push.stderr, /untrusted hook|not trusting/);
      assert.match(push.stdout + push.stderr, /hgreload: cannot reach the daemon at .*control\.sock \(.*Permission denied/);
    } finally {
      await daemon.stop();
    }
  });

  it('a write cut short leaves the old file whole, says so, and leaves no temp file', () => {
    const victim = join(base, 'other/crash');
    hgInit(victim);
    const original = `[ui]\n${'x = 1\n'.repeat(2000)}`;
    writeFileSync(join(victim, '.hg/hgrc'), original);
    // A file size limit makes the kernel refuse the new file's bytes half-way (EFBIG; Node ignores SIGXFSZ).
    // A crash at that point leaves the same thing: the old hgrc, since only a rename replaces it.
    const r = spawnSync('prlimit', ['--fsize=4096', process.execPath, CLI, '-c', ini, 'install-hooks', victim], { encoding: 'utf8', env: { ...process.env, HGRELOAD_CONFIG: undefined } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /failed +.*crash: cannot write .*hgrc \(EFBIG/);
    assert.equal(readFileSync(join(victim, '.hg/hgrc'), 'utf8'), original);
    assert.deepEqual(readdirSync(join(victim, '.hg')).filter((f) => f.includes('hgreload')), []);
  });

  it('a real push into a hooked repository makes the running daemon reload', async () => {
    const target = join(base, 'repos/crlf');
    cli(target);
    const daemon = new DaemonProcess(['-c', ini]);
    try {
      await daemon.waitFor((l) => l.msg === 'ready', 'ready');
      const clone = join(base, 'clone');
      assert.equal(spawnSync('hg', ['clone', '-q', target, clone], { env: { ...process.env, HGRCPATH: '' } }).status, 0);
      writeFileSync(join(clone, 'f'), 'x\n');
      spawnSync('hg', ['-R', clone, 'commit', '-q', '-A', '-m', 'x', '-u', 'test'], { env: { ...process.env, HGRCPATH: '' } });
      const from = daemon.mark;
      const push = spawnSync('hg', ['-R', clone, 'push', target], { encoding: 'utf8', env: { ...process.env, HGRCPATH: '' } });
      assert.equal(push.status, 0, push.stderr);
      assert.doesNotMatch(push.stderr + push.stdout, /hgreload: |warning: /, 'the hook says nothing when all is well');
      await daemon.waitFor((l) => isReload(l) && (l.reasons as string[]).includes(`push to ${target}`), 'the reload for the push', { from });
    } finally {
      await daemon.stop();
    }
  });

  it('without a daemon, the hook does the configured reload itself, in the background', async () => {
    const published = join(base, 'state/served.json');
    writeFileSync(published, '{}');
    const clone = join(base, 'clone');
    writeFileSync(join(clone, 'f'), 'y\n');
    spawnSync('hg', ['-R', clone, 'commit', '-q', '-m', 'y', '-u', 'test'], { env: { ...process.env, HGRCPATH: '' } });
    const push = spawnSync('hg', ['-R', clone, 'push', join(base, 'repos/crlf')], { encoding: 'utf8', env: { ...process.env, HGRCPATH: '' } });
    assert.equal(push.status, 0, push.stderr);
    // The fallback runs detached; its only trace is the list it publishes (no event to wait on in another process).
    const deadline = Date.now() + 20_000;
    while (!readFileSync(published, 'utf8').includes('"repos"')) {
      assert.ok(Date.now() < deadline, 'the fallback published the list');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

describe('[hooks] auto = true', () => {
  const dir = makeTempDir('hgreload-auto-');
  const base = dir.path;
  let daemon: DaemonProcess | undefined;
  after(async () => {
    await daemon?.stop();
    dir.remove();
  });

  it('the daemon puts the hook into every repository on start and into each new one', async () => {
    hgInit(join(base, 'repos/old'));
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/repos/**\n`);
    const ini = join(base, 'hgreload.ini');
    writeFileSync(ini, 'webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 50\n[hooks]\nauto = true\n');
    daemon = new DaemonProcess(['-c', ini]);
    await daemon.waitFor((l) => l.msg === 'ready', 'ready');
    assert.match(readFileSync(join(base, 'repos/old/.hg/hgrc'), 'utf8'), /changegroup\.hgreload = python:/);
    const from = daemon.mark;
    hgInit(join(base, 'repos/new'));
    await daemon.waitFor((l) => /^hook added/.test(l.msg) && l.repo === join(base, 'repos/new'), 'hook added to new', { from });
    assert.match(readFileSync(join(base, 'repos/new/.hg/hgrc'), 'utf8'), /changegroup\.hgreload = python:/);
  });
});
