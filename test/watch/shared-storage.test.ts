/**
 * One store seen through two mounts, as two hosts see one NFS export: bindfs
 * (FUSE) mounts the same folder twice, and inotify on mount B does not see
 * what is done through mount A. The daemon watching through B polls the
 * folders there ([watch] poll = auto, FUSE), and so sees a repository made or
 * removed through A; with polling off it does not (a cookie repository made
 * through B is the barrier that shows it). The polled folder holds enough
 * repositories for the daemon to keep its names in the addon between polls
 * (KEEP_TABLE_FROM), so that each poll after the first compares with a table
 * the changes before it kept up to date.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { DaemonProcess, isReload, type LogLine } from '../helpers/daemon-process.js';
import { makeTempDir, runCli } from '../helpers/run.js';
import { KEEP_TABLE_FROM } from '../../src/discovery/dir-reader.js';

const repo = (path: string) => mkdirSync(join(path, '.hg'), { recursive: true });
const added = (l: LogLine) => l.added as string[];

describe('a store shared through two mounts (bindfs)', () => {
  const dir = makeTempDir('hgreload-shared-');
  const base = dir.path;
  const mountA = join(base, 'host-a');
  const mountB = join(base, 'host-b');
  const daemons: DaemonProcess[] = [];

  before(() => {
    mkdirSync(join(base, 'store/repos'), { recursive: true });
    for (const m of [mountA, mountB]) {
      mkdirSync(m);
      const r = spawnSync('bindfs', [join(base, 'store'), m], { encoding: 'utf8' });
      assert.equal(r.status, 0, `bindfs: ${r.stderr}`);
    }
    repo(join(mountA, 'repos/first'));
    // Made in the store itself, before any daemon: only the names matter.
    for (let i = 0; i < KEEP_TABLE_FROM; i++) repo(join(base, 'store/repos', `r${i}`));
  });
  after(async () => {
    for (const d of daemons) await d.stop();
    for (const m of [mountA, mountB]) spawnSync('fusermount', ['-u', m]);
    dir.remove();
  });

  const start = async (name: string, poll: string) => {
    writeFileSync(join(base, `${name}.config`), `[paths]\n/ = ${mountB}/repos/*\n`);
    const ini = join(base, `${name}.ini`);
    writeFileSync(ini, `webconf = ${name}.config\n[reload]\nmethod = publish\nstate = ${name}-state\ndebounce = 50\n[watch]\npoll = ${poll}\npoll_interval = 300\n`);
    const d = new DaemonProcess(['-c', ini]);
    daemons.push(d);
    await d.waitFor((l) => l.msg === 'ready', 'ready');
    return { d, status: () => JSON.parse(runCli(['-c', ini, 'status', '--json']).stdout) as DaemonStatus };
  };

  it('polled: a repository made or removed through the other mount arrives, and status says why it polls', async () => {
    const { d, status } = await start('polled', 'auto');
    const polling = status().polling;
    assert.deepEqual(polling.fileSystems, ['FUSE']);
    assert.equal(polling.folders, 1);
    assert.ok(d.lines.some((l) => /^polling 1 folders every 300 ms \(on FUSE: inotify there does not see what other hosts change\)/.test(l.msg)));
    let from = d.mark;
    repo(join(mountA, 'repos/made-on-a'));
    await d.waitFor((l) => isReload(l) && added(l).includes('made-on-a'), 'the repository made through A', { from });
    from = d.mark;
    rmSync(join(mountA, 'repos/made-on-a'), { recursive: true });
    await d.waitFor((l) => isReload(l) && (l.removed as string[]).includes('made-on-a'), 'its removal through A', { from });
    // A name the kept table held from the start, gone and then made again: found again only if the
    // removal was taken out of the table (else the table and the folder agree, and nothing is looked at).
    from = d.mark;
    rmSync(join(mountA, 'repos/r7'), { recursive: true });
    await d.waitFor((l) => isReload(l) && (l.removed as string[]).includes('r7'), 'r7 removed through A', { from });
    from = d.mark;
    repo(join(mountA, 'repos/r7'));
    await d.waitFor((l) => isReload(l) && added(l).includes('r7'), 'r7 made again through A', { from });
    assert.ok(typeof status().polling.lastPollMs === 'number');
  });

  it('not polled: inotify through B never hears of a repository made through A', async () => {
    const { d, status } = await start('blind', 'never');
    assert.equal(status().polling.folders, 0);
    const from = d.mark;
    repo(join(mountA, 'repos/unseen'));
    repo(join(mountB, 'repos/cookie'));
    const cookie = await d.waitFor((l) => isReload(l) && added(l).includes('cookie'), 'the cookie made through B', { from });
    // The cookie's rescan walks and so finds the other one too; what matters is that only B's own change woke it.
    assert.deepEqual(cookie.reasons, [`${join(mountB, 'repos')}/cookie`]);
  });
});
