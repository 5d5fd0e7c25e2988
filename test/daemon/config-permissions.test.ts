/**
 * hgweb.config in a folder the daemon's user may enter but not list (0711, as
 * some keep /etc/hgweb): inotify cannot watch that folder, so the daemon
 * watches the file itself. As the deployment runs: the daemon as an
 * unprivileged user (nobody), the files root's. Each save, by rename (a new
 * file each time), is taken.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, isReload } from '../helpers/daemon-process.js';
import { readPublished } from '../helpers/published.js';
import { makeTempDir } from '../helpers/run.js';
import { idsOf } from '../helpers/users.js';

describe('hgweb.config in a folder the daemon may not list', () => {
  const dir = makeTempDir('hgreload-config-perms-');
  const base = dir.path;
  const etc = join(base, 'etc');
  const config = join(etc, 'hgweb.config');
  const state = join(base, 'state');
  let daemon: DaemonProcess;
  const save = (text: string) => {
    writeFileSync(`${config}.new`, text, { mode: 0o644 });
    renameSync(`${config}.new`, config);
  };

  before(async () => {
    for (const r of ['a/one', 'b/two', 'c/three']) mkdirSync(join(base, r, '.hg'), { recursive: true });
    mkdirSync(etc, { mode: 0o711 });
    chmodSync(etc, 0o711);
    save(`[paths]\na = ${base}/a/*\n`);
    mkdirSync(state);
    const { uid, gid } = idsOf('nobody');
    chownSync(state, uid, gid);
    writeFileSync(join(base, 'hgreload.ini'), `webconf = ${config}\n[reload]\nmethod = publish\nstate = ${state}\ndebounce = 30\n`, { mode: 0o644 });
    daemon = new DaemonProcess(['-c', join(base, 'hgreload.ini')], { user: 'nobody' });
    await daemon.waitFor((l) => l.msg === 'ready', 'ready');
    assert.deepEqual(readPublished(state).map((r) => r.name), ['a/one']);
  });
  after(async () => {
    await daemon.stop();
    dir.remove();
  });

  it('each save is taken, the second too (its file is another one than the first)', async () => {
    let from = daemon.mark;
    save(`[paths]\na = ${base}/a/*\nb = ${base}/b/*\n`);
    await daemon.waitFor((l) => isReload(l) && readPublished(state).some((r) => r.name === 'b/two'), 'b/two published', { from, timeoutMs: 10_000 });
    from = daemon.mark;
    save(`[paths]\nc = ${base}/c/*\n`);
    await daemon.waitFor((l) => isReload(l) && readPublished(state).some((r) => r.name === 'c/three'), 'c/three published', { from, timeoutMs: 10_000 });
    assert.deepEqual(readPublished(state).map((r) => r.name), ['c/three']);
  });
});
