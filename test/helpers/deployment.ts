/**
 * One Mercurial host as the README deploys it, on loopback, inside a temp
 * folder: hgreload installed and run as a service by the README's own steps
 * (readme-service.ts), Apache + mod_wsgi as www-data serving the script from
 * `hgreload wsgi` with pushes over HTTP behind basic authentication, and a
 * tree of repositories that people push into over SSH (sshd.ts) and HTTP.
 *
 * Who may write the repositories, as a host with several pushers sets it up:
 * one shared group for the repositories (`hosting`, what hosts often call
 * `hg`), the root folder setgid in that group so that every repository below
 * it is in the group, repositories group-writable (made with umask 002;
 * Mercurial then gives every file it adds the mode of the store, whatever the
 * pusher's umask), every pusher in the group: the SSH users through
 * /etc/group, www-data through mod_wsgi's supplementary-groups= (so that
 * www-data's own accounts stay as they are). And Mercurial trusts the hgrc
 * files of that group ([trusted] groups = hosting): without it a push by
 * anyone but an hgrc's owner ignores the repository's hooks, hgreload's too.
 * On a real host that line sits in /etc/mercurial/hgrc.d/ (README); here it
 * is in a folder of the temp folder that HGRCPATH names for every hg: sshd's
 * sessions (SetEnv), Apache (whose mod_wsgi processes inherit its
 * environment) and the daemon (Environment= in its drop-in).
 *
 * The daemon's user (the README's `hgreload`, here `hgrl-daemon-<random>`) is
 * in www-data only, as the README's adduser line makes it; the README's
 * drop-in adds the shared group to the service (SupplementaryGroups=), so
 * that `[hooks] auto` may write a new repository's .hg/hgrc, as itself with
 * the repository's group, which [trusted] makes every hg heed. It owns no
 * repository.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Apache, getIndex } from './apache.js';
import { ReadmeService } from './readme-service.js';
import { readableCopy, runProgram, type RunResult } from './run.js';
import { accountName, gidOf, idsOf, type Accounts } from './users.js';

export interface DeploymentOptions {
  /** This host's folder (0755, below the test's temp folder). */
  readonly dir: string;
  readonly method: 'touch' | 'publish';
  /** The shared group of the repositories. */
  readonly hosting: string;
  /** The person who made the existing repositories (and pushes over SSH). */
  readonly owner: string;
  /** The Mercurial config every hg on this host reads (HGRCPATH: a file, or a folder of *.rc), with [trusted]. */
  readonly siteHgrc: string;
  /** The administrator's drop-in for the service (`systemctl edit hgreload`), as lines. */
  readonly dropIn: readonly string[];
  readonly accounts: Accounts;
  /** mod_wsgi's process group name (unique per test, at most 10 characters). */
  readonly wsgiGroup: string;
  /** Repositories made by `owner` before the service starts. */
  readonly repositories: readonly string[];
  readonly httpUser: string;
  readonly httpPassword: string;
}

export class Deployment {
  readonly readme: ReadmeService;
  readonly apache: Apache;
  readonly serviceUser: string;
  /** The `**` root of hgweb.config. */
  readonly root: string;
  readonly www: string;
  readonly script: string;
  readonly webconf: string;

