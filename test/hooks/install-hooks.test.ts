/**
 * `hgreload install-hooks` as an administrator runs it, on repositories served
 * by an hgweb.config: byte-exact install and uninstall, idempotence, dry runs,
 * unparseable and symlinked files, owners kept, a crash in the middle of a
 * write, and a real push that reaches the daemon.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { HOOK_NAME } from '../../src/hooks/hgrc-edit.js';
import { CLI, PROJECT_ROOT, makeTempDir, runCli } from '../helpers/run.js';
import { DaemonProcess, isReload } from '../helpers/daemon-process.js';
import { cloneCommitPush, hgInit } from '../helpers/web-site.js';

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
  const hookLine = `/usr/bin/python3 -IS ${PROJECT_ROOT}hooks/hgreload_hook.py ${base}/state/control.sock`;
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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
    assert.match(r.stdout, new RegExp(`\\+${HOOK_NAME} = ${escape(hookLine)}\n`));
    assert.match(r.stdout, /dry run: 5 added/);
    for (const [name, text] of Object.entries(SHAPES)) assert.deepEqual(read(name), text === undefined ? undefined : Buffer.from(text, 'latin1'));
  });

  it('installs into every served repository; a second run changes nothing; uninstall gives back every byte', () => {
    let r = cli();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^5 added \(5 repositories in [\d.]+ s/m);
    for (const name of Object.keys(SHAPES)) {
      const shown = spawnSync('hg', ['-R', join(base, 'repos', name), 'config', `hooks.${HOOK_NAME}`], { encoding: 'utf8', env: { ...process.env, HGRCPATH: '' } });
      assert.equal(shown.stdout.trim(), hookLine, name);
    }
    r = cli();
    assert.match(r.stdout, /^5 unchanged \(5 repositories in [\d.]+ s/m);
    r = cli('--uninstall');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^5 removed \(5 repositories in [\d.]+ s/m);
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

  it('refuses a .hg that is a symlink leading outside the served roots, and follows one that stays inside', () => {
    // Run as root, `.hg -> /etc/mercurial` would put the hook into every user's global hgrc.
    const global = join(base, 'etc-mercurial');
    mkdirSync(global);
    writeFileSync(join(global, 'hgrc'), '[ui]\nx = 1\n');
    mkdirSync(join(base, 'repos/zz-escape'));
    symlinkSync(global, join(base, 'repos/zz-escape/.hg'));
    hgInit(join(base, 'repos/zz-store'));
    mkdirSync(join(base, 'repos/zz-shared'));
    symlinkSync(join(base, 'repos/zz-store/.hg'), join(base, 'repos/zz-shared/.hg'));
    try {
      const r = cli(join(base, 'repos/zz-escape'), join(base, 'repos/zz-shared'));
      assert.match(r.stdout, /skipped +.*zz-escape: .*\.hg is a symlink to .*etc-mercurial, outside the repository and the served roots/);
      assert.equal(readFileSync(join(global, 'hgrc'), 'utf8'), '[ui]\nx = 1\n');
      assert.match(r.stdout, /added +.*zz-shared/);
    } finally {
      for (const name of ['zz-escape', 'zz-shared', 'zz-store']) rmSync(join(base, 'repos', name), { recursive: true });
    }
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
    assert.match(asNobody.stdout, /hgreload_hook\.py .*control\.sock/);
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
    // From the world-readable copy, so that nobody may run the hook program it names.
    runCli(['-c', ini, 'install-hooks', owned], { readable: true });
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
      // With no syslog here (/dev/log), the hook tells on stderr; the push goes on all the same.
      assert.match(push.stdout + push.stderr, /hgreload: cannot reach the daemon at .*control\.sock after a push to .*owned \(Permission denied\)/);
      assert.doesNotMatch(push.stdout + push.stderr, /abort|exited with status/);
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

  it('a real push into a hooked repository makes the running daemon look again, and reload nothing', async () => {
    const target = join(base, 'repos/crlf');
    cli(target);
    const daemon = new DaemonProcess(['-c', ini]);
    try {
      await daemon.waitFor((l) => l.msg === 'ready', 'ready');
      const from = daemon.mark;
      const push = cloneCommitPush(target, join(base, 'clone'), 'x');
      assert.equal(push.status, 0, push.stderr);
      assert.doesNotMatch(push.output, /hgreload: |warning: /, 'the hook says nothing when all is well');
      const status = () => JSON.parse(runCli(['-c', ini, 'status', '--json']).stdout) as DaemonStatus;
      assert.equal(status().requests.rescan, 1, 'the hook asked for a rescan');
      // The rescan finds the same list: a cookie repository made after it is the barrier that shows no reload came before.
      hgInit(join(base, 'repos/cookie'));
      await daemon.waitFor((l) => isReload(l) && (l.added as string[]).includes('cookie'), 'the cookie reload', { from });
      assert.equal(daemon.lines.slice(from).filter(isReload).length, 1, 'no reload for the push itself');
      rmSync(join(base, 'repos/cookie'), { recursive: true });
    } finally {
      await daemon.stop();
    }
  });

  it('without a daemon, or with one that does not answer, the push succeeds at once and the hook says why', async () => {
    const clone = join(base, 'clone');
    const push = (n: string) => {
      writeFileSync(join(clone, 'f'), `${n}\n`);
      spawnSync('hg', ['-R', clone, 'commit', '-q', '-m', n, '-u', 'test'], { env: { ...process.env, HGRCPATH: '' } });
      const started = Date.now();
      const r = spawnSync('hg', ['-R', clone, 'push', join(base, 'repos/crlf')], { encoding: 'utf8', env: { ...process.env, HGRCPATH: '' } });
      return { ...r, ms: Date.now() - started };
    };
    let r = push('no daemon');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /hgreload: cannot reach the daemon .*\(No such file or directory\); the next scheduled rescan will see it/);
    assert.doesNotMatch(r.stdout + r.stderr, /abort/);
    // A socket that accepts and never answers: the hook gives up after its deadline.
    const mute = createServer(() => undefined);
    await new Promise<void>((resolve) => mute.listen(join(base, 'state/control.sock'), resolve));
    try {
      r = push('mute daemon');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout + r.stderr, /hgreload: cannot reach the daemon .*\(no answer within 0\.5 s\)/);
    } finally {
      await new Promise((resolve) => mute.close(resolve));
    }
  });

  it('a hook program that is missing or unreadable warns, and the push still succeeds', () => {
    const target = join(base, 'other/missing-hook');
    hgInit(target);
    writeFileSync(join(target, '.hg/hgrc'), `[hooks]\n${HOOK_NAME} = /usr/bin/python3 -IS ${base}/gone/hgreload_hook.py ${base}/state/control.sock\n`);
    const r = cloneCommitPush(target, join(base, 'clone-missing'), 'x');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.output, /warning: changegroup\.hgreload hook exited with status 2/);
    assert.doesNotMatch(r.output, /abort/);
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
    assert.match(readFileSync(join(base, 'repos/old/.hg/hgrc'), 'utf8'), /changegroup\.hgreload = \/usr\/bin\/python3 -IS /);
    const from = daemon.mark;
    hgInit(join(base, 'repos/new'));
    await daemon.waitFor((l) => /^hook added/.test(l.msg) && l.repo === join(base, 'repos/new'), 'hook added to new', { from });
    assert.match(readFileSync(join(base, 'repos/new/.hg/hgrc'), 'utf8'), /changegroup\.hgreload = \/usr\/bin\/python3 -IS /);
  });
});
