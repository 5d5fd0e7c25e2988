/**
 * A walk of every root runs beside the cycles: the daemon in-process, on a
 * folder reader that holds the walk half-way (at one folder, until the test
 * lets it go), shows that a repository made meanwhile is published while the
 * walk is still held, and that the walk's list, taken after, keeps it (the
 * walk had read its folder before it was made: the events of meanwhile are
 * looked at again in the walk's model).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSettings } from '../../src/config/settings.js';
import { localWalkFs, type WalkFs } from '../../src/discovery/dir-reader.js';
import { isReload, type LogLine } from '../helpers/daemon-process.js';
import { inProcessDaemons } from '../helpers/in-process.js';
import { publishedNames } from '../helpers/published.js';

const repo = (path: string) => mkdirSync(join(path, '.hg'), { recursive: true });

/** localWalkFs through readdir, but a listing of `folder` waits, once armed, until released. */
function holdingFs(): { fs: WalkFs; arm: (folder: string) => Promise<void>; release: () => void } {
  let held: { folder: string; reached: () => void; gate: Promise<void> } | undefined;
  let release = (): void => {};
  const fs: WalkFs = {
    ...localWalkFs,
    // Every listing through readdir (not the addon's), where it can be held.
    reader: undefined, names: undefined,
    readdir: async (path) => {
      const h = held;
      if (h !== undefined && path === h.folder) {
        held = undefined;
        h.reached();
        await h.gate;
      }
      return localWalkFs.readdir(path);
    },
  };
  return {
    fs,
    arm: (folder) =>
      new Promise<void>((reached) => {
        const gate = new Promise<void>((r) => (release = r));
        held = { folder, reached, gate };
      }),
    release: () => release(),
  };
}

describe('a walk of every root beside the cycles (in-process)', () => {
  const { base, log, daemon: make } = inProcessDaemons('hgreload-beside-');
  const hold = holdingFs();
  after(() => hold.release());
  // (Each arm holds the next listing of that folder once.)

  it('a repository made while the walk is held is published at once, and the walk, taken after, keeps it', async () => {
    repo(join(base, 'root/g1/a'));
    repo(join(base, 'root/g2/b'));
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/root/**\n`);
    const settings = parseSettings('webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 20\n', join(base, 'hgreload.ini'));
    const daemon = make(settings, { walkFs: hold.fs });
    await daemon.start();
    const state = join(base, 'state');
    assert.deepEqual(publishedNames(state), ['g1/a', 'g2/b']);

    // The walk reads root, g1 (and a) before g2, where it is held.
    const reached = hold.arm(join(base, 'root/g2'));
    let from = log.mark;
    daemon.changed('the test asks for a walk of every root');
    await reached;
    assert.equal(daemon.status().walks, 2);
    repo(join(base, 'root/g1/new'));
    const published = await log.waitFor((l: LogLine) => isReload(l) && (l.added as string[]).includes('g1/new'), 'g1/new published while the walk is held', { from });
    assert.deepEqual(published.reasons, [`${base}/root/g1/new`]);
    assert.deepEqual(publishedNames(state), ['g1/a', 'g1/new', 'g2/b']);

    from = log.mark;
    hold.release();
    await log.waitFor((l: LogLine) => l.level === 'debug' && l.msg === 'served list unchanged; no reload', "the walk's list, taken", { from });
    assert.deepEqual(
      log.items.slice(from).filter((l) => isReload(l)),
      [],
      'no reload: the walk with the events of meanwhile gives the list published',
    );
    assert.deepEqual(publishedNames(state), ['g1/a', 'g1/new', 'g2/b']);
    assert.equal(daemon.status().repositories, 3);

    // `hgreload touch`: the change published beside its walk is published for itself, not as the
    // touch's reload; the walk's list is the one reloaded whole, for the touch.
    const again = hold.arm(join(base, 'root/g2'));
    from = log.mark;
    daemon.requestReload('hgreload touch', true);
    await again;
    repo(join(base, 'root/g1/newer'));
    const beside = await log.waitFor((l: LogLine) => isReload(l) && (l.added as string[]).includes('g1/newer'), 'g1/newer published while the walk is held', { from });
    assert.deepEqual(beside.reasons, [`${base}/root/g1/newer`]);
    hold.release();
    const forced = await log.waitFor((l: LogLine) => isReload(l) && (l.reasons as string[]).includes('hgreload touch'), "the touch's reload", { from });
    assert.match(forced.msg, /published 4 repositories/);
    assert.deepEqual(publishedNames(state), ['g1/a', 'g1/new', 'g1/newer', 'g2/b']);
  });
});