  constructor(private readonly options: DeploymentOptions) {
    const host = join(options.dir, 'host');
    this.serviceUser = accountName('hgrl-daemon');
    // The README's /srv/hg, where readme-service.ts maps it.
    this.root = join(host, 'srv/hg');
    this.www = join(host, 'var/www/hg');
    this.script = join(this.www, 'hgweb.wsgi');
    this.webconf = join(this.www, 'hgweb.config');
    this.readme = new ReadmeService({
      dir: host,
      checkout: readableCopy().dir,
      serviceUser: this.serviceUser,
      accounts: options.accounts,
      settings: [
        `webconf = ${this.webconf}`,
        '[reload]',
        `method = ${options.method}`,
        `wsgi = ${this.script}`,
        // The README's state folder, where this stand-in host has it.
        `state = ${join(host, 'var/lib/hgreload')}`,
        'debounce = 100',
        '[hooks]',
        'auto = true',
        '',
      ].join('\n'),
    });
    const htpasswd = join(this.www, 'htpasswd');
    this.apache = new Apache({
      dir: this.www,
      wsgiScript: this.script,
      group: options.wsgiGroup,
      modules: ['auth_basic', 'authn_core', 'authn_file', 'authz_user'],
      daemonOptions: [`supplementary-groups=${options.hosting}`],
      env: { HGRCPATH: options.siteHgrc },
      config: [
        // Mercurial's wiki recipe: anyone reads, pushes (POST) need a user from the htpasswd file.
        'WSGIPassAuthorization On',
        '<Location />',
        '  <LimitExcept GET>',
        '    AuthType Basic',
        '    AuthName "Mercurial repositories"',
        `    AuthUserFile ${htpasswd}`,
        '    Require valid-user',
        '  </LimitExcept>',
        '</Location>',
      ],
    });
  }

  get stateDir(): string {
    return this.readme.host('/var/lib/hgreload');
  }

  /** Root, as the host's administrator, runs the installed hgreload. */
  admin(args: readonly string[]): RunResult {
    return runProgram([this.readme.cli, '-c', this.readme.settingsFile, ...args], { env: { HGRELOAD_CONFIG: undefined } });
  }

  /**
   * The host, in the order an administrator would bring it up: repositories,
   * hgweb.config, the README's install steps, the WSGI script, the service,
   * Apache, then `install-hooks` as root for the repositories that existed
   * before (the daemon's own user may not edit their hgrc files: README).
   */
  async start(): Promise<void> {
    const { hosting, owner, siteHgrc, repositories, httpUser, httpPassword } = this.options;
    mkdirSync(this.www, { recursive: true });
    mkdirSync(this.root, { recursive: true });
    chownSync(this.root, 0, gidOf(hosting));
    chmodSync(this.root, 0o2775);
    for (const name of repositories) {
      const r = runProgram(['hg', 'init', join(this.root, name)], { user: owner, initGroups: true, umask: 0o002, env: { HGRCPATH: siteHgrc } });
      assert.equal(r.status, 0, r.stderr);
    }
    writeFileSync(this.webconf, `[web]\nrefreshinterval = 86400\nallow-push = *\npush_ssl = false\n[paths]\n/ = ${this.root}/**\n`);

    await this.readme.install();
    // The README has the drop-in added after `enable --now`, then a restart; added before the
    // first start, the service starts once, from the same unit.
    this.readme.editUnit(this.options.dropIn);
    const wsgi = this.admin(['wsgi']);
    assert.equal(wsgi.status, 0, wsgi.stderr);
    writeFileSync(this.script, wsgi.stdout, { mode: 0o644 });
    // README: with touch, the WSGI script must be writable by the daemon's user (doctor: "make
    // the daemon's user own it"); setting an mtime other than now takes its owner.
    if (this.options.method === 'touch') chownSync(this.script, idsOf(this.serviceUser).uid, gidOf('www-data'));
    const htpasswd = spawnSync('htpasswd', ['-c', '-b', '-B', join(this.www, 'htpasswd'), httpUser, httpPassword], { encoding: 'utf8' });
    assert.equal(htpasswd.status, 0, htpasswd.stderr);
    chownSync(join(this.www, 'htpasswd'), 0, gidOf('www-data'));
    chmodSync(join(this.www, 'htpasswd'), 0o640);

    await this.readme.start();
    await this.apache.start();
    const hooks = this.admin(['install-hooks']);
    assert.equal(hooks.status, 0, `${hooks.stdout}${hooks.stderr}`);
    const index = await getIndex(this.apache.url);
    assert.deepEqual(index.repos, [...repositories].sort(), `the index before any push: ${JSON.stringify(index)}\n${this.apache.log()}`);
  }

  async stop(): Promise<void> {
    await this.readme.stop();
    await this.apache.stop();
  }
}
