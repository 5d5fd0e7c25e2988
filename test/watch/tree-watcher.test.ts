/**
 * The tree watcher on real folders: events are awaited with a timeout, and
 * "nothing was reported" is proved with a cookie file written after the change
 * (its event arriving first-and-only means the earlier change made none).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HgreloadError } from '../../src/errors.js';
import { TreeWatcher, type TreeEvent } from '../../src/watch/tree-watcher.js';
import { Recorder } from '../helpers/recorder.js';
import { makeTempDir } from '../helpers/run.js';

describe('TreeWatcher', () => {
  const dir = makeTempDir('hgreload-watch-');
  const watchers: TreeWatcher[] = [];
  after(() => {
    for (const w of watchers) w.close();
    dir.remove();
  });

  it('reports a folder created in a watched folder, and nothing from deeper down', async () => {
    const root = join(dir.path, 'a');
    mkdirSync(join(root, 'sub'), { recursive: true });
    const r = new Recorder<TreeEvent>();
    const w = new TreeWatcher({ onChange: r.push, onError: () => {} });
    watchers.push(w);
    assert.deepEqual(w.update([], [root]), [root]);
    mkdirSync(join(root, 'new'));
    await r.waitFor((e) => e.name === 'new', 'the new folder');
    mkdirSync(join(root, 'sub/deeper'));
    writeFileSync(join(root, 'cookie'), '');
    await r.waitFor((e) => e.name === 'cookie', 'the cookie');
    assert.ok(!r.items.some((e) => e.name?.includes('deeper')), JSON.stringify(r.items));
  });

  it('update() stops watching the folders removed', async () => {
    const [x, y] = [join(dir.path, 'x'), join(dir.path, 'y')];
    mkdirSync(x);
    mkdirSync(y);
    const r = new Recorder<TreeEvent>();
    const w = new TreeWatcher({ onChange: r.push, onError: () => {} });
    watchers.push(w);
    w.update([], [x]);
    assert.deepEqual(w.update([x], [y]), [y]);
    assert.equal(w.count, 1);
    mkdirSync(join(x, 'ignored'));
    mkdirSync(join(y, 'cookie'));
    await r.waitFor((e) => e.name === 'cookie', 'the cookie');
    assert.ok(!r.items.some((e) => e.folder === x));
  });

  it('forgets a watched folder that was removed, so that one made again at its path is watched anew', async () => {
    const gone = join(dir.path, 'removed');
    mkdirSync(gone);
    const r = new Recorder<TreeEvent>();
    const w = new TreeWatcher({ onChange: r.push, onError: () => {} });
    watchers.push(w);
    w.update([], [gone]);
    rmSync(gone, { recursive: true });
    await r.waitFor((e) => e.folder === gone && e.name === 'removed', 'the removal of the folder itself');
    assert.equal(w.has(gone), false);
    mkdirSync(gone);
    assert.deepEqual(w.update([], [gone]), [gone], 'watched anew');
    mkdirSync(join(gone, 'new'));
    await r.waitFor((e) => e.folder === gone && e.name === 'new', 'an event from the folder made again');
    // A child named like its folder, removed, is not the folder.
    mkdirSync(join(gone, 'removed'));
    rmSync(join(gone, 'removed'), { recursive: true });
    writeFileSync(join(gone, 'cookie'), '');
    await r.waitFor((e) => e.name === 'cookie', 'the cookie');
    assert.equal(w.has(gone), true);
    // Removed and made again before its event is read: watched again at once.
    const from = r.items.length;
    rmSync(gone, { recursive: true });
    mkdirSync(gone);
    await r.waitFor((e) => e.folder === gone && e.name === 'removed', 'the removal', { from });
    mkdirSync(join(gone, 'after'));
    await r.waitFor((e) => e.folder === gone && e.name === 'after', 'an event from the folder made again', { from });
  });

  it('skips a folder that vanished since the walk', () => {
    const w = new TreeWatcher({ onChange: () => {}, onError: () => {} });
    watchers.push(w);
    assert.deepEqual(w.update([], [join(dir.path, 'gone')]), []);
  });

  it('turns the inotify limit into an error naming the sysctl', () => {
    const enospc = () => {
      throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    };
    const w = new TreeWatcher({ onChange: () => {}, onError: () => {}, watch: enospc as never });
    assert.throws(
      () => w.update([], [dir.path]),
      (err: unknown) => err instanceof HgreloadError && err.code === 'watch-limit' && /max_user_watches/.test(err.format()) && /sysctl/.test(err.hint ?? ''),
    );
  });
});
