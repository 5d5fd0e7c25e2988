/**
 * The daemon's life as systemd and the people around it lead it: signals
 * during the first walk, a second look after it, one cycle at a time through a
 * settings reload, a control socket flooded by whoever may use it, folders
 * whose names are not UTF-8, and `[hooks] auto` around clones at work.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, watch as fsWatch, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { parseSettings } from '../../src/config/settings.js';
import { askDaemon } from '../../src/daemon/control-client.js';
import { ControlServer } from '../../src/daemon/control-server.js';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { DaemonProcess, isReload } from '../helpers/daemon-process.js';
import { inProcessDaemons } from '../helpers/in-process.js';
import { Recorder } from '../helpers/recorder.js';
import { makeTempDir, runCli } from '../helpers/run.js';

const repo = (path: string) => mkdirSync(join(path, '.hg'), { recursive: true });

function site(prefix: string, extra = '') {
  const dir = makeTempDir(prefix);
  const base = dir.path;
  const ini = join(base, 'hgreload.ini');
  writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/root/**\n`);
  writeFileSync(ini, `webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 50\n${extra}`);
  mkdirSync(join(base, 'root'));
  return { dir, base, ini, state: join(base, 'state') };
}

describe('the daemon, signalled while it starts', () => {
  const dirs: Array<{ remove: () => void }> = [];
  const daemons: DaemonProcess[] = [];
  after(async () => {
    for (const d of daemons) await d.stop();
    for (const d of dirs) d.remove();
  });

  // hgweb.config includes a FIFO: reading it blocks the first walk until the test writes to it.
  const blockedStart = async (prefix: string) => {
    const s = site(prefix);
    dirs.push(s.dir);
    repo(join(s.base, 'root/a'));
    spawnSync('mkfifo', [join(s.base, 'more.config')]);
    writeFileSync(join(s.base, 'hgweb.config'), `[paths]\n/ = ${s.base}/root/**\n%include more.config\n`);
    const d = new DaemonProcess(['-c', s.ini]);
    daemons.push(d);
    await d.waitFor((l) => l.msg === 'starting: first walk', 'starting');
    const release = () => {
      // The write returns once the daemon has the FIFO open; later reads (the second look) get a plain file.
      // Written by a child with a time limit: a daemon that stopped before it opened the FIFO must not hang the test.
      const wrote = spawnSync('timeout', ['20', 'sh', '-c', 'printf "[web]\\n" > "$1"', 'sh', join(s.base, 'more.config')]);
      assert.equal(wrote.status, 0, 'the daemon opened the FIFO within 20 s');
      rmSync(join(s.base, 'more.config'));
      writeFileSync(join(s.base, 'more.config'), '[web]\n');
    };
    return { s, d, release };
  };

  it('SIGHUP during the first walk: not killed; the settings are read again once ready', async () => {
    const { d, release } = await blockedStart('hgreload-life-hup-');
    d.signal('SIGHUP');
    release();
    await d.waitFor((l) => l.msg === 'ready', 'ready');
    await d.waitFor((l) => l.msg === 'settings reloaded', 'the settings read again');
  });

  it('SIGTERM during the first walk: stops cleanly, status 0', async () => {
    const { d, release } = await blockedStart('hgreload-life-term-');
    d.signal('SIGTERM');
    release();
    assert.equal(await d.exited, 0, d.output.join('\n'));
    assert.ok(d.lines.some((l) => l.msg === 'stopped'));
    assert.equal(d.lines.some((l) => l.msg === 'ready'), false, 'it stopped instead of going on');
  });

  it('forced reloads through the control socket are spaced: a flood is no restart loop', async () => {
    const s = site('hgreload-life-flood-');
    dirs.push(s.dir);
    repo(join(s.base, 'root/a'));
    const d = new DaemonProcess(['-c', s.ini]);
    daemons.push(d);
    await d.waitFor((l) => l.msg === 'ready', 'ready');
    const socket = join(s.state, 'control.sock');
    let from = d.mark;
    await askDaemon(socket, { command: 'touch', reason: 'first' });
    await d.waitFor((l) => isReload(l) && (l.reasons as string[]).includes('first'), 'the first forced reload', { from });
    from = d.mark;
    // One after another, each cycle finished before the next request: every one would restart hgweb.
    for (let i = 0; i < 5; i++) {
      await askDaemon(socket, { command: i % 2 === 0 ? 'touch' : 'rescan', reason: `flood ${i}` });
      const pending = async () => ((await askDaemon(socket, { command: 'status' })) as { status?: DaemonStatus } | undefined)?.status?.pending === true;
      while (await pending()) await new Promise((r) => setImmediate(r));
    }
    // And 40 at once, from as many connections.
    await Promise.all(
      Array.from(
        { length: 40 },
        () =>
          new Promise<void>((resolve) => {
            const c = createConnection(socket, () => c.end(`${JSON.stringify({ command: 'touch', reason: 'burst' })}\n`));
            c.resume(); // read the answer and the end, or the socket never closes
            c.on('close', () => resolve());
          }),
      ),
    );
    // A cookie repository: its reload comes after everything the flood caused so far.
    repo(join(s.base, 'root/cookie'));
    await d.waitFor((l) => isReload(l) && (l.added as string[]).includes('cookie'), 'the cookie reload', { from });
    const reloads = d.lines.slice(from).filter(isReload);
    assert.ok(reloads.length <= 2, `${reloads.length} reloads for 23 forced ones and a new repository: ${JSON.stringify(reloads.map((l) => l.reasons))}`);
  });

  it('the control socket cuts off a client that sends nothing', async () => {
    const dir = makeTempDir('hgreload-life-idle-');
    dirs.push(dir);
    const server = await ControlServer.listen(join(dir.path, 'c.sock'), () => ({ ok: true }), 100);
    try {
      const c = createConnection(join(dir.path, 'c.sock'));
      c.resume();
      const started = Date.now();
      await new Promise((resolve) => c.on('close', resolve));
      assert.ok(Date.now() - started < 5000);
    } finally {
      await server.close();
    }
  });

  it("warns when the unit's state folder (hgreload@NAME) is not the one the settings use", async () => {
    const s = site('hgreload-life-statedir-');
    dirs.push(s.dir);
    const d = new DaemonProcess(['-c', s.ini], { env: { STATE_DIRECTORY: '/var/lib/hgreload/site1' } });
    daemons.push(d);
    const warned = await d.waitFor((l) => l.level === 'warn' && /unit's state folder/.test(l.msg), 'the warning');
    assert.match(warned.msg, /the unit's state folder is \/var\/lib\/hgreload\/site1, but the settings use .*\/state: set "state = \/var\/lib\/hgreload\/site1" in \[reload\] of .*hgreload\.ini/);
  });

  it('watches folders whose names are not UTF-8', async () => {
    const s = site('hgreload-life-bytes-');
    dirs.push(s.dir);
    const odd = Buffer.concat([Buffer.from(`${s.base}/root/caf`), Buffer.of(0xe9)]);
    mkdirSync(odd);
    mkdirSync(Buffer.concat([odd, Buffer.from('/a/.hg')]), { recursive: true });
    const d = new DaemonProcess(['-c', s.ini]);
    daemons.push(d);
    await d.waitFor((l) => l.msg === 'ready', 'ready');
    const from = d.mark;
    mkdirSync(Buffer.concat([odd, Buffer.from('/b/.hg')]), { recursive: true });
    const reload = await d.waitFor((l) => isReload(l) && (l.added as string[]).includes('caf\udce9/b'), 'the new repository in that folder', { from });
    assert.equal(reload.repositories, 2);
  });

  it('[hooks] auto waits for a clone at work, and puts the hook back when the clone rewrites hgrc', async () => {
    const s = site('hgreload-life-auto-', '[hooks]\nauto = true\n');
    dirs.push(s.dir);
    const d = new DaemonProcess(['-c', s.ini]);
    daemons.push(d);
    await d.waitFor((l) => l.msg === 'ready', 'ready');
    const hgrc = (name: string) => join(s.base, 'root', name, '.hg/hgrc');
    const hooked = (name: string) => existsSync(hgrc(name)) && readFileSync(hgrc(name), 'utf8').includes('changegroup.hgreload');

    // A clone at work holds wlock (a symlink naming host:pid, as Mercurial makes it).
    let from = d.mark;
    repo(join(s.base, 'root/cloning'));
    symlinkSync('host:12345', join(s.base, 'root/cloning/.hg/wlock'));
    await d.waitFor((l) => isReload(l) && (l.added as string[]).includes('cloning'), 'the new repository served', { from });
    const status = JSON.parse(runCli(['-c', s.ini, 'status', '--json']).stdout) as { hooksWaiting: number };
    assert.equal(status.hooksWaiting, 1);
    assert.equal(hooked('cloning'), false, 'no hook while the clone works');
    writeFileSync(hgrc('cloning'), '[paths]\ndefault = /elsewhere\n');
    rmSync(join(s.base, 'root/cloning/.hg/wlock'));
    await d.waitFor((l) => /^hook added/.test(l.msg) && l.repo === join(s.base, 'root/cloning'), 'the hook once the clone is done', { from });
    assert.ok(hooked('cloning'));
    assert.match(readFileSync(hgrc('cloning'), 'utf8'), /^\[paths\]\ndefault = \/elsewhere\n/, "the clone's hgrc kept");

    // A clone that rewrites hgrc just after it unlocks: the second check puts the hook back.
    from = d.mark;
    repo(join(s.base, 'root/pulled'));
    await d.waitFor((l) => /^hook added/.test(l.msg) && l.repo === join(s.base, 'root/pulled'), 'the first hook', { from });
    writeFileSync(hgrc('pulled'), '[paths]\ndefault = /elsewhere\n');
    await d.waitFor((l) => /^hook added again/.test(l.msg) && l.repo === join(s.base, 'root/pulled'), 'the hook put back', { from });
    assert.ok(hooked('pulled'));
  });
});

describe('the daemon in-process: a second look, and one cycle at a time', () => {
  const { base, log, daemon: make } = inProcessDaemons('hgreload-life-inproc-');

  it('finds a repository made after its folder was walked but before it was watched', async () => {
    mkdirSync(join(base, 'root/a/.hg'), { recursive: true });
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/root/*\n`);
    let first = true;
    // The first watch call stands for the moment between the walk and the watch.
    const watch = ((path: string, options: object, listener: () => void) => {
      if (first) {
        first = false;
        mkdirSync(join(base, 'root/made-meanwhile/.hg'), { recursive: true });
      }
      return fsWatch(path, options, listener);
    }) as unknown as typeof fsWatch;
    const settings = parseSettings('webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 20\n', join(base, 'hgreload.ini'));
    const daemon = make(settings, { watch });
    await daemon.start();
    assert.equal(daemon.status().repositories, 2, 'found before ready, not at the next scheduled rescan');
    await daemon.close();
  });

  it('collects the heap once at start, before ready, and after each later walk of every root', async () => {
    const root = join(base, 'collected');
    mkdirSync(join(root, 'a/.hg'), { recursive: true });
    writeFileSync(join(base, 'collected.config'), `[paths]\n/ = ${root}/*\n`);
    const settings = parseSettings('webconf = collected.config\n[reload]\nmethod = publish\nstate = collected-state\ndebounce = 20\n', join(base, 'collected.ini'));
    const collections = new Recorder<string>();
    const from = log.mark;
    const daemon = make(settings, { compactHeap: () => collections.push(log.items.slice(from).some((l) => l.msg === 'ready') ? 'after ready' : 'before ready') });
    await daemon.start();
    assert.deepEqual(collections.items, ['before ready'], 'one collection, right before ready: the start walks, and its second look, are done');
    daemon.changed('a walk of every root, asked for by the test');
    await collections.waitFor((c) => c === 'after ready', 'a collection after the walk', { from: 1 });
    assert.equal(daemon.status().walks, 2);
    await daemon.close();
  });

  it('takes no second walk when no watched folder changed since the first began', async () => {
    const root = join(base, 'still');
    mkdirSync(join(root, 'a/.hg'), { recursive: true });
    writeFileSync(join(base, 'still.config'), `[paths]\n/ = ${root}/*\n`);
    const from = log.mark;
    const settings = parseSettings('webconf = still.config\n[reload]\nmethod = publish\nstate = still-state\ndebounce = 20\n', join(base, 'still.ini'));
    // A clock an hour ahead: the tree, just made, is an hour older than the walk.
    const now = () => new Date(Date.now() + 3_600_000);
    const still = make(settings, { now });
    await still.start();
    const looked = log.items.slice(from).filter((l) => Array.isArray(l.reasons) && (l.reasons as string[]).some((r) => r.startsWith('second look after the first walk')));
    assert.deepEqual(looked, [], 'no second look');
    assert.equal(still.status().walks, 1, 'no second walk');
    assert.equal(still.status().repositories, 1);
    await still.close();
  });

  it('a settings reload while a cycle runs never starts a second one beside it', async () => {
    const root = join(base, 'overlap');
    mkdirSync(join(root, 'r1/.hg'), { recursive: true });
    writeFileSync(join(base, 'overlap.config'), `[paths]\n/ = ${root}/*\n`);
    // The reload command notes an overlap when it finds another one running.
    const command = join(base, 'slow-reload.sh');
    writeFileSync(command, `#!/bin/sh\nmkdir "${base}/running" 2>/dev/null || echo overlap >> "${base}/overlaps"\nsleep 0.4\nrmdir "${base}/running"\necho done >> "${base}/reloads"\n`);
    chmodSync(command, 0o755);
    const text = (debounce: number) => `webconf = overlap.config\n[reload]\nmethod = command\ncommand = ${command}\nstate = state2\ndebounce = ${debounce}\n`;
    const from = log.mark;
    const reloads = (count: number) => log.waitFor(() => log.items.slice(from).filter((l) => /^reloaded/.test(l.msg)).length >= count, `${count} reloads`);
    const daemon = make(parseSettings(text(20), join(base, 'overlap.ini')));
    await daemon.start();
    await reloads(1);
    const running = new Promise<void>((resolve) => {
      const w = fsWatch(base, (_type, name) => {
        if (name === 'running') {
          w.close();
          resolve();
        }
      });
    });
    daemon.requestReload('forced', true);
    // While that reload runs: a new repository and new settings.
    await running;
    mkdirSync(join(root, 'r2/.hg'), { recursive: true });
    await daemon.useSettings(parseSettings(text(10), join(base, 'overlap.ini')));
    await reloads(3);
    assert.equal(existsSync(join(base, 'overlaps')), false, readFileSync(join(base, 'reloads'), 'utf8'));
    assert.equal(daemon.status().repositories, 2);
  });
});
