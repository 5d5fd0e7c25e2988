/**
 * `hgreload apache` in a real Apache: the printed <VirtualHost>, saved as a
 * site (its commented authentication example switched on, as an admin would),
 * passes `apache2 -t`, serves hgweb through mod_wsgi in daemon mode as
 * www-data, takes a push over HTTP from an authenticated user and refuses one
 * without credentials; `doctor` finds nothing wrong in it, and names the line
 * of a maximum-requests added to it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Apache, getIndex } from '../helpers/apache.js';
import { makeTempDir, runCli } from '../helpers/run.js';
import { hgInit } from '../helpers/web-site.js';

const hg = (args: string[]) => spawnSync('hg', args, { encoding: 'utf8', env: { ...process.env, HGRCPATH: '' } });

describe('hgreload apache', () => {
  const dir = makeTempDir('hgreload-vhost-');
  const base = dir.path;
  const ini = join(base, 'hgreload.ini');
  const htpasswd = join(base, 'hg.htpasswd');
  let apache: Apache | undefined;
  let site = '';

  before(async () => {
    chmodSync(base, 0o755);
    hgInit(join(base, 'repos/first'));
    // Pushes write into the repository as the user hgweb runs as.
    spawnSync('chown', ['-R', 'www-data:www-data', join(base, 'repos')]);
    writeFileSync(join(base, 'hgweb.config'), `[web]\nallow-push = alice\npush_ssl = false\nrefreshinterval = 86400\n[paths]\n/ = ${base}/repos/*\n`);
    mkdirSync(join(base, 'www'));
    writeFileSync(ini, `webconf = ${base}/hgweb.config\n[reload]\nmethod = publish\nstate = ${base}/state\nwsgi = ${base}/www/hgweb.wsgi\n`);
    const wsgi = runCli(['-c', ini, 'wsgi']);
    assert.equal(wsgi.status, 0, wsgi.stderr);
    writeFileSync(join(base, 'www/hgweb.wsgi'), wsgi.stdout);
    // No daemon here: `touch` publishes the list itself.
    mkdirSync(join(base, 'state'), { mode: 0o755 });
    const touch = runCli(['-c', ini, 'touch']);
    assert.equal(touch.status, 0, touch.stderr);
    assert.equal(spawnSync('htpasswd', ['-cb', htpasswd, 'alice', 'secret']).status, 0);
    apache = new Apache({
      dir: join(base, 'apache'),
      modules: ['authn_core', 'authn_file', 'auth_basic', 'authz_user'],
      site: (port) => {
        const printed = runCli(['-c', ini, 'apache', '--server-name', '127.0.0.1', '--port', String(port), '--url-prefix', '/hg']);
        assert.equal(printed.status, 0, printed.stderr);
        // The commented example, switched on with this test's password file.
        site = printed.stdout.replace(/^ {4}#(\s*<\/?(Location|Limit)|\s*Auth|\s*Require valid-user)/gm, '    $1').replaceAll('/etc/apache2/hg.htpasswd', htpasswd);
        assert.match(site, /^ +<Limit POST PUT>$/m);
        return site;
      },
    });
    await apache.start();
  });
  after(async () => {
    await apache?.stop();
    dir.remove();
  });

  it('passes apache2 -t, and serves hgweb in daemon mode as www-data', async () => {
    const check = spawnSync('/usr/sbin/apache2', ['-t', '-f', apache!.configFile], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stderr, /Syntax OK/);
    const index = await getIndex(`${apache!.url}/hg`);
    assert.equal(index.status, 200);
    assert.deepEqual(index.repos, ['hg/first'], 'listed under the prefix');
    const users = spawnSync('ps', ['-o', 'user=', '-C', 'apache2'], { encoding: 'utf8' }).stdout;
    assert.ok(spawnSync('pgrep', ['-u', 'www-data', '-f', '^\\(wsgi:hgweb'], { encoding: 'utf8' }).stdout.trim() !== '', `no mod_wsgi daemon process of www-data: ${users}`);
  });

  it('takes a push from an authenticated user, and refuses one without credentials', () => {
    const clone = join(base, 'clone');
    const url = `${apache!.url.replace('http://', 'http://alice:secret@')}/hg/first`;
    assert.equal(hg(['clone', '-q', `${apache!.url}/hg/first`, clone]).status, 0);
    writeFileSync(join(clone, 'f'), 'pushed\n');
    assert.equal(hg(['-R', clone, 'commit', '-q', '-A', '-m', 'pushed', '-u', 'test']).status, 0);
    const anonymous = hg(['-R', clone, 'push', '--config', 'ui.interactive=false', `${apache!.url}/hg/first`]);
    assert.notEqual(anonymous.status, 0, anonymous.stdout);
    assert.match(anonymous.stdout + anonymous.stderr, /authorization|401/i);
    const push = hg(['-R', clone, 'push', url]);
    assert.equal(push.status, 0, `${push.stdout}${push.stderr}\n${apache!.log().slice(-3000)}`);
    assert.equal(hg(['-R', join(base, 'repos/first'), 'log', '-T', '{desc}']).stdout, 'pushed');
  });

  it('doctor finds nothing wrong in it, and names the line of a maximum-requests added to it', () => {
    const apacheFindings = () => {
      const r = runCli(['-c', ini, 'doctor', '--apache-root', join(base, 'apache')]);
      return r.stdout.split('\n').filter((l) => /\bapache\b/.test(l));
    };
    const clean = apacheFindings();
    assert.ok(clean.some((l) => /\bok\b/i.test(l) && /daemon mode on/.test(l)), clean.join('\n'));
    assert.deepEqual(clean.filter((l) => /warn|fail/i.test(l)), [], clean.join('\n'));
    const file = join(base, 'apache/sites-enabled/hgweb.conf');
    const lines = readFileSync(file, 'utf8').split('\n');
    const at = lines.findIndex((l) => /^\s*WSGIDaemonProcess\s/.test(l));
    lines[at] = `${lines[at]} maximum-requests=20`;
    writeFileSync(file, lines.join('\n'));
    const changed = apacheFindings();
    assert.ok(changed.some((l) => /warn/i.test(l) && l.includes(`${file}:${at + 1}`) && l.includes('maximum-requests=20')), changed.join('\n'));
    // Without WSGIApplicationGroup %{GLOBAL} (neither the directive nor the alias's option): the alias's line.
    const alias = lines.findIndex((l) => /^\s*WSGIScriptAlias\s/.test(l));
    writeFileSync(file, lines.filter((l) => !l.includes('WSGIApplicationGroup')).map((l) => l.replace(' application-group=%{GLOBAL}', '')).join('\n'));
    const subInterpreter = apacheFindings();
    assert.ok(subInterpreter.some((l) => /warn/i.test(l) && l.includes(`${file}:${alias}`) && l.includes('sub-interpreter')), subInterpreter.join('\n'));
  });
});
