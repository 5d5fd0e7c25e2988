/** `hgreload doctor` on deployments made whole and broken on purpose, one fault at a time. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookReports } from '../../src/doctor/checks.js';
import type { Finding } from '../../src/doctor/finding.js';
import { DaemonProcess } from '../helpers/daemon-process.js';
import { makeTempDir, runCli } from '../helpers/run.js';

describe('hgreload doctor', () => {
  const dir = makeTempDir('hgreload-doctor-');
  const base = dir.path;
  const apacheRoot = join(base, 'apache2');
  let n = 0;

  /** A deployment in its own folder: settings lines for [reload], hgweb.config text, Apache site text. */
  function deployment(reload: string, hgweb = `[web]\nrefreshinterval = 86400\n[paths]\n/ = ${base}/repos/*\n`, site?: string) {
    const here = join(base, `d${n++}`);
    mkdirSync(join(here, 'apache2/sites-enabled'), { recursive: true });
    writeFileSync(join(here, 'hgweb.config'), hgweb);
    writeFileSync(join(here, 'hgreload.ini'), `webconf = hgweb.config\n[reload]\nstate = state\n${reload}\n`);
    writeFileSync(join(here, 'hgweb.wsgi'), runCli(['-c', join(here, 'hgreload.ini'), 'wsgi']).stdout);
    if (site !== undefined) writeFileSync(join(here, 'apache2/sites-enabled/hg.conf'), site.replaceAll('HERE', here));
    const doctor = (...extra: string[]) => runCli(['-c', join(here, 'hgreload.ini'), 'doctor', '--apache-root', join(here, 'apache2'), ...extra]);
    return { here, doctor, findings: () => JSON.parse(doctor('--json').stdout) as Finding[] };
  }
  const daemonSite = 'WSGIDaemonProcess hg processes=2 threads=4\nWSGIProcessGroup hg\nWSGIScriptAlias / HERE/hgweb.wsgi\n';

  before(() => {
    mkdirSync(join(base, 'repos/a/.hg'), { recursive: true });
    mkdirSync(apacheRoot);
  });
  after(() => dir.remove());

  it('hooks: a system-wide hook covers every served repository; per repository is counted; both at once are a warning', () => {
    const d = deployment('method = publish');
    const ini = join(d.here, 'hgreload.ini');
    const hgrcd = join(d.here, 'hgrc.d');
    mkdirSync(hgrcd);
    // Mercurial's system-wide configuration is what HGRCPATH names: a folder of the test's, not /etc.
    const hooks = () => (JSON.parse(runCli(['-c', ini, 'doctor', '--apache-root', join(d.here, 'apache2'), '--json'], { env: { HGRCPATH: hgrcd } }).stdout) as Finding[]).find((f) => f.check === 'hooks')!;
    assert.match(hooks().message, /^installed per repository: 0 of 1 served repositories have the hgreload hook/);
    assert.equal(runCli(['-c', ini, 'install-hooks', '--system', '--system-file', join(hgrcd, 'hgreload.rc')]).status, 0);
    let found = hooks();
    assert.equal(found.level, 'ok');
    assert.match(found.message, /^installed system-wide \(system-wide hook in .*hgrc\.d\/hgreload\.rc:\d+\): all 1 served repositories/);
    assert.equal(runCli(['-c', ini, 'install-hooks']).status, 0);
    found = hooks();
    assert.equal(found.level, 'warn');
    assert.match(found.message, /1 also have it in their own hgrc, so their pushes run it twice/);
    runCli(['-c', ini, 'install-hooks', '--uninstall']);
  });

  it('a whole deployment: nothing broken, exit 0, and the daemon found', async () => {
    const d = deployment('method = publish', undefined, daemonSite);
    const daemon = new DaemonProcess(['-c', join(d.here, 'hgreload.ini')]);
    try {
      await daemon.waitFor((l) => l.msg === 'ready', 'ready');
      const r = d.doctor();
      assert.equal(r.status, 0, r.stdout);
      assert.match(r.stdout, /^ok {4}daemon +pid \d+, 1 repositories/m);
      assert.match(r.stdout, /^ok {4}method publish/m);
      assert.match(r.stdout, /^0 broken/m);
      assert.doesNotMatch(r.stdout, /^FAIL/m);
    } finally {
      await daemon.stop();
    }
  });

  it("a root the daemon cannot walk now: doctor says the daemon serves that root's last good list", async () => {
    const d = deployment('method = publish', `[web]\nrefreshinterval = 86400\n[paths]\n/ = ${base}/going/*\n`, daemonSite);
    mkdirSync(join(base, 'going/r/.hg'), { recursive: true });
    const daemon = new DaemonProcess(['-c', join(d.here, 'hgreload.ini')]);
    try {
      await daemon.waitFor((l) => l.msg === 'ready', 'ready');
      const from = daemon.mark;
      rmSync(join(base, 'going'), { recursive: true });
      await daemon.waitFor((l) => l.level === 'error' && /going does not exist/.test(l.msg), 'the root reported', { from });
      const kept = d.findings().find((x) => x.check === 'daemon' && x.level === 'warn');
      assert.match(kept?.message ?? '', /root .*going: .*does not exist; the daemon serves its last good list \(1 repositories\)/);
    } finally {
      await daemon.stop();
    }
  });

  it('a missing root is broken: it names the root and what hgweb does', () => {
    const d = deployment('method = publish', `[web]\nrefreshinterval = 86400\n[paths]\n/ = ${base}/nothere/*\n`);
    const r = d.doctor();
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^FAIL {2}roots +.*nothere does not exist\n.*fix: hgweb fails every request until this is fixed/m);
  });

  it('a settings file with a typo is broken, and nothing else is guessed', () => {
    const d = deployment('methd = touch');
    const f = d.findings();
    assert.deepEqual(f.map((x) => [x.check, x.level]), [['settings', 'fail']]);
    assert.match(f[0]!.message, /unknown setting "methd"/);
    assert.equal(d.doctor().status, 1);
  });

  it('signal with a stale pidfile is broken', async () => {
    const child = spawn('/bin/true');
    await once(child, 'exit');
    const d = deployment(`method = signal\npidfile = server.pid`);
    writeFileSync(join(d.here, 'server.pid'), String(child.pid));
    const f = d.findings().find((x) => x.check === 'method signal')!;
    assert.equal(f.level, 'fail');
    assert.match(f.message, /stale pidfile .*no process \d+ is running/);
  });

  it('touch with mod_wsgi embedded, or WSGIScriptReloading Off, is broken', () => {
    let d = deployment('method = touch\nwsgi = hgweb.wsgi', undefined, 'WSGIScriptAlias / HERE/hgweb.wsgi\n');
    assert.match(JSON.stringify(d.findings()), /embedded.*touching the script restarts nothing/);
    d = deployment('method = touch\nwsgi = hgweb.wsgi', undefined, `${daemonSite}WSGIScriptReloading Off\n`);
    assert.match(JSON.stringify(d.findings()), /WSGIScriptReloading Off/);
    assert.equal(d.doctor().status, 1);
  });

  it("warns of hgweb's own polling, maximum-requests and an unprotected WSGI script, without failing", () => {
    const d = deployment('method = command\ncommand = /bin/true', `[paths]\n/ = ${base}/repos/*\n`, 'WSGIDaemonProcess hg processes=2 maximum-requests=1000\nWSGIProcessGroup hg\nWSGIScriptAlias / HERE/plain.wsgi\n');
    writeFileSync(join(d.here, 'plain.wsgi'), 'config = b"/x"\nfrom mercurial.hgweb import hgweb\napplication = hgweb(config)\n');
    const r = d.doctor();
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /^warn {2}refreshinterval +\[web\] refreshinterval = 20/m);
    assert.match(r.stdout, /^warn {2}apache +.*maximum-requests=1000 recycles processes/m);
    assert.match(r.stdout, /^warn {2}apache +.*plain\.wsgi .* without a plain stderr: .* fails the request with 500\n.*fix: replace it with the script hgreload prints/m);
  });

  it("checks what the daemon's user may do (--user, or the unit's User=), not doctor's own", async () => {
    const d = deployment('method = publish', undefined, daemonSite);
    mkdirSync(join(d.here, 'state'), { mode: 0o755 });
    let f = JSON.parse(d.doctor('--json', '--user', 'nobody').stdout) as Finding[];
    const publish = f.find((x) => x.check === 'method publish')!;
    assert.equal(publish.level, 'fail');
    assert.match(publish.message, /nobody may not write the state folder .*state \(refused at .*state\)/);
    assert.match(f.find((x) => x.check === 'daemon user')!.message, /runs as nobody .*from --user/);
    // The same user named by an installed unit.
    writeFileSync(join(d.here, 'hgreload.service'), '[Service]\nUser=nobody\nGroup=nogroup\nExecStart=/usr/local/bin/hgreload daemon\n');
    f = JSON.parse(d.doctor('--json', '--unit', join(d.here, 'hgreload.service')).stdout) as Finding[];
    assert.match(f.find((x) => x.check === 'daemon user')!.message, /runs as nobody .*hgreload\.service/);
    assert.equal(f.find((x) => x.check === 'method publish')!.level, 'fail');
    chownSync(join(d.here, 'state'), Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout), -1);
    f = JSON.parse(d.doctor('--json', '--user', 'nobody').stdout) as Finding[];
    assert.notEqual(f.find((x) => x.check === 'method publish')!.level, 'fail');
  });

  it('the WSGI script must read what the daemon publishes, and the web server must be able to read it', () => {
    const d = deployment('method = publish', undefined, daemonSite);
    mkdirSync(join(d.here, 'state'), { mode: 0o700 });
    writeFileSync(join(d.here, 'state/served.list'), '{"format": 3, "generation": "g", "repos": 0}\n');
    let f = d.findings();
    assert.equal(f.find((x) => x.check === 'wsgi script')!.level, 'ok');
    const reads = f.find((x) => x.check === 'web server reads')!;
    assert.equal(reads.level, 'fail');
    assert.match(reads.message, /www-data may not read .*state\/served\.list \(refused at .*state\)/);
    chmodSync(join(d.here, 'state'), 0o755);
    assert.equal(d.findings().find((x) => x.check === 'web server reads')!.level, 'ok');
    // A script written for other settings (another state folder) serves a list no one updates.
    writeFileSync(join(d.here, 'other.ini'), `webconf = hgweb.config\n[reload]\nmethod = publish\nstate = elsewhere\n`);
    writeFileSync(join(d.here, 'hgweb.wsgi'), runCli(['-c', join(d.here, 'other.ini'), 'wsgi']).stdout);
    f = d.findings();
    const script = f.find((x) => x.check === 'wsgi script')!;
    assert.equal(script.level, 'fail');
    assert.match(script.message, /hgweb\.wsgi .* reads ".*elsewhere\/served\.list", but this deployment needs ".*state\/served\.list"/);
    assert.match(script.fix ?? '', /hgreload wsgi > .*hgweb\.wsgi/);
  });

  it("reports the pushes whose hook could not reach the daemon, from the hook's syslog lines", () => {
    assert.equal(hookReports(undefined).level, 'info');
    assert.equal(hookReports([]).level, 'ok');
    const f = hookReports([
      'cannot reach the daemon at /var/lib/hgreload/control.sock after a push to /srv/hg/a (Permission denied); the next scheduled rescan will see it',
      'cannot reach the daemon at /var/lib/hgreload/control.sock after a push to /srv/hg/b (Connection refused); the next scheduled rescan will see it',
    ]);
    assert.equal(f.level, 'warn');
    assert.match(f.message, /^2 push\(es\) in the last day could not tell the daemon; the latest: .*\/srv\/hg\/b \(Connection refused\)/);
  });

  it("the metrics file's folder must be the daemon's to write", () => {
    const d = deployment(`method = publish\n[metrics]\nfile = ${base}/node-exporter/hgreload.prom`);
    mkdirSync(join(base, 'node-exporter'), { recursive: true, mode: 0o755 });
    let f = JSON.parse(d.doctor('--json', '--user', 'nobody').stdout) as Finding[];
    const metrics = f.find((x) => x.check === 'metrics')!;
    assert.equal(metrics.level, 'fail');
    assert.match(metrics.message, /nobody may not write .*hgreload\.prom \(refused at .*node-exporter\)/);
    assert.match(metrics.fix ?? '', /ReadWritePaths=.*node-exporter/);
    f = d.findings();
    assert.equal(f.find((x) => x.check === 'metrics')!.level, 'ok');
  });
});
