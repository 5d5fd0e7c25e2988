/**
 * Faults the daemon survives, each from the outside, through the built CLI:
 * a root deleted and made again, a SIGKILL and a restart, a symlink loop,
 * thousands of events at once, and folders it may not read.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, isReload, type LogLine } from '../helpers/daemon-process.js';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { makeTempDir, runCli, runOracle } from '../helpers/run.js';
import { publishedNames } from '../helpers/published.js';

const served = (state: string): string[] =>
  publishedNames(state);
const repo = (path: string) => mkdirSync(join(path, '.hg'), { recursive: true });
const added = (l: LogLine) => l.added as string[];

function site(prefix: string) {
  const dir = makeTempDir(prefix);
  const base = dir.path;
  const ini = join(base, 'hgreload.ini');
  writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/root/**\n`);
  writeFileSync(ini, 'webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 50\n');
  return { dir, base, ini, state: join(base, 'state') };
}

describe('the daemon survives', () => {
  const daemons: DaemonProcess[] = [];
  const dirs: Array<{ remove: () => void }> = [];
  const start = async (ini: string, user?: string) => {
    const d = new DaemonProcess(['-c', ini], user === undefined ? {} : { user });
    daemons.push(d);
    await d.waitFor((l) => l.msg === 'ready', 'ready');
    return d;
  };
  after(async () => {
    for (const d of daemons) await d.stop();
    for (const d of dirs) d.remove();
  });

  it('a root deleted (or unmounted) keeps its last good list, and made again serves what it holds', async () => {
    const s = site('hgreload-survive-root-');
    dirs.push(s.dir);
    repo(join(s.base, 'root/a'));
    const d = await start(s.ini);
    let from = d.mark;
    rmSync(join(s.base, 'root'), { recursive: true });
    const reported = await d.waitFor((l) => l.level === 'error' && /root .*root does not exist/.test(l.msg), 'the missing root reported', { from });
    assert.match(reported.msg, /keeping its last good list \(1 repositories\)/);
    const status = JSON.parse(runCli(['-c', s.ini, 'status', '--json']).stdout) as DaemonStatus;
    assert.equal(status.roots[0]?.kept, 1);
    assert.match(status.roots[0]?.error ?? '', /does not exist/);
    assert.deepEqual(served(s.state), ['a']);
    from = d.mark;
    repo(join(s.base, 'root/b'));
    const back = await d.waitFor((l) => isReload(l) && added(l).includes('b'), 'the root back with b', { from });
    assert.deepEqual(back.removed, ['a']);
    assert.deepEqual(served(s.state), ['b']);
    assert.ok(d.lines.some((l) => /walked well again/.test(String(l.msg))), 'the mend is logged');
  });

  it('a SIGKILL: the restart removes the stale socket and catches up', async () => {
    const s = site('hgreload-survive-kill-');
    dirs.push(s.dir);
    repo(join(s.base, 'root/a'));
    const first = await start(s.ini);
    first.signal('SIGKILL');
    await first.exited;
    assert.ok(existsSync(join(s.state, 'control.sock')), 'the socket file was left behind');
    repo(join(s.base, 'root/made-while-down'));
    const second = await start(s.ini);
    assert.equal(second.lines.find((l) => l.msg === 'ready')!.catchUp, 'reloaded');
    assert.deepEqual(served(s.state), ['a', 'made-while-down']);
  });

  it('a symlink loop in the tree, and thousands of events at once', async () => {
    const s = site('hgreload-survive-loop-');
    dirs.push(s.dir);
    repo(join(s.base, 'root/a'));
    symlinkSync('.', join(s.base, 'root/loop'));
    symlinkSync('../root', join(s.base, 'root/a-up'));
    const d = await start(s.ini);
    const hgweb = runOracle(join(s.base, 'hgweb.config'), { cwd: s.base });
    assert.ok('repos' in hgweb);
    assert.deepEqual(served(s.state), hgweb.repos.map((r) => r.name), 'what hgweb serves, loops and all');
    const from = d.mark;
    const burstStarted = Date.now();
    mkdirSync(join(s.base, 'root/many'));
    for (let i = 0; i < 3000; i++) repo(join(s.base, `root/many/r${i}`));
    const burstMs = Date.now() - burstStarted;
    await d.waitFor((l) => isReload(l) && (l.repositories as number) >= 3001, 'all 3000 served', { from });
    const reloads = d.lines.slice(from).filter(isReload).length;
    // One or two for a burst, and one more per longest wait (debounce 50 ms: 1 s) that a slow,
    // loaded machine takes to make it: a burst that never goes quiet still reloads that often.
    const allowed = 2 + Math.floor(burstMs / 1000);
    assert.ok(reloads <= allowed, `${reloads} reloads for 3000 new repositories made in ${burstMs} ms (at most ${allowed})`);
  });

  it("folders it may not read: skipped as hgweb skips them, and a walk hgweb cannot do is reported, not fatal", async () => {
    const s = site('hgreload-survive-perms-');
    dirs.push(s.dir);
    repo(join(s.base, 'root/ok'));
    repo(join(s.base, 'root/locked/r'));
    chmodSync(join(s.base, 'root/locked'), 0o000);
    mkdirSync(s.state);
    const ids = ['-u', '-g'].map((f) => spawnSync('id', [f, 'nobody'], { encoding: 'utf8' }).stdout.trim());
    spawnSync('chown', [`${ids[0]}:${ids[1]}`, s.state]);
    const d = await start(s.ini, 'nobody');
    assert.deepEqual(served(s.state), ['ok']);
    // A readable but not searchable folder holding a folder: hgweb's walk fails on it (every request fails).
    const from = d.mark;
    repo(join(s.base, 'root/noexec/inner'));
    chmodSync(join(s.base, 'root/noexec'), 0o644);
    const reported = await d.waitFor((l) => l.level === 'error' && /cannot read .*noexec\/inner \(Permission denied\)/.test(l.msg), 'the failing walk reported', { from });
    assert.equal(d.lines.some((l) => l.level === 'fatal'), false);
    // hgweb would now fail every request of this root; the daemon keeps serving its last good list.
    assert.match(reported.msg, /keeping its last good list \(1 repositories\)/);
    assert.deepEqual(served(s.state), ['ok']);
    // Logged once: another change while it still fails says nothing new.
    repo(join(s.base, 'root/ok2'));
    chmodSync(join(s.base, 'root/noexec'), 0o755);
    const mended = await d.waitFor((l) => isReload(l) && added(l).includes('ok2'), 'the mended walk', { from });
    assert.deepEqual(added(mended).sort(), ['noexec/inner', 'ok2']);
    assert.equal(d.lines.slice(from).filter((l) => /noexec\/inner \(Permission denied\)/.test(String(l.msg))).length, 1, 'reported once');
    chmodSync(join(s.base, 'root/locked'), 0o755);
  });
});
