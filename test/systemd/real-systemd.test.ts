/**
 * The README's "Running it as a service", run as written in a booted Debian 12
 * under real systemd (systemd-nspawn, helpers/nspawn.ts): every other test
 * runs the unit under a stand-in that reads it, where this one has systemd
 * itself apply it, sandbox and all.
 *
 * Inside the container, as an administrator would: hgweb's config with a `**`
 * root under /srv/hg, two repositories of two people, the checkout copied in,
 * then the README's sh block itself (its `$EDITOR` copies in the settings
 * below; its last line, `journalctl -f`, is left out), then Apache serving
 * hgweb through the WSGI script of `hgreload wsgi` with the site `hgreload
 * apache` prints, on a loopback port. Checked with systemd's own tools: the
 * unit active (running) with `ready` in its journal, the credentials and
 * sandbox it runs with, a new repository served, reload, a push over SSH whose
 * hook reaches the daemon (and one by someone outside www-data, which the
 * hook reports to the journal), `doctor`, `systemd-analyze security`, a
 * journal free of permission failures, a daemon killed and restarted by
 * `Restart=`, the README's steps for `[hooks] auto` (shared group, [trusted],
 * a drop-in made with a real `systemctl edit`), and a clean stop.
 *
 * Skips, naming why, where no container can boot (not root, no
 * systemd-nspawn, debootstrap, cgroups or Debian archive); with
 * HGRELOAD_NSPAWN=require those are failures instead. The first run prepares
 * the root folder (a few minutes, cached in .cache/nspawn/); later runs boot
 * it in about a second, and take some 25 s in all.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { PROJECT_ROOT } from '../helpers/run.js';
import { readmeBlock, readmeBlocks, SERVICE_SECTION } from '../helpers/readme-service.js';
import { CannotRun, Container, nspawnUnavailable, PACKAGE_PARTS, prepareNpmCache, prepareRoot } from '../helpers/nspawn.js';

const REQUIRED = process.env.HGRELOAD_NSPAWN === 'require';
/** Where the checkout is copied inside, and the README's commands run. */
const CHECKOUT = '/root/hgreload';
/** What the administrator's $EDITOR saves as /etc/hgreload/hgreload.ini. */
const EDITED = '/root/hgreload.ini.edited';
const SETTINGS = ['webconf = /var/www/hg/hgweb.config', '[reload]', 'method = publish', 'state = /var/lib/hgreload', ''].join('\n');
const HGWEB_CONFIG = ['[paths]', '/ = /srv/hg/**', '[web]', '# hgweb polls nothing: the daemon publishes each change', 'refreshinterval = 86400', ''].join('\n');
/** Apache's port for hgweb, on the container's own loopback (--private-network). */
const PORT = 8080;
/** A person in www-data, who may reach the daemon's control socket (0660, group www-data), and one who is not. */
const PUSHER = 'pusher';
const OUTSIDER = 'outsider';
const SSH = 'ssh -i /root/.ssh/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR';
const HG_ENV = { HGPLAIN: '1', HGUSER: 'tester <tester@example.org>' };
/** A GET inside the container, printing the body (python3 is there for Mercurial). */
const PY_GET = 'import sys, urllib.request\nwith urllib.request.urlopen(sys.argv[1], timeout=10) as r:\n    sys.stdout.write(r.read().decode())\n';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it gives a value, for at most `timeoutMs`; then fails with `what` and `detail()`. */
async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, detail?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms${detail ? `\n${await detail()}` : ''}`);
    await sleep(50);
  }
}

describe("the README's service steps in a booted Debian 12, under real systemd", () => {
  let box: Container | undefined;
  let skip: string | undefined;
  const timings: string[] = [];
  let npmCache = '';

  /** The container; skips the test (returning undefined) when none could boot here. */
  function container(t: TestContext): Container | undefined {
    if (skip !== undefined) {
      t.skip(skip);
      return undefined;
    }
    assert.ok(box !== undefined, 'no container (its set-up failed)');
    return box;
  }

  /** `journalctl -u hgreload`: systemd's lines about the unit and the daemon's JSON lines. */
  async function journal(): Promise<string[]> {
    return (await box!.must(['journalctl', '-u', 'hgreload', '-o', 'cat', '--no-pager'])).split('\n').filter(Boolean);
  }
  async function daemonLog(): Promise<Array<Record<string, unknown> & { msg: string; level: string }>> {
    return (await journal()).flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown> & { msg: string; level: string }];
      } catch {
        return [];
      }
    });
  }
  async function show(...properties: string[]): Promise<Record<string, string>> {
    const out = await box!.must(['systemctl', 'show', 'hgreload', ...properties.flatMap((p) => ['-p', p])]);
    return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }
  async function status(): Promise<{ requests?: Record<string, number> } & Record<string, unknown>> {
    return JSON.parse(await box!.must(['hgreload', 'status', '--json'])) as { requests?: Record<string, number> };
  }
  /** hgweb's index (raw style) over the container's loopback, or undefined while it does not answer 200. */
  async function index(): Promise<string[] | undefined> {
    const r = await box!.exec(['python3', '-c', PY_GET, `http://127.0.0.1:${PORT}/?style=raw`], { timeoutMs: 15_000 });
    if (r.status !== 0) return undefined;
    return r.stdout.split('\n').map((l) => l.trim().replace(/^\/|\/$/g, '')).filter(Boolean);
  }
  async function hg(args: readonly string[], cwd = '/root'): Promise<{ status: number | null; output: string }> {
    const r = await box!.exec(['hg', ...args], { cwd, env: HG_ENV });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  }
  /**
   * Whether root can make a file in `path` inside the mount namespace `ns` (a command prefix;
   * [] for the container's own): "writable", or touch's error. Root has every capability, so
   * a failure is the mount's (read-only: EROFS), never a missing permission.
   */
  async function writable(ns: readonly string[], path: string): Promise<string> {
    const probe = 'f="$1/.hgreload-probe-$$"; if out=$(touch "$f" 2>&1); then rm -f "$f"; echo writable; else echo "$out"; fi';
    return (await box!.must([...ns, 'sh', '-c', probe, 'sh', path])).trim();
  }
  /** The prefix that runs a command in the mount namespace systemd made for the unit (its main process's). */
  async function unitNamespace(): Promise<string[]> {
    return ['nsenter', '-t', (await show('MainPID')).MainPID!, '-m', '--'];
  }
  const sshUrl = (user: string, repo: string) => `ssh://${user}@127.0.0.1/${repo}`; // ssh://host//abs/path

  before(
    async () => {
      const started = performance.now();
      const lap = (what: string, from: number) => timings.push(`${what} ${((performance.now() - from) / 1000).toFixed(1)} s`);
      try {
        const unavailable = nspawnUnavailable();
        if (unavailable !== undefined) throw new CannotRun(unavailable);
        let step = performance.now();
        // The first run says so on stderr ("preparing ..."): debootstrap takes a few minutes.
        const root = await prepareRoot((text) => process.stderr.write(text));
        lap('root folder', step);
        step = performance.now();
        npmCache = await prepareNpmCache();
        lap('npm cache', step);
        box = await Container.boot(root);
        timings.push(`boot ${(box.bootMs / 1000).toFixed(1)} s`);
      } catch (error) {
        if (error instanceof CannotRun && !REQUIRED) {
          skip = `cannot boot a container here: ${error.message}`;
          return;
        }
        throw error;
      }
      const b = box;
      let step = performance.now();
      // The host as the administrator finds it: hgweb's config, its root, people with a repository each.
      await b.write('/var/www/hg/hgweb.config', HGWEB_CONFIG);
      await b.sh(
        [
          'mkdir -p /srv/hg',
          `adduser --quiet --disabled-password --gecos '' ${PUSHER}`,
          `adduser --quiet ${PUSHER} www-data`,
          `adduser --quiet --disabled-password --gecos '' ${OUTSIDER}`,
          `hg init /srv/hg/existing && chown -R ${PUSHER}: /srv/hg/existing`,
          `hg init /srv/hg/outside && chown -R ${OUTSIDER}: /srv/hg/outside`,
          // The client's key, which both may log in with over SSH.
          'mkdir -p -m 700 /root/.ssh && ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/id_ed25519',
          ...[PUSHER, OUTSIDER].map((u) => `install -d -o ${u} -g ${u} -m 700 /home/${u}/.ssh && install -o ${u} -g ${u} -m 600 /root/.ssh/id_ed25519.pub /home/${u}/.ssh/authorized_keys`),
        ].join('\n'),
      );
      // The checkout as the README's commands find it after `npm install` (dist/ built), and npm's
      // cache holding the package's dependencies: the container has no network.
      await b.copyIn(PROJECT_ROOT, PACKAGE_PARTS, CHECKOUT);
      await b.copyIn(npmCache, ['_cacache'], '/root/.npm');
      await b.write(EDITED, SETTINGS);
      lap('host set-up', step);

      step = performance.now();
      const block = readmeBlock(SERVICE_SECTION);
      assert.match(block.at(-1) ?? '', /^journalctl\s.*\s-f(\s|$)/, `the README's "${SERVICE_SECTION}" block ends in journalctl -f`);
      const readme = await b.exec(['sh', '-c', ['set -ex', ...block.slice(0, -1)].join('\n')], {
        cwd: CHECKOUT,
        env: {
          // README: "Offline, add --offline: npm's cache has the dependencies."
          npm_config_offline: 'true',
          // dist/ is built; `prepare` would build it again, with devDependencies that are not copied.
          npm_config_ignore_scripts: 'true',
          npm_config_audit: 'false',
          npm_config_fund: 'false',
          npm_config_update_notifier: 'false',
          EDITOR: `cp ${EDITED}`,
        },
        timeoutMs: 120_000,
      });
      assert.equal(readme.status, 0, `the README's steps failed (${readme.status ?? readme.signal}):\n${readme.stdout}${readme.stderr}`);
      lap("README's steps", step);

      // hgweb under Apache (README, "Apache (mod_wsgi daemon mode)"), on a loopback port.
      step = performance.now();
      await b.sh(
        [
          'hgreload -c /etc/hgreload/hgreload.ini wsgi > /var/www/hg/hgweb.wsgi',
          `hgreload -c /etc/hgreload/hgreload.ini apache --port ${PORT} --script /var/www/hg/hgweb.wsgi > /etc/apache2/sites-available/hgweb.conf`,
          `echo 'Listen 127.0.0.1:${PORT}' > /etc/apache2/conf-available/hgweb-listen.conf`,
          'a2enconf -q hgweb-listen',
          'a2enmod -q wsgi && a2ensite -q hgweb && apache2ctl configtest && systemctl reload apache2',
        ].join('\n'),
      );
      await until(`hgweb answering on 127.0.0.1:${PORT}`, 20_000, index, async () => (await b.exec(['tail', '-n', '20', '/var/log/apache2/error.log'])).stdout);
      lap('Apache', step);
      timings.push(`set-up in all ${((performance.now() - started) / 1000).toFixed(1)} s`);
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    await box?.stop();
  });

  it('the unit starts: enabled, active (running), and its journal says ready', async (t) => {
    const b = container(t);
    if (!b) return;
    t.diagnostic(timings.join(', '));
    assert.equal((await b.must(['systemctl', 'is-enabled', 'hgreload'])).trim(), 'enabled');
    const state = await show('ActiveState', 'SubState', 'MainPID');
    assert.deepEqual([state.ActiveState, state.SubState], ['active', 'running'], JSON.stringify(state));
    const r = await b.exec(['systemctl', 'status', 'hgreload', '--no-pager']);
    assert.match(r.stdout, /Active: active \(running\)/, r.stdout);
    const ready = await until('a ready line in journalctl -u hgreload', 15_000, async () => (await daemonLog()).find((l) => l.msg === 'ready'), async () => (await journal()).join('\n'));
    assert.equal(ready.pid, Number(state.MainPID), 'said by the unit\'s main process');
  });

  it('the daemon runs as the unit says: hgreload in www-data, umask 0077, no capabilities, no new privileges, a system-call filter, no network', async (t) => {
    const b = container(t);
    if (!b) return;
    const pid = (await show('MainPID')).MainPID!;
    const fields = new Map(
      (await b.must(['cat', `/proc/${pid}/status`]))
        .split('\n')
        .map((l) => l.split(':\t') as [string, string]),
    );
    const numbers = (key: string) => (fields.get(key) ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
    const uid = Number((await b.must(['id', '-u', 'hgreload'])).trim());
    const wwwData = Number((await b.must(['getent', 'group', 'www-data'])).split(':')[2]);
    assert.deepEqual(numbers('Uid'), [uid, uid, uid, uid], 'User=hgreload');
    assert.deepEqual(numbers('Gid'), [wwwData, wwwData, wwwData, wwwData], 'Group=www-data');
    assert.deepEqual(numbers('Groups'), [wwwData], 'no other group');
    assert.equal(fields.get('Umask')?.trim(), '0077', 'UMask=0077');
    assert.equal(fields.get('NoNewPrivs')?.trim(), '1', 'NoNewPrivileges=yes');
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(BigInt(`0x${fields.get(set)?.trim()}`), 0n, `${set}: CapabilityBoundingSet= (none)`);
    assert.equal(fields.get('Seccomp')?.trim(), '2', 'SystemCallFilter= (seccomp filter mode)');
    const netns = async (p: string) => (await b.must(['readlink', `/proc/${p}/ns/net`])).trim();
    assert.notEqual(await netns(pid), await netns('1'), 'PrivateNetwork=yes: a network namespace of its own');
    // StateDirectory=hgreload, StateDirectoryMode=0750 (over the home adduser made); the socket 0660.
    const stat = async (path: string) => (await b.must(['stat', '-c', '%U %G %a', path])).trim();
    assert.equal(await stat('/var/lib/hgreload'), 'hgreload www-data 750');
    assert.equal(await stat('/var/lib/hgreload/control.sock'), 'hgreload www-data 660');
    assert.equal(await stat('/var/lib/hgreload/served.list'), 'hgreload www-data 644');
  });

  it("hg init of a new repository under /srv/hg is in hgweb's index within a few seconds", async (t) => {
    const b = container(t);
    if (!b) return;
    assert.deepEqual(await index(), ['existing', 'outside']);
    await b.must(['hg', 'init', '/srv/hg/new-repo']);
    const made = performance.now();
    await until('new-repo in hgweb\'s index', 5_000, async () => ((await index())?.includes('new-repo') ? true : undefined), async () => (await journal()).slice(-10).join('\n'));
    t.diagnostic(`served ${Math.round(performance.now() - made)} ms after hg init returned (polling the index through python3 in the container)`);
  });

  it('a push over SSH into a repository hooked by root\'s install-hooks exits 0, prints no abort or warning, and the hook reaches the daemon', async (t) => {
    const b = container(t);
    if (!b) return;
    // README: install-hooks run as root; the hgrc it makes is owned like the repository's .hg.
    const installed = await b.must(['hgreload', 'install-hooks', '/srv/hg/existing', '/srv/hg/outside']);
    assert.match(installed, /2 added/, installed);
    assert.equal((await b.must(['stat', '-c', '%U', '/srv/hg/existing/.hg/hgrc'])).trim(), PUSHER);
    const clone = await hg(['clone', '-q', '-e', SSH, sshUrl(PUSHER, '/srv/hg/existing'), '/root/work']);
    assert.equal(clone.status, 0, clone.output);
    await b.write('/root/work/file', 'over ssh\n');
    assert.equal((await hg(['commit', '-A', '-m', 'over ssh'], '/root/work')).status, 0);
    const before = (await status()).requests?.rescan ?? 0;
    const push = await hg(['push', '-e', SSH, sshUrl(PUSHER, '/srv/hg/existing')], '/root/work');
    assert.equal(push.status, 0, push.output);
    assert.match(push.output, /added 1 changesets/, push.output);
    assert.doesNotMatch(push.output, /abort|warning/i, push.output);
    const after = await until('the hook\'s rescan request in the daemon\'s status', 5_000, async () => {
      const n = (await status()).requests?.rescan ?? 0;
      return n > before ? n : undefined;
    });
    t.diagnostic(`requests.rescan ${before} -> ${after}`);
    const hookLog = await b.must(['journalctl', '-t', 'hgreload-hook', '-o', 'cat', '--no-pager']);
    assert.equal(hookLog.trim(), '', 'the hook had nothing to report');
  });

  it('hgreload doctor finds nothing broken and nothing to warn of', async (t) => {
    const b = container(t);
    if (!b) return;
    const r = await b.exec(['hgreload', 'doctor']);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^0 broken, 0 warnings$/m, r.stdout);
    assert.match(r.stdout, /^ok +systemd +hgreload\.service is enabled/m, r.stdout);
  });

  it("a push over SSH by someone outside www-data still exits 0, and the hook's word goes to the journal", async (t) => {
    const b = container(t);
    if (!b) return;
    const clone = await hg(['clone', '-q', '-e', SSH, sshUrl(OUTSIDER, '/srv/hg/outside'), '/root/work-outside']);
    assert.equal(clone.status, 0, clone.output);
    await b.write('/root/work-outside/file', 'from outside\n');
    assert.equal((await hg(['commit', '-A', '-m', 'from outside'], '/root/work-outside')).status, 0);
    const push = await hg(['push', '-e', SSH, sshUrl(OUTSIDER, '/srv/hg/outside')], '/root/work-outside');
    assert.equal(push.status, 0, push.output);
    assert.doesNotMatch(push.output, /abort|warning/i, push.output);
    // README: "the push goes on and the admin is told through syslog (journalctl -t hgreload-hook)".
    const said = await until('the hook\'s message in journalctl -t hgreload-hook', 5_000, async () => {
      const out = await b.must(['journalctl', '-t', 'hgreload-hook', '-o', 'cat', '--no-pager']);
      return out.includes('/srv/hg/outside') ? out.trim() : undefined;
    });
    assert.match(said, /cannot reach the daemon .*Permission denied/, said);
  });

  it('systemctl reload hgreload makes the daemon re-read its settings (same process)', async (t) => {
    const b = container(t);
    if (!b) return;
    const pid = (await show('MainPID')).MainPID;
    const seen = (await daemonLog()).filter((l) => l.msg === 'settings reloaded').length;
    await b.must(['systemctl', 'reload', 'hgreload']);
    await until('"settings reloaded" in journalctl -u hgreload', 10_000, async () => ((await daemonLog()).filter((l) => l.msg === 'settings reloaded').length > seen ? true : undefined), async () => (await journal()).slice(-10).join('\n'));
    assert.equal((await show('MainPID')).MainPID, pid, 'the same process: a reload, not a restart');
  });

  it('the sandbox: in the daemon\'s mount namespace only its state folder (and a private /tmp) can be written, even by root', async (t) => {
    const b = container(t);
    if (!b) return;
    // The probe runs as root, with every capability, in the mount namespace systemd made for the
    // unit (nsenter -m into MainPID's): a write that fails there fails for the mount (read-only,
    // EROFS), not for want of permission, so it fails for the daemon's user all the more. The
    // same paths are writable in the container's own namespace: the unit's sandbox is what
    // stops the write.
    const unit = await unitNamespace();
    for (const path of ['/etc', '/usr/local/lib/node_modules/hgreload', '/usr/local/bin', '/srv/hg', '/srv/hg/existing/.hg', '/var/www/hg', '/home', '/root', '/var/lib']) {
      assert.equal(await writable([], path), 'writable', `${path} is writable outside the unit (the probe works)`);
      assert.match(await writable(unit, path), /Read-only file system/, `${path} in the unit's namespace`);
    }
    assert.equal(await writable(unit, '/var/lib/hgreload'), 'writable', 'StateDirectory=hgreload');
    // PrivateTmp=yes: the daemon's /tmp is its own, not the system's.
    const tmp = async (ns: readonly string[]) => (await b.must([...ns, 'stat', '-c', '%d:%i', '/tmp'])).trim();
    assert.notEqual(await tmp(unit), await tmp([]), 'PrivateTmp=yes');
  });

  it('systemd-analyze security rates the unit as the README says (1.0 or below)', async (t) => {
    const b = container(t);
    if (!b) return;
    const r = await b.exec(['systemd-analyze', 'security', 'hgreload', '--no-pager']);
    const m = /Overall exposure level for hgreload\.service: (\d+\.\d+) (\S+)/.exec(r.stdout);
    assert.ok(m, `${r.stdout}${r.stderr}`);
    const exposure = Number(m[1]);
    t.diagnostic(`systemd-analyze security inside the container: ${m[1]} ${m[2]}`);
    assert.ok(exposure <= 1.0, `exposure ${exposure}:\n${r.stdout}`);
  });

  it('the journal shows no permission failure (EROFS, EPERM, EACCES, SIGSYS) and no error from the daemon', async (t) => {
    const b = container(t);
    if (!b) return;
    const lines = await journal();
    const failures = lines.filter((l) => /EROFS|EPERM|EACCES|SIGSYS|read-only file system|operation not permitted|permission denied|bad system call/i.test(l));
    assert.deepEqual(failures, [], 'permission failures in journalctl -u hgreload');
    const log = await daemonLog();
    assert.ok(log.length > 0, lines.join('\n'));
    assert.deepEqual(log.filter((l) => l.level === 'error' || l.level === 'fatal'), [], 'errors in the daemon\'s log');
    const warnings = log.filter((l) => l.level === 'warn');
    if (warnings.length > 0) t.diagnostic(`warnings: ${warnings.map((l) => l.msg).join(' | ')}`);
    assert.equal((await show('NRestarts')).NRestarts, '0', 'Restart=on-failure never had to restart it');
  });

  it('Restart=on-failure: a daemon killed with SIGKILL is back, ready, within seconds, still serving the list', async (t) => {
    const b = container(t);
    if (!b) return;
    const pid = (await show('MainPID')).MainPID!;
    await b.must(['kill', '-KILL', pid]);
    const killed = performance.now();
    const state = await until('hgreload restarted with a new main process', 15_000, async () => {
      const s = await show('ActiveState', 'SubState', 'MainPID', 'NRestarts');
      return s.ActiveState === 'active' && s.SubState === 'running' && s.MainPID !== '0' && s.MainPID !== pid ? s : undefined;
    }, async () => (await journal()).slice(-10).join('\n'));
    assert.equal(state.NRestarts, '1');
    // It finds the control socket the killed one left behind, and takes it over.
    await until('ready from the new process', 15_000, async () => (await daemonLog()).find((l) => l.msg === 'ready' && l.pid === Number(state.MainPID)), async () => (await journal()).slice(-10).join('\n'));
    t.diagnostic(`ready again ${Math.round(performance.now() - killed)} ms after SIGKILL (RestartSec=2s)`);
    assert.ok((await status()).requests !== undefined, 'the new daemon answers on the control socket');
    assert.deepEqual(await index(), ['existing', 'new-repo', 'outside']);
  });

  it("[hooks] auto with the README's shared group and drop-in (systemctl edit): a repository cloned over SSH is hooked by the daemon, writing through ReadWritePaths=", async (t) => {
    const b = container(t);
    if (!b) return;
    // The README's two ```ini blocks: the site-wide [trusted] file, and the drop-in.
    const blocks = readmeBlocks(SERVICE_SECTION, 'ini');
    const trusted = blocks.find((block) => block.some((l) => l.trim() === '[trusted]'));
    const dropIn = blocks.find((block) => block.some((l) => l.trim() === '[Service]'));
    assert.ok(trusted && dropIn, `the README's "${SERVICE_SECTION}" has a [trusted] and a [Service] block`);
    const trustedFile = /^#\s*(\/etc\/mercurial\/hgrc\.d\/[\w.-]+\.rc)\b/.exec(trusted[0] ?? '')?.[1];
    assert.ok(trustedFile, `the [trusted] block names its file: ${trusted[0]}`);
    await b.write(trustedFile, `${trusted.join('\n')}\n`);
    await b.write('/root/hgreload-drop-in.conf', `${dropIn.join('\n')}\n`);
    // README: the repositories' root setgid in the shared group hg, the pusher in it with umask 002,
    // from pam_umask. (On Debian 12 the line needs `usergroups`: without it pam_umask leaves sshd's
    // sessions at login.defs' 022, USERGROUPS_ENAB yes notwithstanding.)
    await b.sh(
      [
        'addgroup --quiet hg',
        `adduser --quiet ${PUSHER} hg`,
        'chgrp hg /srv/hg && chmod 2775 /srv/hg',
        'echo "session optional pam_umask.so usergroups" >> /etc/pam.d/common-session',
        // `systemctl edit hgreload` as the README says, the editor saving the drop-in (systemctl edit wants a terminal: script gives it one).
        'SYSTEMD_EDITOR="cp /root/hgreload-drop-in.conf" script -qec "systemctl edit hgreload" /dev/null </dev/null',
        'printf "[hooks]\\nauto = true\\n" >> /etc/hgreload/hgreload.ini',
        'systemctl restart hgreload',
      ].join('\n'),
    );
    const { MainPID: pid } = await show('MainPID');
    await until('ready after the restart', 15_000, async () => (await daemonLog()).find((l) => l.msg === 'ready' && l.pid === Number(pid)), async () => (await journal()).slice(-10).join('\n'));
    const groups = (await b.must(['sh', '-c', `grep '^Groups:' /proc/${pid}/status`])).trim();
    const hgGid = (await b.must(['getent', 'group', 'hg'])).split(':')[2];
    assert.match(groups, new RegExp(`\\b${hgGid}\\b`), 'SupplementaryGroups=hg');
    const unit = await unitNamespace();
    assert.equal(await writable(unit, '/srv/hg'), 'writable', 'ReadWritePaths=/srv/hg');
    assert.match(await writable(unit, '/etc'), /Read-only file system/, 'the rest stays read-only');

    const clone = await hg(['clone', '-q', '-e', SSH, '.', sshUrl(PUSHER, '/srv/hg/made-over-ssh')], '/root/work');
    assert.equal(clone.status, 0, clone.output);
    const said = await until("the daemon's word on hooking made-over-ssh", 15_000, async () => (await daemonLog()).find((l) => l.repo === '/srv/hg/made-over-ssh' && l.msg.startsWith('hook ')), async () => (await journal()).slice(-10).join('\n'));
    assert.equal(said.msg, 'hook added: /srv/hg/made-over-ssh/.hg/hgrc');
    assert.equal((await b.must(['stat', '-c', '%U %G', '/srv/hg/made-over-ssh/.hg/hgrc'])).trim(), 'hgreload hg', 'written by the daemon, in the shared group');
    // In force for the pusher: Mercurial trusts the file through the [trusted] group.
    const hook = await b.exec(['hg', 'config', 'hooks.changegroup.hgreload'], { user: PUSHER, cwd: '/srv/hg/made-over-ssh' });
    assert.match(hook.stdout, /hgreload_hook\.py \/var\/lib\/hgreload\/control\.sock/, `${hook.stdout}${hook.stderr}`);
    assert.doesNotMatch(hook.stderr, /not trusting/, hook.stderr);
  });

  it('systemctl stop hgreload stops it cleanly: inactive, Result=success, its last word "stopped"', async (t) => {
    const b = container(t);
    if (!b) return;
    await b.must(['systemctl', 'stop', 'hgreload']);
    const state = await show('ActiveState', 'Result', 'ExecMainCode', 'ExecMainStatus');
    assert.equal(state.ActiveState, 'inactive', JSON.stringify(state));
    assert.equal(state.Result, 'success', JSON.stringify(state));
    assert.equal((await daemonLog()).at(-1)?.msg, 'stopped', 'its last word');
  });
});
