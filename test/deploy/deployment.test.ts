/**
 * The deployment the README describes, end to end, on loopback, with no step
 * run as root that a real host would run as someone else: hgreload installed
 * and started by the README's own "Running it as a service" lines (the daemon
 * as an unprivileged user in www-data, with the unit's umask, no new
 * privileges and no capabilities), Apache + mod_wsgi serving hgweb as
 * www-data with pushes over HTTP behind basic authentication, and sshd on a
 * free port for a person who is not in www-data and pushes as themselves.
 * Once with `touch`, once with `publish`:
 *
 * - pushes into existing repositories, over HTTP and SSH, exit 0 and print no
 *   abort (the hook must never fail a push, whoever pushes);
 * - they leave the WSGI processes running (a push into an existing repository
 *   changes nothing hgweb serves, so it must not reload);
 * - `hg clone . ssh://...` makes a repository that hgweb lists (with publish
 *   within a second, without a restart), and `[hooks] auto` hooks it, as the
 *   README's steps for that let it: the shared group trusted in the site-wide
 *   Mercurial config, and the daemon in that group through a drop-in.
 *
 * Who owns and may write what is explained in helpers/deployment.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { askDaemon } from '../../src/daemon/control-client.js';
import { socketPath } from '../../src/daemon/control-protocol.js';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { HOOK_NAME } from '../../src/hooks/hgrc-edit.js';
import { HOOK_PROGRAM, hookValue } from '../../src/hooks/hook-script.js';
import { getIndex } from '../helpers/apache.js';
import { Deployment } from '../helpers/deployment.js';
import { makeTempDir, PROJECT_ROOT, runProgram } from '../helpers/run.js';
import { makeKey, Sshd } from '../helpers/sshd.js';
import { readmeBlock, SERVICE_SECTION, sharedGroupSteps } from '../helpers/readme-service.js';
import { parseUnit, unitValue } from '../helpers/systemd-unit.js';
import { Accounts, credentialsOf, gidOf, idsOf } from '../helpers/users.js';

const EXISTING = ['http-target', 'ssh-target'];
const HTTP_USER = 'alice';
const HTTP_PASSWORD = randomBytes(9).toString('base64url');

/** hg on the client side (root, in a working folder of its own), never reading the host's config. */
function hg(args: readonly string[], cwd?: string): { status: number | null; output: string } {
  const r = spawnSync('hg', args, { cwd, encoding: 'utf8', env: { ...process.env, HGRCPATH: '', HGPLAIN: '1', HGUSER: 'tester <tester@example.org>' } });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** One new changeset in the working folder `work`. */
function commit(work: string, text: string): void {
  writeFileSync(join(work, 'file'), `${text}\n`);
  const r = hg(['commit', '-A', '-m', text], work);
  assert.equal(r.status, 0, r.output);
}

async function status(stateDir: string): Promise<DaemonStatus> {
  const answer = await askDaemon(socketPath(stateDir), { command: 'status' });
  assert.ok(answer?.ok, `no status from the daemon: ${JSON.stringify(answer)}`);
  return answer.status as DaemonStatus;
}

describe('the deployment the README describes, on loopback', () => {
  const dir = makeTempDir('hgreload-deploy-');
  const base = dir.path;
  const accounts = new Accounts();
  const key = join(base, 'client/id_ed25519');
  // The host's /etc/mercurial/hgrc.d, which every hg here reads through HGRCPATH (a folder: its *.rc files).
  const siteHgrc = join(base, 'etc/mercurial/hgrc.d');
  let dropIn: string[] = [];
  let sshd: Sshd | undefined;
  let hosting = '';
  let pusher = '';

  before(async () => {
    hosting = accounts.group('hgrl-hg');
    mkdirSync(join(base, 'home'));
    pusher = accounts.person('hgrl-pusher', { home: join(base, 'home/pusher'), groups: [hosting] });
    // The README's steps for [hooks] auto where pushers own the repositories, with our shared
    // group for its `hg`: the [trusted] file in the site-wide config (see helpers/deployment.ts)...
    const steps = sharedGroupSteps(hosting);
    mkdirSync(siteHgrc, { recursive: true });
    writeFileSync(join(siteHgrc, basename(steps.trustedFile)), `${steps.trusted.join('\n')}\n`);
    // ... and the daemon's drop-in. One line more, for this test only: on a real host the daemon
    // reads /etc/mercurial/hgrc.d itself, with HGRCPATH unset; this test must not write that
    // shared system folder, so its site config lies in the temp folder, and the daemon, like
    // every other hg here (sshd's sessions, Apache), is told so through HGRCPATH.
    dropIn = [...steps.dropIn, `Environment=HGRCPATH=${siteHgrc}`];
    assert.equal(steps.dropIn.filter((l) => /^\[.+\]$/.test(l.trim())).at(-1), '[Service]', 'the drop-in ends in [Service]');
    mkdirSync(join(base, 'client'), { mode: 0o700 });
    const publicKey = makeKey(key, `${pusher}@client`);
    // Pushers work with umask 002, so that a repository one of them makes over SSH is the group's to write.
    sshd = new Sshd({ dir: join(base, 'sshd'), allowUsers: [pusher], sessionEnv: { HGRCPATH: siteHgrc }, umask: 0o002 });
    sshd.authorize(pusher, publicKey);
    await sshd.start();
  });

  after(async () => {
    await sshd?.stop();
    accounts.removeAll();
    dir.remove();
  });

  it("the README's npm line puts hgreload where the unit's ExecStart runs it", () => {
    // npm itself says where that line installs: `npm prefix -g` with the line's own options,
    // from the checkout (where the README runs it), without the npm_config_* this test runner
    // may have (npm test sets some) and without the stand-in prefix the install steps use.
    const line = readmeBlock(SERVICE_SECTION).find((l) => /^npm\s+(install|i|add)\s/.test(l));
    assert.ok(line !== undefined, `no npm install line in the README's "${SERVICE_SECTION}" block`);
    const args = line.replace(/(^|\s)#.*$/, '').trim().split(/\s+/).slice(2);
    assert.ok(args.includes('-g') || args.includes('--global'), `the README's npm line installs globally: ${line}`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_config_/i.test(name)));
    const npm = spawnSync('npm', ['prefix', ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', env });
    assert.equal(npm.status, 0, npm.stderr);
    const prefix = npm.stdout.trim();
    const unit = parseUnit(readFileSync(join(PROJECT_ROOT, 'systemd/hgreload.service'), 'utf8'));
    const execStart = unitValue(unit, 'Service', 'ExecStart')!.split(/\s+/)[0];
    assert.equal(join(prefix, 'bin/hgreload'), execStart, `"${line}" puts hgreload in ${prefix}/bin here, the unit runs ${execStart}`);
  });

  it('the SSH pusher is an ordinary user in the hosting group, not in www-data', () => {
    const groups = spawnSync('id', ['-Gn', pusher], { encoding: 'utf8' }).stdout.trim().split(' ');
    assert.ok(groups.includes(hosting), groups.join(' '));
    assert.ok(!groups.includes('www-data'), groups.join(' '));
  });

  for (const method of ['touch', 'publish'] as const) {
    describe(`reload method ${method}`, () => {
      const home = join(base, method);
      let site: Deployment;
      let pidsAtStart: number[] = [];
      const ssh = (path: string) => `ssh://${pusher}@127.0.0.1/${path}`; // an absolute path: ssh://host//abs/path
      const sshArgs = () => ['-e', sshd!.sshCommand(key)];

      before(async () => {
        mkdirSync(home);
        site = new Deployment({
          dir: home,
          method,
          hosting,
          owner: pusher,
          siteHgrc,
          dropIn,
          accounts,
          wsgiGroup: `e2e${method[0]}${process.pid % 100_000}`,
          repositories: EXISTING,
          httpUser: HTTP_USER,
          httpPassword: HTTP_PASSWORD,
        });
        await site.start();
        pidsAtStart = site.apache.wsgiPids();
      });
      after(async () => {
        await site?.stop();
      });

      it('runs as the README and the unit say: the daemon unprivileged with the unit umask, hgweb as www-data', async () => {
        const plan = site.readme.manager.plan('hgreload');
        const daemon = credentialsOf(site.readme.daemon.pid);
        const user = idsOf(site.serviceUser);
        const wwwData = gidOf('www-data');
        assert.deepEqual(daemon.uids, [user.uid, user.uid, user.uid, user.uid], 'User= the README adduser user');
        assert.deepEqual(daemon.gids, [wwwData, wwwData, wwwData, wwwData], 'Group=www-data');
        // The kernel keeps supplementary groups sorted.
        assert.deepEqual(daemon.groups, [wwwData, gidOf(hosting)].sort((a, b) => a - b), "www-data and the README drop-in's SupplementaryGroups= (the shared group), no other");
        // ProtectSystem=strict (systemd's alone, not applied here) leaves the daemon nothing else to write.
        assert.ok(plan.readWritePaths.includes(site.root), `ReadWritePaths= of the README's drop-in names the repositories' root: ${plan.readWritePaths.join(' ')}`);
        assert.equal(daemon.umask, plan.umask, 'UMask=');
        assert.equal(plan.umask, 0o077);
        assert.equal(daemon.noNewPrivs, true, 'NoNewPrivileges=yes');
        assert.equal(daemon.capBounding, 0n, 'CapabilityBoundingSet= (none)');
        const state = statSync(site.stateDir);
        assert.deepEqual([state.uid, state.gid, state.mode & 0o7777], [user.uid, wwwData, 0o750], 'StateDirectory=, StateDirectoryMode=0750');

        assert.equal(pidsAtStart.length, 2, 'two mod_wsgi daemon processes');
        for (const pid of pidsAtStart) {
          const wsgi = credentialsOf(pid);
          assert.deepEqual(wsgi.uids, Array(4).fill(idsOf('www-data').uid), `mod_wsgi process ${pid} runs as www-data`);
          assert.ok(wsgi.groups.includes(gidOf(hosting)), `mod_wsgi process ${pid} is in the hosting group`);
        }
        // The README's last line, `journalctl -u hgreload -f`, shows the daemon's JSON log.
        const deadline = Date.now() + 10_000;
        while (!site.readme.followed.some((l) => l.includes('"msg":"ready"'))) {
          assert.ok(Date.now() < deadline, `journalctl -f never showed the ready line:\n${site.readme.followed.join('\n')}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      });

      it("the README's npm line installed a root-owned copy with its dependencies, holding the hook program every pusher runs", () => {
        const pkg = site.readme.host('/usr/local/lib/node_modules/hgreload');
        assert.ok(lstatSync(pkg).isDirectory(), `${pkg} is a folder, not a link to the checkout`);
        assert.ok(realpathSync(site.readme.cli).startsWith(`${pkg}/`), `${site.readme.cli} leads into ${pkg}`);
        const writable: string[] = [];
        for (const entry of readdirSync(pkg, { recursive: true, withFileTypes: true })) {
          const path = join(entry.parentPath, entry.name);
          const st = lstatSync(path);
          if (st.isSymbolicLink()) continue; // a link's own mode means nothing; its folder's owner decides
          // Only root may change it: owned by root, writable by no one else.
          if (st.uid !== 0 || (st.mode & 0o002) !== 0 || ((st.mode & 0o020) !== 0 && st.gid !== 0)) writable.push(path);
        }
        assert.deepEqual(writable, [], 'files someone other than root may write');
        assert.ok(existsSync(join(pkg, 'node_modules/pino/package.json')), 'its dependencies installed in the copy');
        assert.ok(!existsSync(join(pkg, 'node_modules/typescript')), 'no devDependencies');
        // The hook line root's install-hooks wrote names the program in that copy.
        const hook = runProgram(['hg', 'config', `hooks.${HOOK_NAME}`], { cwd: join(site.root, 'ssh-target'), env: { HGRCPATH: siteHgrc } });
        assert.equal(hook.stdout.trim(), hookValue(socketPath(site.stateDir), join(pkg, HOOK_PROGRAM)), hook.stderr);
      });

      it('a push over HTTP needs a user from the htpasswd file', () => {
        const work = join(home, 'work/anonymous');
        assert.equal(hg(['clone', '-q', `${site.apache.url}/http-target`, work]).status, 0);
        commit(work, 'anonymous');
        const push = hg(['push', `${site.apache.url}/http-target`], work);
        assert.equal(push.status, 255, push.output);
        assert.match(push.output, /authorization (required|failed)/);
      });

      it(`a push over HTTP (as ${HTTP_USER}, run by hgweb as www-data) into an existing repository exits 0 and prints no abort`, () => {
        const work = join(home, 'work/http');
        assert.equal(hg(['clone', '-q', `${site.apache.url}/http-target`, work]).status, 0);
        commit(work, 'over http');
        const url = new URL(`${site.apache.url}/http-target`);
        url.username = HTTP_USER;
        url.password = HTTP_PASSWORD;
        const push = hg(['push', url.href], work);
        assert.equal(push.status, 0, push.output);
        assert.doesNotMatch(push.output, /abort/i);
        assert.match(push.output, /added 1 changesets/);
      });

      it('a push over SSH (as a person not in www-data) into an existing repository exits 0 and prints no abort', () => {
        const work = join(home, 'work/ssh');
        const clone = hg(['clone', '-q', ...sshArgs(), ssh(join(site.root, 'ssh-target')), work]);
        assert.equal(clone.status, 0, clone.output);
        commit(work, 'over ssh');
        const push = hg(['push', ...sshArgs(), ssh(join(site.root, 'ssh-target'))], work);
        assert.equal(push.status, 0, push.output);
        assert.doesNotMatch(push.output, /abort/i);
        assert.match(push.output, /added 1 changesets/);
      });

      it('pushes into existing repositories leave the WSGI processes running (no reload)', async () => {
        // A barrier, not a sleep: a folder made in the root (not a repository) makes the daemon
        // rescan; once a scan later than it is done and nothing is pending, every push's
        // message to the daemon has been acted on, reload or not.
        const cookie = Date.now();
        mkdirSync(join(site.root, `.cookie-${cookie}`));
        const deadline = Date.now() + 15_000;
        let seen = await status(site.stateDir);
        while (seen.pending || seen.lastScan === null || Date.parse(seen.lastScan) <= cookie) {
          assert.ok(Date.now() < deadline, `the daemon never scanned after the cookie: ${JSON.stringify(seen)}`);
          await new Promise((r) => setTimeout(r, 50));
          seen = await status(site.stateDir);
        }
        // mod_wsgi restarts a daemon process on its first request after the script's mtime changed.
        for (let i = 0; i < 10; i++) assert.equal((await getIndex(site.apache.url)).status, 200);
        assert.deepEqual(site.apache.wsgiPids(), pidsAtStart, `the WSGI processes were restarted; the daemon's last reload: ${JSON.stringify(seen.lastReload)}`);
      });

      describe('hg clone to a new repository over SSH', () => {
        let visibleAfterMs = NaN;
        let pidsBefore: number[] = [];
        let logMark = 0;
        const name = 'new-repo';
        before(async () => {
          pidsBefore = site.apache.wsgiPids();
          logMark = site.readme.daemon.mark;
          const clone = hg(['clone', '-q', ...sshArgs(), '.', ssh(join(site.root, name))], join(home, 'work/ssh'));
          assert.equal(clone.status, 0, clone.output);
          assert.doesNotMatch(clone.output, /abort/i);
          const cloned = performance.now();
          const deadline = Date.now() + 30_000;
          while (!(await getIndex(site.apache.url)).repos.includes(name)) {
            assert.ok(Date.now() < deadline, `${name} never appeared in the index`);
            await new Promise((r) => setTimeout(r, 20));
          }
          visibleAfterMs = performance.now() - cloned;
        });

        it(method === 'publish' ? 'is in hgweb\'s index within a second of the clone, without a restart' : 'is in hgweb\'s index (after mod_wsgi restarts its processes)', (t) => {
          t.diagnostic(`visible ${Math.round(visibleAfterMs)} ms after hg clone returned`);
          if (method === 'publish') {
            assert.ok(visibleAfterMs <= 1000, `visible after ${Math.round(visibleAfterMs)} ms`);
            assert.deepEqual(site.apache.wsgiPids(), pidsBefore, 'the WSGI processes kept running');
          }
        });

        it("has the hook: [hooks] auto put it in, in force for the repository's owner", async () => {
          const repo = join(site.root, name);
          assert.equal(statSync(join(repo, '.hg')).uid, idsOf(pusher).uid, 'made by the pusher, over SSH');
          // The daemon hooks a new repository beside its reload, not before it: wait for its word.
          const said = await site.readme.daemon.waitFor((l) => l.repo === realpathSync(repo) && l.msg.startsWith('hook '), `the daemon's hook install for ${name}`, { from: logMark, timeoutMs: 10_000 });
          assert.equal(said.msg, `hook added: ${join(realpathSync(repo), '.hg/hgrc')}`);
          // The README: written as the daemon's user, with the repository's (shared) group.
          const hgrc = statSync(join(repo, '.hg/hgrc'));
          assert.deepEqual([hgrc.uid, hgrc.gid], [idsOf(site.serviceUser).uid, gidOf(hosting)], "the hgrc's owner and group");
          // What the pusher's hg makes of it: Mercurial leaves out the values of a file it does not trust.
          const r = runProgram(['hg', 'config', `hooks.${HOOK_NAME}`], { cwd: repo, user: pusher, initGroups: true, env: { HGRCPATH: siteHgrc } });
          const program = join(site.readme.host('/usr/local/lib/node_modules/hgreload'), HOOK_PROGRAM);
          assert.equal(r.stdout.trim(), hookValue(socketPath(site.stateDir), program), `hg config as the pusher: ${r.stdout}${r.stderr}`);
          assert.doesNotMatch(r.stderr, /not trusting/);
        });
      });
    });
  }
});
