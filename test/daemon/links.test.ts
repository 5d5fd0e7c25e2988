/**
 * Where a symlink in a root leads changes outside the root: the folder a
 * dangling link names made later, and a link further down the chain
 * retargeted where it lives. Each is the only change (nothing in the root
 * moves, so no other event walks it again): the daemon must see it itself,
 * and the published list must then equal hgwebdir's.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type DaemonProcess, isReload, publishingDaemon } from '../helpers/daemon-process.js';
import { assertPublishedIsHgweb, readPublished } from '../helpers/published.js';
import { makeTempDir } from '../helpers/run.js';

describe('links whose target changes outside the root', () => {
  const dir = makeTempDir('hgreload-links-');
  const base = dir.path;
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  const state = join(base, 'state');
  let daemon: DaemonProcess;

  before(async () => {
    mkdirSync(root);
    for (const r of ['v1/one', 'v2/two']) mkdirSync(join(outside, r, '.hg'), { recursive: true });
    // root/release -> outside/current -> v1, and root/later -> outside/not-yet/made (missing).
    symlinkSync('v1', join(outside, 'current'));
    symlinkSync(join(outside, 'current'), join(root, 'release'));
    symlinkSync(join(outside, 'not-yet/made'), join(root, 'later'));
    daemon = await publishingDaemon(base, `/ = ${root}/*`);
    assert.deepEqual(readPublished(state).map((r) => r.name), ['release/one']);
  });
  after(async () => {
    await daemon.stop();
    dir.remove();
  });

  const publishedEqualsHgweb = () => assertPublishedIsHgweb(state, join(base, 'hgweb.config'), base);

  it('the folder a dangling link names, made later', async () => {
    const from = daemon.mark;
    mkdirSync(join(outside, 'not-yet/made/r/.hg'), { recursive: true });
    await daemon.waitFor((l) => isReload(l) && readPublished(state).some((r) => r.name === 'later/r'), 'later/r published', { from, timeoutMs: 5000 });
    publishedEqualsHgweb();
  });

  it('a link further down the chain retargeted, outside the root', async () => {
    const from = daemon.mark;
    // As `ln -sfn` does it atomically: a new link renamed over the old one.
    symlinkSync('v2', join(outside, 'current.new'));
    renameSync(join(outside, 'current.new'), join(outside, 'current'));
    await daemon.waitFor((l) => isReload(l) && readPublished(state).some((r) => r.name === 'release/two'), 'release/two published', { from, timeoutMs: 5000 });
    publishedEqualsHgweb();
  });
});
