/**
 * The daemon in-process, with its edges handed in: a log that the test reads,
 * a scheduler the test fires, and a folder watch that runs out of inotify
 * watches. Shows that a failed reload is logged and retried, that the watch
 * limit is reported with the sysctl to raise, and that scheduled rescans keep
 * the list right for the folders left unwatched.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, watch as fsWatch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSettings } from '../../src/config/settings.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/daemon/logger.js';
import type { LogLine } from '../helpers/daemon-process.js';
import { Recorder } from '../helpers/recorder.js';
import { makeTempDir } from '../helpers/run.js';

describe('daemon faults (in-process)', () => {
  const dir = makeTempDir('hgreload-faults-');
  const base = dir.path;
  const log = new Recorder<LogLine>();
  const logger = createLogger('debug', { write: (s: string) => log.push(JSON.parse(s) as LogLine) });
  let scheduled: () => void = () => {};
  let watchesLeft = 2;
  const watch = ((path: string, options: object, listener: () => void) => {
    if (watchesLeft-- <= 0) throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    return fsWatch(path, options, listener);
  }) as unknown as typeof fsWatch;
  let daemon: Daemon | undefined;
  after(async () => {
    await daemon?.close();
    dir.remove();
  });

  it('logs a failed reload, the watch limit with its sysctl, and recovers through the schedule', async () => {
    for (const g of ['a', 'b', 'c']) mkdirSync(join(base, 'root', g), { recursive: true });
    mkdirSync(join(base, 'root/a/r1/.hg'), { recursive: true });
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/root/*\n`);
    // Fails once ("not yet"), then succeeds: a web server that was not up at first.
    const command = join(base, 'reload.sh');
    writeFileSync(command, `#!/bin/sh\nif [ -e "${base}/up" ]; then exit 0; fi\ntouch "${base}/up"\necho not yet >&2\nexit 3\n`);
    chmodSync(command, 0o755);
    const ini = join(base, 'hgreload.ini');
    const settings = parseSettings(`webconf = hgweb.config\n[reload]\nmethod = command\ncommand = ${command}\nstate = state\ndebounce = 20\n`, ini);
    daemon = new Daemon(settings, {
      logger,
      cwd: base,
      watch,
      // The lost-change check ([rescan] schedule), not the walk of every root ([rescan] full).
      scheduler: { validate: () => true, schedule: (expression, run) => (expression === settings.rescan.schedule && (scheduled = run), { stop: () => undefined }) },
    });
    await daemon.start();

    const failed = await log.waitFor((l) => l.level === 'error' && l.msg.startsWith('reload failed'), 'the failed reload');
    assert.match(failed.msg, /exit status 3: not yet/);
    const limit = await log.waitFor((l) => l.level === 'error' && /refused more folder watches/.test(l.msg), 'the watch limit');
    assert.match(JSON.stringify(limit), /sysctl fs\.inotify\.max_user_watches=/);
    const status = daemon.status();
    assert.equal(status.watches.limitReached, true);
    assert.equal(status.watches.folders, 2);
    // The second look after the first walk was the next cycle: it tried the reload again, and the server was up by then.
    assert.equal(status.lastReload?.ok, true);

    // A repository in a folder left unwatched: only the scheduled rescan can find it (its stamp
    // moved, and the folder is looked at again), and its reload (the first since the failure) succeeds.
    const from = log.mark;
    mkdirSync(join(base, 'root/c/r3/.hg'), { recursive: true });
    scheduled();
    const reloaded = await log.waitFor((l) => l.msg.startsWith('reloaded'), 'the reload after the rescan', { from });
    // (Every folder made within a second before the last check counts as changed: stamps are coarser than the clock.)
    assert.match(String(reloaded.reasons), /^scheduled rescan: \d+ folders? changed$/);
    assert.equal(daemon.status().walks, 1, 'no walk of every root: a look at the folder that changed');
    assert.equal(reloaded.repositories, 2);
    assert.equal(daemon.status().lastReload?.ok, true);
  });
});

describe('daemon with a reload command that hangs (in-process)', () => {
  const dir = makeTempDir('hgreload-hang-');
  const lines: LogLine[] = [];
  const logger = createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  let daemon: Daemon | undefined;
  after(async () => {
    await daemon?.close();
    dir.remove();
  });

  it('kills it after the timeout, logs why, and goes on', async () => {
    const base = dir.path;
    mkdirSync(join(base, 'root/r/.hg'), { recursive: true });
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/root/*\n`);
    const settings = parseSettings('webconf = hgweb.config\n[reload]\nmethod = command\ncommand = /bin/sleep 30\nstate = state\ndebounce = 20\n', join(base, 'hgreload.ini'));
    const started = Date.now();
    daemon = new Daemon(settings, { logger, cwd: base, commandTimeoutMs: 300, scheduler: { validate: () => true, schedule: () => ({ stop: () => undefined }) } });
    await daemon.start();
    const failed = lines.find((l) => l.msg.startsWith('reload failed'));
    assert.ok(failed, JSON.stringify(lines));
    assert.match(failed.msg, /\/bin\/sleep 30 did not finish within 300 ms and was killed/);
    assert.ok(Date.now() - started < 10_000, 'the hung command did not hold the daemon');
    assert.equal(daemon.status().lastReload?.ok, false);
    assert.ok(lines.some((l) => l.msg === 'ready'));
  });
});
