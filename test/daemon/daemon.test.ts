/**
 * The daemon end to end: the built CLI run as a service on a temp tree, with
 * the publish method (whose served.list shows what hgweb would serve). Each
 * step waits for the daemon's own log line, never for a fixed time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, isReload, type LogLine } from '../helpers/daemon-process.js';
import { makeTempDir, runCli } from '../helpers/run.js';
import { publishedNames } from '../helpers/published.js';

const served = (state: string): string[] =>
  publishedNames(state);
const added = (line: LogLine): string[] => line.added as string[];
const removed = (line: LogLine): string[] => line.removed as string[];
const repo = (path: string) => mkdirSync(join(path, '.hg'), { recursive: true });

describe('hgreload daemon', () => {
  const dir = makeTempDir('hgreload-daemon-');
  const base = dir.path;
  const state = join(base, 'state');
  const conf = join(base, 'hgweb.config');
  const ini = join(base, 'hgreload.ini');
  let daemon: DaemonProcess;

  before(async () => {
    repo(join(base, 'repos/first'));
    writeFileSync(conf, `[paths]\n/ = ${base}/repos/**\nlater = ${base}/later/root/*\n`);
    writeFileSync(ini, `webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 100\n`);
    daemon = new DaemonProcess(['-c', ini]);
    await daemon.waitFor((l) => l.msg === 'ready', 'ready');
  });
  after(async () => {
    await daemon.stop();
    dir.remove();
  });

  it('publishes the list on a first start, and says a configured root is missing', () => {
    assert.equal(daemon.lines.find((l) => l.msg === 'ready')!.catchUp, 'reloaded');
    assert.deepEqual(served(state), ['first']);
    assert.ok(daemon.lines.some((l) => l.level === 'error' && /later\/root does not exist/.test(l.msg)));
  });

  it('sees a repository created with hg init, and one removed', async () => {
    let from = daemon.mark;
    mkdirSync(join(base, 'repos/group'));
    repo(join(base, 'repos/group/new'));
    await daemon.waitFor((l) => isReload(l) && added(l).includes('group/new'), 'group/new added', { from });
    assert.deepEqual(served(state), ['first', 'group/new']);
    from = daemon.mark;
    rmSync(join(base, 'repos/first'), { recursive: true });
    await daemon.waitFor((l) => isReload(l) && removed(l).includes('first'), 'first removed', { from });
    assert.deepEqual(served(state), ['group/new']);
  });

  it('follows a rename', async () => {
    const from = daemon.mark;
    renameSync(join(base, 'repos/group/new'), join(base, 'repos/renamed'));
    const line = await daemon.waitFor((l) => isReload(l) && added(l).includes('renamed'), 'rename', { from });
    assert.deepEqual(removed(line), ['group/new']);
  });

  it('turns a burst of 300 new repositories into one or two reloads', async () => {
    const from = daemon.mark;
    mkdirSync(join(base, 'repos/burst'));
    for (let i = 0; i < 300; i++) repo(join(base, `repos/burst/r${String(i).padStart(3, '0')}`));
    await daemon.waitFor((l) => isReload(l) && (l.repositories as number) === 301, 'all 300 published', { from });
    const reloads = daemon.lines.slice(from).filter(isReload).length;
    assert.ok(reloads <= 2, `${reloads} reloads`);
  });

  it('sees a missing root appear', async () => {
    const from = daemon.mark;
    mkdirSync(join(base, 'later/root/lr'), { recursive: true });
    repo(join(base, 'later/root/lr'));
    await daemon.waitFor((l) => isReload(l) && added(l).includes('later/lr'), 'later/lr', { from });
  });

  it('follows hgweb.config edits, keeps the last good list while it is broken, and recovers', async () => {
    repo(join(base, 'extra/x'));
    let from = daemon.mark;
    appendFileSync(conf, `extra = ${base}/extra/*\n`);
    await daemon.waitFor((l) => isReload(l) && added(l).includes('extra/x'), 'extra/x', { from });
    const good = served(state);

    from = daemon.mark;
    const text = readFileSync(conf, 'utf8');
    writeFileSync(conf, `${text}broken: line\n`);
    await daemon.waitFor((l) => l.level === 'error' && /keeping the last good list/.test(l.msg), 'config error', { from });
    const status = JSON.parse(runCli(['-c', ini, 'status', '--json']).stdout) as { configError: string };
    assert.match(status.configError, /parse error at .*hgweb\.config:\d+: broken: line/);
    assert.deepEqual(served(state), good);

    from = daemon.mark;
    writeFileSync(conf, text.replace(`extra = ${base}/extra/*\n`, ''));
    await daemon.waitFor((l) => isReload(l) && removed(l).includes('extra/x'), 'recovered', { from });
  });

  it('answers status, and reloads on hgreload touch even with no change', async () => {
    const r = runCli(['-c', ini, 'status', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { pid: number; method: string; repositories: number; watches: { folders: number } };
    assert.equal(s.pid, daemon.pid);
    assert.equal(s.method, 'publish');
    assert.equal(s.repositories, served(state).length);
    assert.ok(s.watches.folders >= 3);
    assert.match(runCli(['-c', ini, 'status']).stdout, /repositories {2}\d+/);

    const from = daemon.mark;
    const t = runCli(['-c', ini, 'touch']);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /queued in the running daemon/);
    await daemon.waitFor((l) => isReload(l) && (l.reasons as string[]).includes('hgreload touch'), 'touch reload', { from });
  });

  it('keeps its settings when SIGHUP finds the file broken, and takes them when it is fixed', async () => {
    const good = readFileSync(ini, 'utf8');
    let from = daemon.mark;
    writeFileSync(ini, `${good}[reload]\nmethd = touch\n`);
    daemon.signal('SIGHUP');
    await daemon.waitFor((l) => l.level === 'error' && /settings not reloaded/.test(l.msg), 'SIGHUP refused', { from });
    from = daemon.mark;
    writeFileSync(ini, good.replace('debounce = 100', 'debounce = 50'));
    daemon.signal('SIGHUP');
    await daemon.waitFor((l) => l.msg === 'settings reloaded', 'SIGHUP taken', { from });
  });

  it('stops on SIGTERM with status 0; a restart reloads only if the list changed meanwhile', async () => {
    assert.equal(await daemon.stop(), 0);
    assert.equal(runCli(['-c', ini, 'status']).status, 1, 'no daemon answers after the stop');

    repo(join(base, 'repos/while-down'));
    daemon = new DaemonProcess(['-c', ini]);
    let ready = await daemon.waitFor((l) => l.msg === 'ready', 'ready after restart');
    assert.equal(ready.catchUp, 'reloaded');
    assert.ok(served(state).includes('while-down'));
    assert.equal(await daemon.stop(), 0);

    daemon = new DaemonProcess(['-c', ini]);
    ready = await daemon.waitFor((l) => l.msg === 'ready', 'ready after second restart');
    assert.equal(ready.catchUp, 'unchanged since the last reload');
    assert.equal(daemon.lines.filter(isReload).length, 0);
  });
});
