/**
 * The config watcher on real folders, saving as editors and configuration
 * tools do (a new file renamed over the old one), with events awaited, not
 * time: each save must be told, however soon after the one before, and a
 * file's folder made later, removed and made again.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigWatcher } from '../../src/watch/config-watcher.js';
import { Recorder } from '../helpers/recorder.js';
import { makeTempDir } from '../helpers/run.js';

const save = (file: string, text: string): void => {
  writeFileSync(`${file}.new`, text);
  renameSync(`${file}.new`, file);
};

describe('ConfigWatcher', () => {
  const dir = makeTempDir('hgreload-config-watch-');
  const watchers: ConfigWatcher[] = [];
  after(async () => {
    for (const w of watchers) await w.close();
    dir.remove();
  });
  const watcher = async (files: string[]) => {
    const r = new Recorder<string>();
    const w = new ConfigWatcher({ onChange: r.push, onError: (err) => assert.fail(err) });
    watchers.push(w);
    await w.set(files);
    return r;
  };

  it('tells every save, also after saves in quick succession (chokidar lost the file for good after three)', async () => {
    const folder = join(dir.path, 'quick');
    mkdirSync(folder);
    const file = join(folder, 'hgweb.config');
    writeFileSync(file, 'first');
    const r = await watcher([file]);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++) save(file, `burst ${round} ${i}`);
      const from = r.mark;
      save(file, `after the burst ${round}`);
      await r.waitFor((f) => f === file, `the save after burst ${round}`, { from });
    }
    const from = r.mark;
    writeFileSync(file, 'edited in place');
    await r.waitFor((f) => f === file, 'an edit in place', { from });
  });

  it("tells of an include whose folder is made later, removed, and made again; not of other files", async () => {
    const top = join(dir.path, 'later');
    mkdirSync(top);
    const include = join(top, 'conf.d/deeper/paths.rc');
    const r = await watcher([include]);
    writeFileSync(join(top, 'unrelated'), '');
    let from = r.mark;
    mkdirSync(join(top, 'conf.d/deeper'), { recursive: true });
    await r.waitFor((f) => f === include, 'its folder made', { from });
    from = r.mark;
    writeFileSync(include, 'x');
    await r.waitFor((f) => f === include, 'the include made', { from });
    from = r.mark;
    rmSync(join(top, 'conf.d'), { recursive: true });
    await r.waitFor((f) => f === include, 'its folder removed', { from });
    from = r.mark;
    mkdirSync(join(top, 'conf.d/deeper'), { recursive: true });
    save(include, 'y');
    await r.waitFor((f) => f === include, 'made again', { from });
    // Only events that may concern the include: a cookie saved as an include proves the unrelated file told nothing.
    assert.ok(r.items.every((f) => f === include), JSON.stringify(r.items));
  });

  it('tells of a save through a symlinked file, where its target lives', async () => {
    const real = join(dir.path, 'real');
    const links = join(dir.path, 'links');
    mkdirSync(real);
    mkdirSync(links);
    writeFileSync(join(real, 'hgweb.config'), 'a');
    const link = join(links, 'hgweb.config');
    symlinkSync(join(real, 'hgweb.config'), link);
    const r = await watcher([link]);
    const from = r.mark;
    save(join(real, 'hgweb.config'), 'b');
    await r.waitFor((f) => f === link, 'the target saved', { from });
  });
});
