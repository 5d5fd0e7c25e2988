/**
 * The metrics file as node_exporter's textfile collector finds it: the daemon
 * in-process (its log read by the test) makes a repository's reload show in
 * the file, which a strict reader and `promtool check metrics` both accept;
 * errors show there too, a file that cannot be written costs one warning and
 * nothing else, and the built CLI stopped by SIGTERM leaves `hgreload_up 0`.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, watch, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseSettings } from '../../src/config/settings.js';
import { DaemonProcess, isReload } from '../helpers/daemon-process.js';
import { parsePromText, type PromText } from '../helpers/prom-text.js';
import { promtoolCheckMetrics } from '../helpers/promtool.js';
import { inProcessDaemons } from '../helpers/in-process.js';
import { inotifyLimit } from '../../src/watch/inotify-limits.js';
import { makeTempDir } from '../helpers/run.js';

const repo = (path: string) => mkdirSync(join(path, '.hg'), { recursive: true });

/**
 * Resolves with the file's text once it parses and `match` holds, looking each time its folder
 * changes (the daemon renames a new file into place); rejects after `timeoutMs`.
 */
function waitForMetrics(file: string, match: (p: PromText) => boolean, what: string, timeoutMs = 15_000): Promise<{ text: string; parsed: PromText }> {
  return new Promise((resolve, reject) => {
    let last = '(no file)';
    const check = (): boolean => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        return false; // not written yet
      }
      last = text;
      const parsed = parsePromText(text); // throws on a bad file: the test fails with the reason
      if (!match(parsed)) return false;
      done();
      resolve({ text, parsed });
      return true;
    };
    const watcher = watch(dirname(file), (_event, name) => {
      if (name !== null && name.toString() !== basename(file)) return;
      try {
        check();
      } catch (err) {
        done();
        reject(err as Error);
      }
    });
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out waiting for ${what} in ${file}; last read:\n${last}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      watcher.close();
    };
    try {
      check();
    } catch (err) {
      done();
      reject(err as Error);
    }
  });
}

function assertPromtoolAccepts(text: string): void {
  const check = promtoolCheckMetrics(text);
  assert.equal(check.status, 0, `promtool check metrics:\n${check.output}\n${text}`);
}

