/**
 * A file system mounted over a watched folder, and unmounted again: a mount
 * makes no inotify event, and the watch stays on the folder it covers. The
 * daemon must see the mount itself, watch the mounted folder afresh (so that
 * a repository made in it later is seen at once), and see the unmount; the
 * published list then equals hgwebdir's. A tmpfs: a local file system, so
 * nothing polls it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type DaemonProcess, isReload, publishingDaemon } from '../helpers/daemon-process.js';
import { assertPublishedIsHgweb, readPublished } from '../helpers/published.js';
import { makeTempDir, runCli } from '../helpers/run.js';
import type { DaemonStatus } from '../../src/daemon/daemon.js';

const mount = (...args: string[]): void => {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
};

describe('a file system mounted over a watched folder', () => {
  const dir = makeTempDir('hgreload-mounts-');
  const base = dir.path;
  const root = join(base, 'root');
  const covered = join(root, 'group');
  const state = join(base, 'state');
  let daemon: DaemonProcess;
  let mounted = false;

  before(async () => {
    mkdirSync(join(covered, 'beneath/.hg'), { recursive: true });
    daemon = await publishingDaemon(base, `/ = ${root}/**`, { debug: true });
    assert.deepEqual(readPublished(state).map((r) => r.name), ['group/beneath']);
  });
  after(async () => {
    if (mounted) spawnSync('umount', [covered]);
    await daemon.stop();
    dir.remove();
  });

  const status = (): DaemonStatus => JSON.parse(runCli(['-c', join(base, 'hgreload.ini'), 'status', '--json']).stdout) as DaemonStatus;
  const publishedEqualsHgweb = () => assertPublishedIsHgweb(state, join(base, 'hgweb.config'), base);
  const published = (name: string, from: number) =>
    daemon.waitFor((l) => isReload(l) && readPublished(state).some((r) => r.name === name), `${name} published`, { from, timeoutMs: 10_000 });

  it('seen mounted, and a repository made in it later is seen at once', async () => {
    let from = daemon.mark;
    mount('mount', '-t', 'tmpfs', 'tmpfs', covered);
    mounted = true;
    mkdirSync(join(covered, 'first/.hg'), { recursive: true });
    await published('group/first', from);
    publishedEqualsHgweb();
    from = daemon.mark;
    mkdirSync(join(covered, 'second/.hg'), { recursive: true });
    await published('group/second', from);
    publishedEqualsHgweb();
  });

  it('a mount elsewhere on the host walks nothing', async () => {
    const elsewhere = join(base, 'elsewhere');
    mkdirSync(elsewhere);
    const walks = status().walks;
    const from = daemon.mark;
    mount('mount', '-t', 'tmpfs', 'tmpfs', elsewhere);
    try {
      await daemon.waitFor((l) => l.msg === 'file systems mounted or unmounted where nothing is watched' && JSON.stringify(l.points).includes(elsewhere), 'the mount seen', { from, timeoutMs: 10_000 });
    } finally {
      mount('umount', elsewhere);
    }
    assert.equal(status().walks, walks);
  });

  it('seen unmounted: what it covered is served again', async () => {
    const from = daemon.mark;
    mount('umount', covered);
    mounted = false;
    await published('group/beneath', from);
    publishedEqualsHgweb();
  });
});
