/**
 * The security pass: repository names that would mean something to a shell or
 * an option parser stay plain names; the control channel refuses other users;
 * the daemon writes nowhere but its state folder.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { DaemonStatus } from '../src/daemon/daemon.js';
import { DaemonProcess, isReload } from './helpers/daemon-process.js';
import { makeTempDir, runCli, runOracle } from './helpers/run.js';
import { cloneCommitPush, hgInit } from './helpers/web-site.js';
import { readPublished } from './helpers/published.js';

const NASTY = ["quote'd\"name", '$(touch PWNED)', '`touch PWNED2`', 'semi;touch PWNED3', 'new\nline', '-rf', '--help', 'space name'];

/** Every file below `dir` (except in `skip`) with its mtime. */
function snapshot(dir: string, skip: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (p === skip) continue;
      out.set(relative(dir, p), statSync(p).mtimeMs);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

describe('security', () => {
  const dir = makeTempDir('hgreload-security-');
  const base = dir.path;
  const ini = join(base, 'hgreload.ini');
  const state = join(base, 'state');
  before(() => {
    for (const name of NASTY) hgInit(join(base, 'repos', name));
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/repos/*\n`);
    writeFileSync(ini, 'webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 50\n');
  });
  after(() => dir.remove());

  const noInjection = () => {
    for (const f of ['PWNED', 'PWNED2', 'PWNED3']) {
      assert.equal(existsSync(join(base, f)), false, f);
      assert.equal(existsSync(join(base, 'repos', f)), false, f);
      assert.equal(existsSync(f), false, f);
    }
  };

  it('names with quotes, $(...), backticks, newlines and leading dashes are listed as hgweb lists them', () => {
    const r = runCli(['list', '--json', '-w', join(base, 'hgweb.config')], { cwd: base });
    assert.equal(r.status, 0, r.stderr);
    const hgweb = runOracle(join(base, 'hgweb.config'), { cwd: base });
    assert.ok('repos' in hgweb);
    assert.deepEqual(JSON.parse(r.stdout), hgweb.repos);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, NASTY.length);
    noInjection();
  });

  it('install-hooks, the daemon and a push into such repositories run no shell and no option parser on them', async () => {
    const r = runCli(['-c', ini, 'install-hooks'], { cwd: base });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${NASTY.length} added \\(${NASTY.length} repositories in `, 'm'));
    const daemon = new DaemonProcess(['-c', ini], { cwd: base });
    try {
      await daemon.waitFor((l) => l.msg === 'ready', 'ready');
      const target = join(base, 'repos', '$(touch PWNED)');
      const push = cloneCommitPush(target, join(base, 'clone'), 'x');
      assert.equal(push.status, 0, push.stderr);
      assert.doesNotMatch(push.output, /hgreload: |warning: /, 'the hook reached the daemon');
      const status = JSON.parse(runCli(['-c', ini, 'status', '--json']).stdout) as DaemonStatus;
      assert.equal(status.requests.rescan, 1, 'the hook asked for one rescan');
      const published = { repos: readPublished(state) };
      assert.deepEqual(published.repos.map((x) => x.name).sort(), [...NASTY].sort());
    } finally {
      await daemon.stop();
    }
    noInjection();
  });

  it("the control socket refuses another user, who is told why", async () => {
    const daemon = new DaemonProcess(['-c', ini]);
    try {
      await daemon.waitFor((l) => l.msg === 'ready', 'ready');
      assert.equal(statSync(join(state, 'control.sock')).mode & 0o777, 0o660);
      const r = runCli(['-c', ini, 'status'], { user: 'nobody' });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /cannot reach the daemon at .*control\.sock \(Permission denied\)\n\(only the daemon's user and group may use it/);
    } finally {
      await daemon.stop();
    }
  });

  it('the daemon writes nowhere but its state folder', async () => {
    mkdirSync(state, { recursive: true });
    const before = snapshot(base, state);
    const daemon = new DaemonProcess(['-c', ini]);
    try {
      await daemon.waitFor((l) => l.msg === 'ready', 'ready');
      let from = daemon.mark;
      runCli(['-c', ini, 'touch']);
      await daemon.waitFor((l) => isReload(l), 'a forced reload', { from });
      runCli(['-c', ini, 'status']);
      from = daemon.mark;
      daemon.signal('SIGHUP');
      await daemon.waitFor((l) => l.msg === 'settings reloaded', 'SIGHUP', { from });
    } finally {
      await daemon.stop();
    }
    assert.deepEqual(snapshot(base, state), before);
  });
});