describe('the daemon keeps its metrics file (in-process)', () => {
  const { base, log, daemon: make } = inProcessDaemons('hgreload-metrics-');

  it('a new repository: its reload, counted and timed, in a file promtool accepts; close leaves hgreload_up 0', async () => {
    repo(join(base, 'root/a'));
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/root/*\n`);
    mkdirSync(join(base, 'metrics'));
    const file = join(base, 'metrics/hgreload.prom');
    // A relative path, taken from the settings file's folder.
    const settings = parseSettings('webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 20\n[metrics]\nfile = metrics/hgreload.prom\n', join(base, 'hgreload.ini'));
    const started = Date.now();
    const daemon = make(settings);
    await daemon.start();
    await waitForMetrics(file, (p) => p.value('hgreload_repositories') === 1, 'the first repository');

    const from = log.mark;
    repo(join(base, 'root/b'));
    await log.waitFor((l) => isReload(l) && (l.added as string[]).includes('b'), 'the reload for b', { from });
    const { text, parsed: p } = await waitForMetrics(file, (m) => m.value('hgreload_repositories') === 2, 'the second repository');

    assert.equal(p.value('hgreload_up'), 1);
    const startTime = p.value('hgreload_start_time_seconds')!;
    assert.ok(startTime * 1000 >= started - 1000 && startTime * 1000 <= Date.now(), `start time ${startTime}`);
    // The first start's reload, and b's.
    assert.ok(p.value('hgreload_reloads_total', { method: 'publish', result: 'ok' })! >= 2, text);
    assert.equal(p.value('hgreload_reloads_total', { method: 'publish', result: 'failed' }), 0);
    // b's reload answered a change: its latency is counted (the start's reloads answered none).
    const latencies = p.value('hgreload_publish_latency_seconds_count')!;
    assert.ok(latencies >= 1, text);
    // A lone change is published at once (the coalescer's leading edge), not after the debounce: only more than nothing.
    assert.ok(p.value('hgreload_publish_latency_seconds_sum')! > 0, text);
    assert.ok(p.value('hgreload_walk_duration_seconds')! >= 0);
    // The start's walk answered every call for one before it: b, the first change after ready, was looked at in part.
    assert.equal(p.value('hgreload_walks_total'), 1, text);
    assert.equal(daemon.status().walks, 1);
    assert.ok(p.value('hgreload_watches')! >= 2, 'the root folder and hgweb.config');
    assert.equal(p.value('hgreload_watch_limit'), inotifyLimit('max_user_watches'));
    assert.equal(p.value('hgreload_watch_limit_reached'), 0);
    assert.equal(p.value('hgreload_polled_folders'), 0);
    assert.equal(p.value('hgreload_root_errors'), 0);
    assert.equal(p.value('hgreload_last_error_timestamp_seconds'), 0);
    assert.equal(p.families.has('hgreload_last_error_info'), false);
    assertPromtoolAccepts(text);
    // Readable by node_exporter's user whatever the umask, and no temp file left beside it.
    assert.equal(statSync(file).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(join(base, 'metrics')), ['hgreload.prom']);

    await daemon.close();
    const last = parsePromText(readFileSync(file, 'utf8'));
    assert.equal(last.value('hgreload_up'), 0);
    assert.equal(last.value('hgreload_repositories'), 2, 'the last figures stay beside up 0');
    assertPromtoolAccepts(readFileSync(file, 'utf8'));
  });
});

describe('the metrics file when things go wrong (in-process)', () => {
  const { base, log, daemon: make } = inProcessDaemons('hgreload-metrics-faults-');

  it('a failing reload and a missing root are counted; a file that cannot be written warns once; the daemon goes on', async () => {
    repo(join(base, 'root/a'));
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/root/*\ngone = ${base}/nowhere/*\n`);
    // A reload command that always fails, its stderr with a double quote, a backslash and a line feed.
    const command = join(base, 'reload.sh');
    writeFileSync(command, `#!/bin/sh\nprintf 'say "no" \\\\ twice\\nbye\\n' >&2\nexit 3\n`);
    chmodSync(command, 0o755);
    const file = join(base, 'not-yet/hgreload.prom'); // its folder does not exist yet
    const settings = parseSettings(`webconf = hgweb.config\n[reload]\nmethod = command\ncommand = ${command}\nstate = state\ndebounce = 20\n[metrics]\nfile = ${file}\n`, join(base, 'hgreload.ini'));
    const daemon = make(settings);
    await daemon.start();
    const warning = await log.waitFor((l) => l.level === 'warn' && l.msg.startsWith('cannot write the metrics file'), 'the warning');
    assert.match(warning.msg, new RegExp(`^cannot write the metrics file ${file} \\(No such file or directory\\); the daemon goes on without it`));

    // The daemon works on without its file (that a lasting failure warns only once, the unit test shows under hand-driven timers).
    let from = log.mark;
    repo(join(base, 'root/b'));
    await log.waitFor((l) => l.level === 'error' && l.msg.startsWith('reload failed'), 'the reload for b, failed', { from });
    assert.equal(daemon.status().repositories, 2);

    from = log.mark;
    mkdirSync(join(base, 'not-yet'));
    repo(join(base, 'root/c'));
    await log.waitFor((l) => l.msg === `metrics file ${file} written again`, 'the file written again', { from });
    assert.equal(log.items.filter((l) => l.level === 'warn' && l.msg.startsWith('cannot write the metrics file')).length, 1, 'one warning while it lasted');

    const { text, parsed: p } = await waitForMetrics(file, (m) => m.value('hgreload_repositories') === 3, 'the three repositories');
    assert.ok(p.value('hgreload_reloads_total', { method: 'command', result: 'failed' })! >= 2, text);
    assert.equal(p.value('hgreload_reloads_total', { method: 'command', result: 'ok' }), 0);
    assert.equal(p.value('hgreload_publish_latency_seconds_count'), 0, 'nothing published');
    assert.equal(p.value('hgreload_root_errors'), 1, 'the missing root');
    assert.ok(p.value('hgreload_last_error_timestamp_seconds')! > Date.now() / 1000 - 600);
    const info = p.families.get('hgreload_last_error_info')!.samples;
    assert.equal(info.length, 1);
    assert.match(info[0]!.labels.message!, /^reload failed: .*exit status 3: say "no" \\ twice\nbye/);
    assertPromtoolAccepts(text);
  });
});

describe('the daemon (built CLI) stopped by SIGTERM', () => {
  const dir = makeTempDir('hgreload-metrics-cli-');
  let d: DaemonProcess | undefined;
  after(async () => {
    await d?.stop();
    dir.remove();
  });

  it('writes its last file with hgreload_up 0, and exits 0', async () => {
    const base = dir.path;
    repo(join(base, 'root/a'));
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/root/*\n`);
    writeFileSync(join(base, 'hgreload.ini'), 'webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 20\n[metrics]\nfile = hgreload.prom\n');
    d = new DaemonProcess(['-c', join(base, 'hgreload.ini')]);
    await d.waitFor((l) => l.msg === 'ready', 'ready');
    const file = join(base, 'hgreload.prom');
    await waitForMetrics(file, (p) => p.value('hgreload_up') === 1 && p.value('hgreload_repositories') === 1, 'the running daemon');
    d.signal('SIGTERM');
    assert.equal(await d.exited, 0, d.output.join('\n'));
    const text = readFileSync(file, 'utf8');
    assert.equal(parsePromText(text).value('hgreload_up'), 0, text);
    assertPromtoolAccepts(text);
  });
});
