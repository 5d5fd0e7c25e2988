/** The touch, command and signal reload methods against real files and processes. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { HgreloadError } from '../../src/errors.js';
import { touchScript } from '../../src/reload/touch.js';
import { runCommand } from '../../src/reload/run-command.js';
import { signalFromPidfile, checkSignalName } from '../../src/reload/send-signal.js';
import { splitArgv } from '../../src/reload/split-argv.js';
import { makeTempDir } from '../helpers/run.js';

const dir = makeTempDir();
after(() => dir.remove());

const rejectsWith = (p: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(p, (err: unknown) => err instanceof HgreloadError && err.code === 'reload' && pattern.test(err.message));

describe('touch', () => {
  it("sets the script's mtime to now", async () => {
    const wsgi = join(dir.path, 'hgweb.wsgi');
    writeFileSync(wsgi, '');
    utimesSync(wsgi, 1_000_000, 1_000_000);
    const now = new Date('2026-11-25T08:00:00Z');
    assert.match(await touchScript(wsgi, now), /touched/);
    assert.equal(statSync(wsgi).mtimeMs, now.getTime());
  });
  it('fails clearly on a missing script', () => rejectsWith(touchScript(join(dir.path, 'none.wsgi')), /cannot touch .*none\.wsgi \(No such file or directory\)/));
});

describe('splitArgv', () => {
  it('splits words and honours quotes and backslashes, expanding nothing', () => {
    assert.deepEqual(splitArgv('/usr/sbin/apachectl -k graceful'), ['/usr/sbin/apachectl', '-k', 'graceful']);
    assert.deepEqual(splitArgv(`cmd "a b" 'c "d"' e\\ f $(x) \`y\``), ['cmd', 'a b', 'c "d"', 'e f', '$(x)', '`y`']);
    assert.deepEqual(splitArgv('x ""'), ['x', '']);
  });
  it('refuses an unterminated quote and an empty command', () => {
    assert.throws(() => splitArgv('cmd "open'), /unterminated " quote/);
    assert.throws(() => splitArgv('   '), /empty/);
  });
});

describe('command', () => {
  it('runs an argv and reports success', async () => assert.match(await runCommand(['/bin/true'], { timeoutMs: 10_000 }), /ran \/bin\/true/));
  it('reports the exit status and stderr of a failure', () =>
    rejectsWith(runCommand(['/bin/sh', '-c', 'echo broken config >&2; exit 3'], { timeoutMs: 10_000 }), /failed with exit status 3: broken config/));
  it('kills a command that hangs, after the timeout', () => rejectsWith(runCommand(['/bin/sleep', '30'], { timeoutMs: 200 }), /did not finish within 200 ms and was killed/));
  it('names a program that does not exist', () => rejectsWith(runCommand(['/nonexistent/prog'], { timeoutMs: 10_000 }), /cannot run \/nonexistent\/prog/));
  it('passes shell syntax through as plain words', async () => {
    const marker = join(dir.path, 'pwned');
    await runCommand(['/bin/echo', `$(touch ${marker})`, `; touch ${marker}`], { timeoutMs: 10_000 });
    assert.equal(existsSync(marker), false);
  });
});

describe('signal', () => {
  const pidfile = join(dir.path, 'server.pid');

  it('signals the live process named by the pidfile', async () => {
    const child = spawn('/bin/sleep', ['30']);
    await once(child, 'spawn');
    writeFileSync(pidfile, `${child.pid}\n`);
    const exited = once(child, 'exit');
    assert.match(await signalFromPidfile(pidfile, 'SIGTERM'), new RegExp(`sent SIGTERM to sleep \\(pid ${child.pid}\\)`));
    assert.deepEqual(await exited, [null, 'SIGTERM']);
  });

  it('refuses a pid with no process', async () => {
    const child = spawn('/bin/true');
    await once(child, 'exit');
    writeFileSync(pidfile, String(child.pid));
    await rejectsWith(signalFromPidfile(pidfile, 'SIGTERM'), /stale pidfile .*no process \d+ is running/);
  });

  it('refuses a recycled pid: a process younger than the pidfile', async () => {
    const child = spawn('/bin/sleep', ['30']);
    await once(child, 'spawn');
    writeFileSync(pidfile, String(child.pid));
    const hourAgo = Date.now() / 1000 - 3600;
    utimesSync(pidfile, hourAgo, hourAgo);
    try {
      await rejectsWith(signalFromPidfile(pidfile, 'SIGTERM'), /started after the pidfile was written/);
      assert.equal(child.exitCode, null, 'the process was not signalled');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a missing pidfile and one without a pid', async () => {
    await rejectsWith(signalFromPidfile(join(dir.path, 'none.pid'), 'SIGUSR1'), /cannot read pidfile .*No such file/);
    writeFileSync(pidfile, 'apache\n');
    await rejectsWith(signalFromPidfile(pidfile, 'SIGUSR1'), /does not hold a process id/);
  });

  it("refuses a pidfile of another user that names a process not that user's (a root process, say)", async () => {
    // The test runs as root: this process stands for any root-owned process a www-data pidfile could name.
    const child = spawn('/bin/sleep', ['30']);
    await once(child, 'spawn');
    const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout);
    writeFileSync(pidfile, `${child.pid}\n`);
    chownSync(pidfile, nobody, -1);
    try {
      await rejectsWith(signalFromPidfile(pidfile, 'SIGTERM'), new RegExp(`owned by uid ${nobody}\\) names process ${child.pid} .* of uid 0: a pidfile may name only its owner's processes`));
      assert.equal(child.exitCode, null, 'the process was not signalled');
    } finally {
      child.kill('SIGKILL');
      chownSync(pidfile, 0, -1);
    }
  });

  it('refuses a pidfile in a folder where others may replace it', async () => {
    const open = join(dir.path, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const child = spawn('/bin/sleep', ['30']);
    await once(child, 'spawn');
    writeFileSync(join(open, 'server.pid'), `${child.pid}\n`);
    try {
      await rejectsWith(signalFromPidfile(join(open, 'server.pid'), 'SIGTERM'), /sits in a folder that others may write/);
      chmodSync(open, 0o1777); // sticky, as /tmp: each file stays its owner's
      assert.match(await signalFromPidfile(join(open, 'server.pid'), 'SIGTERM'), /sent SIGTERM/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('knows signal names', () => {
    assert.equal(checkSignalName('SIGUSR1'), 'SIGUSR1');
    assert.throws(() => checkSignalName('SIGFOO'), /unknown signal "SIGFOO"/);
  });
});
