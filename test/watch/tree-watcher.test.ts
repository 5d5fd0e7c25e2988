/**
 * The tree watcher on real folders, both ways (the inotify addon, and Node's
 * fs.watch where the addon is not built): events are awaited with a timeout,
 * and "nothing was reported" is proved with a cookie file written after the
 * change (its event arriving first-and-only means the earlier change made
 * none).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HgreloadError } from '../../src/errors.js';
import { TreeWatcher as Watcher, type TreeEvent, type TreeWatcherOptions, type WatchWay } from '../../src/watch/tree-watcher.js';
import { Recorder } from '../helpers/recorder.js';
import { makeTempDir } from '../helpers/run.js';

for (const way of ['inotify', 'fs.watch'] as const satisfies readonly WatchWay[]) describe(`TreeWatcher through ${way}`, () => {
  const dir = makeTempDir('hgreload-watch-');
  const watchers: Watcher[] = [];
  after(() => {
    for (const w of watchers) w.close();
    dir.remove();
  });
  const TreeWatcher = class extends Watcher {
    constructor(options: TreeWatcherOptions) {
      super({ way, ...options });
    }
  };

  it('is the way asked for (npm install builds the addon: a machine that cannot fails here)', () => {
    const w = new TreeWatcher({ onChange: () => {}, onError: () => {} });
    watchers.push(w);
    assert.equal(w.way.name, way);
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

  it('with a stamp check, names the folders watched that changed since the time given', () => {
    const [still, changed, gone] = ['still', 'changed', 'check-gone'].map((name) => join(dir.path, name));
    mkdirSync(still);
    mkdirSync(changed);
    // The check's time: after both were made. A change is then made in one, once the clock stamps past that time.
    const since = Math.max(statSync(still).ctimeMs, statSync(changed).ctimeMs) + 0.001;
    while (statSync(changed).mtimeMs < since) {
      mkdirSync(join(changed, 'new'));
      rmSync(join(changed, 'new'), { recursive: true });
    }
    const w = new TreeWatcher({ onChange: () => {}, onError: () => {} });
    watchers.push(w);
    const check = { ms: since, changed: [] as string[] };
    assert.deepEqual(w.update([], [still, changed, gone], check), [still, changed]);
    assert.deepEqual(check.changed, [changed], 'the folder changed, not the one still, nor the one not there to watch');
  });

  it('skips a folder that vanished since the walk', () => {
    const w = new TreeWatcher({ onChange: () => {}, onError: () => {} });
    watchers.push(w);
    assert.deepEqual(w.update([], [join(dir.path, 'gone')]), []);
  });
});

describe('TreeWatcher through inotify', () => {
  const dir = makeTempDir('hgreload-inotify-');
  const watchers: Watcher[] = [];
  after(() => {
    for (const w of watchers) w.close();
    dir.remove();
  });
  const watcher = (options: Partial<TreeWatcherOptions> & Pick<TreeWatcherOptions, 'onChange'>): Watcher => {
    const w = new Watcher({ way: 'inotify', onError: () => {}, ...options });
    watchers.push(w);
    return w;
  };

  it('reports a folder reached by two paths under each, and keeps one when the other is dropped', async () => {
    const real = join(dir.path, 'real');
    const link = join(dir.path, 'link');
    mkdirSync(real);
    symlinkSync(real, link);
    const r = new Recorder<TreeEvent>();
    const w = watcher({ onChange: r.push });
    assert.deepEqual(w.update([], [real, link]), [real, link]);
    mkdirSync(join(real, 'one'));
    await r.waitFor((e) => e.folder === real && e.name === 'one', 'the event under the real path');
    await r.waitFor((e) => e.folder === link && e.name === 'one', 'the event under the link');
    w.update([link], []);
    const from = r.items.length;
    mkdirSync(join(real, 'two'));
    await r.waitFor((e) => e.folder === real && e.name === 'two', 'the event under the real path, the link dropped', { from });
    writeFileSync(join(real, 'cookie'), '');
    await r.waitFor((e) => e.name === 'cookie', 'the cookie', { from });
    assert.ok(!r.items.slice(from).some((e) => e.folder === link), JSON.stringify(r.items.slice(from)));
  });

  it("asks nothing of a file's content or attributes", async () => {
    const folder = join(dir.path, 'files');
    mkdirSync(folder);
    writeFileSync(join(folder, 'f'), '');
    const r = new Recorder<TreeEvent>();
    watcher({ onChange: r.push }).update([], [folder]);
    writeFileSync(join(folder, 'f'), 'written');
    writeFileSync(join(folder, 'cookie'), '');
    await r.waitFor((e) => e.name === 'cookie', 'the cookie');
    assert.deepEqual(r.items, [{ folder, name: 'cookie' }]);
  });

  it("says so when the kernel's queue overflowed", async () => {
    const folder = join(dir.path, 'flood');
    mkdirSync(folder);
    const overflows = new Recorder<string>();
    const r = new Recorder<TreeEvent>();
    watcher({ onChange: r.push, onOverflow: () => overflows.push('overflow') }).update([], [folder]);
    // More entries than the queue holds, made while this thread cannot read it.
    const queue = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'));
    for (let i = 0; i <= queue; i++) closeSync(openSync(join(folder, `f${i}`), 'w'));
    await overflows.waitFor(() => true, 'the overflow');
    assert.equal(overflows.items.length, 1);
    assert.ok(r.items.length <= queue, `${r.items.length} events of ${queue + 1} handed over`);
  });
});

describe('TreeWatcher', () => {
  const dir = makeTempDir('hgreload-watch-limit-');
  after(() => dir.remove());

  it('turns the inotify limit into an error naming the sysctl', () => {
    const enospc = () => {
      throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    };
    const w = new Watcher({ onChange: () => {}, onError: () => {}, watch: enospc as never });
    assert.throws(
      () => w.update([], [dir.path]),
      (err: unknown) => err instanceof HgreloadError && err.code === 'watch-limit' && /max_user_watches/.test(err.format()) && /sysctl/.test(err.hint ?? ''),
    );
  });
});
