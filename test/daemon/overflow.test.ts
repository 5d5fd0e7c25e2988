/**
 * Lost events, known: the kernel's queue (fs.inotify.max_queued_events)
 * filled while the daemon could not read it (stopped here with SIGSTOP, as a
 * long pause would), by events that change nothing (plain files made in a
 * working copy under `**`), so that the one that matters (a new repository)
 * was dropped.
 * The daemon must tell that its queue overflowed and walk every root. And the
 * other way: thousands of files written in one working copy (`hg update`)
 * under `**` must cost a look at that working copy, not a walk of every root.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DaemonProcess, isReload, publishingDaemon } from '../helpers/daemon-process.js';
import { readPublished } from '../helpers/published.js';
import { makeTempDir } from '../helpers/run.js';

const queue = (): number => {
  try {
    return Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'));
  } catch {
    return 16_384;
  }
};

describe('the kernel dropping events', () => {
  const dir = makeTempDir('hgreload-overflow-');
  const base = dir.path;
  const root = join(base, 'root');
  const files = join(root, 'files');
  const state = join(base, 'state');
  // More than the queue holds: each file made is one event.
  const count = queue() + 1000;
  let daemon: DaemonProcess;

  before(async () => {
    mkdirSync(files, { recursive: true });
    mkdirSync(join(root, 'work/.hg'), { recursive: true });
    daemon = await publishingDaemon(base, `/ = ${root}/**`, { debug: true });
  });
  after(async () => {
    await daemon.stop();
    dir.remove();
  });

  it('an overflowed queue is told, and every root walked: the repository whose event was dropped is served', async () => {
    const from = daemon.mark;
    process.kill(daemon.pid, 'SIGSTOP');
    try {
      for (let i = 0; i < count; i++) closeSync(openSync(join(files, `f${i}`), 'w'));
      mkdirSync(join(root, 'dropped/.hg'), { recursive: true });
    } finally {
      process.kill(daemon.pid, 'SIGCONT');
    }
    const line = await daemon.waitFor((l) => isReload(l) && readPublished(state).some((r) => r.name === 'dropped'), 'dropped published', { from, timeoutMs: 15_000 });
    assert.ok((line.reasons as string[]).some((r) => r.includes('dropped folder events')), JSON.stringify(line.reasons));
  });

  it('thousands of files written in one working copy: a look at it, not a walk of every root', async () => {
    const from = daemon.mark;
    for (let i = 0; i < 1500; i++) writeFileSync(join(root, 'work', `file${i}`), 'x');
    mkdirSync(join(root, 'work/nested/.hg'), { recursive: true });
    await daemon.waitFor((l) => isReload(l) && readPublished(state).some((r) => r.name === 'work/nested'), 'work/nested published', { from, timeoutMs: 15_000 });
    const since = daemon.lines.slice(from);
    assert.ok(!since.some((l) => JSON.stringify(l.reasons ?? []).includes('walking every root')), JSON.stringify(since.map((l) => l.reasons)));
  });
});
