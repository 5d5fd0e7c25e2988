/**
 * `hgreload gunicorn`: the unit it prints is one systemd accepts, its
 * ExecStart run for real (as its User=) serves hgweb for a publish-method
 * site, and bad options are usage errors (exit status 2).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUNICORN } from '../../src/deploy/gunicorn-unit.js';
import { freePort, getIndex } from '../helpers/apache.js';
import { commandLine, makeTempDir, runCli, SYSTEM_PYTHON } from '../helpers/run.js';
import { parseUnit, unitValue } from '../helpers/systemd-unit.js';
import { cloneCommitPush, hgInit } from '../helpers/web-site.js';
import { idsOf } from '../helpers/users.js';

/** What `hgreload ARGS gunicorn ...` prints, run in `cwd`. */
async function gunicornUnit(args: readonly string[], cwd: string): Promise<string> {
  const r = runCli(args, { cwd });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/**
 * A stand-in for systemd's notify socket (Node has no Unix datagram socket):
 * Python binds it, lets the service's user write to it, says "bound", then
 * prints the first message it gets, which `message` resolves with.
 */
async function notifySocket(path: string): Promise<{ message: Promise<string>; close: () => void }> {
  const code = 'import os, socket, sys\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nos.chmod(sys.argv[1], 0o666)\nprint("bound", flush=True)\nprint(s.recv(4096).decode(), flush=True)';
  const listener = spawn(SYSTEM_PYTHON, ['-c', code, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  listener.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const message = once(listener, 'exit').then(() => out.replace(/^bound\n/, '').trim());
  const died = message.then((m) => Promise.reject(new Error(`the notify socket's listener exited: ${m}`)));
  // It exits once it has the message, later: that rejection is no one's to handle then.
  died.catch(() => undefined);
  await Promise.race([once(listener.stdout, 'data'), died]);
  return { message, close: () => void listener.kill() };
}

/** Asks for the index until gunicorn answers (it says nothing a test can wait on), or fails after 20 s. */
async function firstIndex(url: string, exited: () => string | undefined): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const failed = exited();
    if (failed !== undefined) throw new Error(failed);
    try {
      return (await getIndex(url, 2000)).repos;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('hgreload gunicorn', () => {
  const dir = makeTempDir('hgreload-gunicorn-');
  const repos = join(dir.path, 'repos');
  const script = join(dir.path, 'hgweb_app.py');
  const ini = join(dir.path, 'hgreload.ini');

  before(() => {
    hgInit(join(repos, 'alpha'));
    // gunicorn has no authentication of its own (a proxy in front does that): pushes open to all here.
    writeFileSync(join(dir.path, 'hgweb.config'), `[web]\nallow-push = *\npush_ssl = false\n[paths]\n/ = ${repos}/**\n`);
    writeFileSync(ini, `webconf = ${join(dir.path, 'hgweb.config')}\n[reload]\nmethod = publish\nwsgi = ${script}\nstate = ${join(dir.path, 'state')}\n`);
    const wsgi = runCli(['-c', ini, 'wsgi']);
    assert.equal(wsgi.status, 0, wsgi.stderr);
    writeFileSync(script, wsgi.stdout);
  });
  after(dir.remove);

  it('takes the script from the settings and lets gunicorn write only into the served roots', async () => {
    const unit = parseUnit(await gunicornUnit(['-c', ini, 'gunicorn'], dir.path));
    assert.equal(unitValue(unit, 'Service', 'ExecStart'), `${GUNICORN} --workers 2 --threads 4 --bind 127.0.0.1:8000 --pid /run/hgweb/gunicorn.pid --chdir ${dir.path} hgweb_app:application`);
    assert.equal(unitValue(unit, 'Service', 'RuntimeDirectory'), 'hgweb');
    assert.equal(unitValue(unit, 'Service', 'ReadWritePaths'), repos);
    assert.equal(unitValue(unit, 'Service', 'User'), 'www-data');
    assert.equal(unitValue(unit, 'Service', 'Environment'), undefined, 'no HGRCPATH: hgweb reads the system hgrc');
  });

  it('makes a pidfile folder outside /run writable instead of a RuntimeDirectory', async () => {
    const unit = parseUnit(await gunicornUnit(['-c', ini, 'gunicorn', '--pidfile', '/var/lib/hgweb/gunicorn.pid'], dir.path));
    assert.equal(unitValue(unit, 'Service', 'RuntimeDirectory'), undefined);
    assert.equal(unitValue(unit, 'Service', 'ReadWritePaths'), `${repos} /var/lib/hgweb`);
  });

  it('prints a unit that systemd-analyze verify accepts', async (t) => {
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
      t.skip('systemd-analyze is not usable here');
      return;
    }
    const file = join(dir.path, 'hgweb.service');
    writeFileSync(file, await gunicornUnit(['-c', ini, 'gunicorn', '--bind', '0.0.0.0:80', '--pidfile', '/run/hg web/%g.pid'], dir.path));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.equal(r.stderr, '', 'no warning');
  });

  it("serves hgweb with the unit's own ExecStart, run as its User=, tells systemd it is ready, writes the pidfile and takes a push", async () => {
    const unit = parseUnit(await gunicornUnit(['-c', ini, 'gunicorn', '--workers', '1', '--threads', '2'], dir.path));
    const argv = unitValue(unit, 'Service', 'ExecStart')!.split(' ');
    const user = unitValue(unit, 'Service', 'User')!;
    const run = join(dir.path, 'run');
    mkdirSync(run);
    // What RuntimeDirectory= does: the pidfile's folder, owned by the service's user.
    const { uid, gid } = idsOf(user);
    chownSync(run, uid, gid);
    // A push writes into the repository as the service's user.
    assert.equal(spawnSync('chown', ['-R', `${uid}:${gid}`, repos]).status, 0);
    const port = await freePort();
    argv[argv.indexOf('--bind') + 1] = `127.0.0.1:${port}`;
    argv[argv.indexOf('--pid') + 1] = join(run, 'gunicorn.pid');
    const notify = await notifySocket(join(dir.path, 'notify'));
    // Type=notify: systemd hands the service NOTIFY_SOCKET and waits for READY=1.
    const { cmd, args, env } = commandLine(argv, { user, env: { NOTIFY_SOCKET: join(dir.path, 'notify') } });
    // In a folder the service's user may enter (systemd's default is /): not the checkout's, which may be private.
    const child = spawn(cmd, args, { env, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
    try {
      const served = await firstIndex(`http://127.0.0.1:${port}`, () => (child.exitCode === null ? undefined : `gunicorn exited (${child.exitCode}): ${log}`));
      assert.deepEqual(served, ['alpha'], log);
      assert.equal(readFileSync(join(run, 'gunicorn.pid'), 'utf8').trim(), String(child.pid), 'the pidfile names the master');
      assert.match(await notify.message, /^READY=1$/m);
      const pushed = cloneCommitPush(`http://127.0.0.1:${port}/alpha`, join(dir.path, 'clone'), 'pushed through gunicorn');
      assert.equal(pushed.status, 0, `${pushed.output}\n${log}`);
      assert.equal(spawnSync('hg', ['-R', join(repos, 'alpha'), 'log', '-T', '{desc}'], { encoding: 'utf8', env: { ...process.env, HGRCPATH: '' } }).stdout, 'pushed through gunicorn');
    } finally {
      notify.close();
      // (An exit already seen fires no event again: waiting for it would wait for ever.)
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
    }
  });

  for (const [args, message] of [
    [['--workers', '0'], /--workers must be a positive whole number, not "0"/],
    [['--threads', 'four'], /--threads must be a positive whole number, not "four"/],
    [['--workers', '2.5'], /--workers must be a positive whole number/],
    [['--script', '/var/www/hg/hgweb.wsgi'], /gunicorn cannot import \/var\/www\/hg\/hgweb.wsgi/],
  ] as const) {
    it(`refuses ${args.join(' ')} as bad usage (exit status 2)`, () => {
      const r = runCli(['-c', ini, 'gunicorn', ...args], { cwd: dir.path });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }

  it('asks for --script when the settings name no WSGI script', () => {
    const r = runCli(['-w', join(dir.path, 'hgweb.config'), 'gunicorn'], { cwd: dir.path });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no WSGI script given\n\(pass --script PATH, or set "wsgi" in \[reload\] of the settings file\)/);
  });
});
