/**
 * The metrics, piece by piece: Prometheus' text format as rendered here
 * (escaping, types, values), the daemon's figures, the file's writer (under
 * hand-driven timers: time moves only when the test says), the error tap,
 * and the strict reader the daemon tests use. `promtool check metrics`, the
 * format's own checker, reads the rendered text too.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Timers } from '../../src/daemon/coalescer.js';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { createLogger, tapErrors } from '../../src/daemon/logger.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { MetricsFile } from '../../src/daemon/metrics-file.js';
import { escapeHelp, escapeLabelValue, formatValue, renderFamilies } from '../../src/daemon/prom-text.js';
import type { LogLine } from '../helpers/daemon-process.js';
import { parsePromText } from '../helpers/prom-text.js';
import { promtoolCheckMetrics } from '../helpers/promtool.js';

const status = (over: Partial<DaemonStatus> = {}): DaemonStatus => ({
  pid: 1,
  startedAt: '2026-01-02T03:04:05.000Z',
  webconf: '/x/hgweb.config',
  method: 'publish',
  roots: [
    { kind: 'collection', prefix: '', folder: '/srv/a' },
    { kind: 'collection', prefix: 'b', folder: '/srv/b', error: 'EIO', kept: 3 },
  ],
  repositories: 12,
  walks: 1,
  cluster: null,
  watches: { folders: 7, configFiles: 2, limitReached: false, way: 'inotify' },
  polling: { folders: 0, intervalMs: 5000, fileSystems: [], lastPollMs: null },
  leadership: null,
  lastReload: null,
  lastScan: null,
  pending: false,
  pendingReasons: [],
  configError: null,
  requests: {},
  hooksWaiting: 0,
  ...over,
});

describe('Prometheus text format', () => {
  it('escapes backslash, double quote and line feed in label values, backslash and line feed in HELP', () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    assert.equal(escapeHelp('a\\b"c\nd'), 'a\\\\b"c\\nd');
  });

  it('writes values as Go reads them', () => {
    assert.deepEqual([NaN, Infinity, -Infinity, 0, 1.5, 1e-7, 12345678901234].map(formatValue), ['NaN', '+Inf', '-Inf', '0', '1.5', '1e-7', '12345678901234']);
  });

  it('one HELP and TYPE per family, then its samples one a line; a family without samples is left out', () => {
    const text = renderFamilies([
      { name: 'x_total', help: 'Things.\nCounted "here" \\ there.', type: 'counter', samples: [{ labels: { kind: 'a"b\nc\\d' }, value: 2 }, { labels: { kind: 'e' }, value: 0 }] },
      { name: 'x_unknown', help: 'Not yet known.', type: 'gauge', samples: [] },
      { name: 'x_seconds', help: 'A histogram.', type: 'histogram', samples: [{ suffix: '_bucket', labels: { le: '+Inf' }, value: 1 }, { suffix: '_sum', value: 0.5 }, { suffix: '_count', value: 1 }] },
    ]);
    assert.equal(
      text,
      [
        '# HELP x_total Things.\\nCounted "here" \\\\ there.',
        '# TYPE x_total counter',
        'x_total{kind="a\\"b\\nc\\\\d"} 2',
        'x_total{kind="e"} 0',
        '# HELP x_seconds A histogram.',
        '# TYPE x_seconds histogram',
        'x_seconds_bucket{le="+Inf"} 1',
        'x_seconds_sum 0.5',
        'x_seconds_count 1',
        '',
      ].join('\n'),
    );
    const parsed = parsePromText(text);
    assert.equal(parsed.value('x_total', { kind: 'a"b\nc\\d' }), 2, 'the escapes read back');
    assert.equal(parsed.families.get('x_total')?.help, 'Things.\nCounted "here" \\ there.');
    assert.equal(parsed.families.has('x_unknown'), false);
    const check = promtoolCheckMetrics(text);
    assert.equal(check.status, 0, check.output);
  });

  it('refuses names the format does not allow, and a family given twice', () => {
    assert.throws(() => renderFamilies([{ name: 'x-y', help: '', type: 'gauge', samples: [{ value: 1 }] }]), /not a metric name/);
    assert.throws(() => renderFamilies([{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { 'a-b': '' }, value: 1 }] }]), /not a label name/);
    assert.throws(() => renderFamilies([{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { __name__: '' }, value: 1 }] }]), /not a label name/);
    const x = { name: 'x', help: '', type: 'gauge', samples: [{ value: 1 }] } as const;
    assert.throws(() => renderFamilies([x, x]), /given twice/);
  });
});

describe('the strict reader (test helper)', () => {
  const refuses = (text: string, pattern: RegExp) => assert.throws(() => parsePromText(text), pattern);
  it('refuses what the format or the textfile collector does not allow', () => {
    refuses('# TYPE a gauge\na 1 1700000000000\n', /timestamp/);
    refuses('# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n', /must be together/);
    refuses('a 1\n', /before its family's TYPE/);
    refuses('# TYPE a gauge\na{x="\\t"} 1\n', /an escape the format does not have/);
    refuses('# TYPE a gauge\na 1', /line feed/);
    refuses('# TYPE a counter\na -1\n', /below zero/);
    refuses('# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n', /the same series twice/);
    refuses('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /not cumulative/);
    refuses('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n', /_count is not the \+Inf bucket/);
  });
});

describe('DaemonMetrics', () => {
  const at = new Date('2026-01-02T03:05:00.000Z');
  const make = (limit: { value: number | undefined } = { value: 8192 }) => new DaemonMetrics({ now: () => at, watchLimit: () => limit.value });

  it("renders the daemon's figures, every series promtool accepts", async () => {
    const m = make();
    m.walked(1234);
    m.reloaded('publish', true, 80);
    m.reloaded('publish', true, 3000);
    m.reloaded('publish', false, 50);
    m.reloaded('publish', true, undefined); // the catch-up reload at start answers no change: no latency
    m.errorLogged('reload failed: exit status 3: say "no"\nand \\ more');
    const text = await m.render(status({ polling: { folders: 4, intervalMs: 5000, fileSystems: ['nfs'], lastPollMs: 25 } }), true);
    const p = parsePromText(text);
    assert.equal(p.value('hgreload_up'), 1);
    assert.equal(p.value('hgreload_start_time_seconds'), Date.parse('2026-01-02T03:04:05.000Z') / 1000);
    assert.equal(p.value('hgreload_repositories'), 12);
    assert.equal(p.value('hgreload_reloads_total', { method: 'publish', result: 'ok' }), 3);
    assert.equal(p.value('hgreload_reloads_total', { method: 'publish', result: 'failed' }), 1);
    assert.equal(p.value('hgreload_publish_latency_seconds_count'), 2);
    assert.equal(p.value('hgreload_publish_latency_seconds_sum'), 3.08);
    assert.equal(p.value('hgreload_publish_latency_seconds_bucket', { le: '0.05' }), 0);
    assert.equal(p.value('hgreload_publish_latency_seconds_bucket', { le: '0.1' }), 1);
    assert.equal(p.value('hgreload_publish_latency_seconds_bucket', { le: '5' }), 2);
    assert.equal(p.value('hgreload_walk_duration_seconds'), 1.234);
    assert.equal(p.value('hgreload_walks_total'), 1);
    assert.equal(p.value('hgreload_poll_duration_seconds'), 0.025);
    assert.equal(p.value('hgreload_watches'), 9);
    assert.equal(p.value('hgreload_watch_limit'), 8192);
    assert.equal(p.value('hgreload_watch_limit_reached'), 0);
    assert.equal(p.value('hgreload_polled_folders'), 4);
    assert.equal(p.value('hgreload_root_errors'), 1);
    assert.equal(p.value('hgreload_config_error'), 0);
    assert.equal(p.value('hgreload_last_error_timestamp_seconds'), at.getTime() / 1000);
    assert.equal(p.value('hgreload_last_error_info', { message: 'reload failed: exit status 3: say "no"\nand \\ more' }), 1);
    for (const [name, f] of p.families) assert.ok(f.help !== undefined && f.type !== undefined, name);
    assert.equal(p.families.get('hgreload_reloads_total')?.type, 'counter');
    assert.equal(p.families.get('hgreload_publish_latency_seconds')?.type, 'histogram');
    const check = promtoolCheckMetrics(text);
    assert.equal(check.status, 0, check.output);
  });

  it('before anything happened: zeros where zero is true, and no figure that is not known yet', async () => {
    const text = await make({ value: undefined }).render(status({ roots: [] }), false);
    const p = parsePromText(text);
    assert.equal(p.value('hgreload_up'), 0);
    assert.equal(p.value('hgreload_reloads_total', { method: 'publish', result: 'ok' }), 0, 'the series exist before the first reload');
    assert.equal(p.value('hgreload_reloads_total', { method: 'publish', result: 'failed' }), 0);
    assert.equal(p.value('hgreload_publish_latency_seconds_count'), 0);
    assert.equal(p.value('hgreload_last_error_timestamp_seconds'), 0);
    assert.equal(p.value('hgreload_root_errors'), 0);
    for (const absent of ['hgreload_walk_duration_seconds', 'hgreload_poll_duration_seconds', 'hgreload_watch_limit', 'hgreload_last_error_info']) {
      assert.equal(p.families.has(absent), false, absent);
    }
    assert.doesNotMatch(text, /NaN/);
    const check = promtoolCheckMetrics(text);
    assert.equal(check.status, 0, check.output);
  });

  it('keeps the counters of a method used before new settings, and only the latest error message', async () => {
    const m = make();
    m.reloaded('touch', true, 10);
    m.errorLogged('first');
    m.errorLogged('x'.repeat(1000));
    const p = parsePromText(await m.render(status(), true));
    assert.equal(p.value('hgreload_reloads_total', { method: 'touch', result: 'ok' }), 1);
    assert.equal(p.value('hgreload_reloads_total', { method: 'publish', result: 'ok' }), 0);
    const info = p.families.get('hgreload_last_error_info')!.samples;
    assert.equal(info.length, 1, 'one series: the latest message');
    assert.equal(info[0]!.labels.message!.length, 300);
  });
});

/** Timers that move only when the test says so. */
class HandTimers implements Timers {
  time = 0;
  private pending: Array<{ at: number; fn: () => void; id: number }> = [];
  private ids = 0;
  readonly setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.ids;
    this.pending.push({ at: this.time + ms, fn, id });
    return id;
  };
  readonly clearTimeout = (handle: unknown): void => void (this.pending = this.pending.filter((p) => p.id !== handle));
  readonly now = (): number => this.time;
  /** Moves time on by `ms`, running what falls due, and lets the writes it starts finish. */
  async tick(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      const next = this.pending.filter((p) => p.at <= end).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.time = next.at;
      next.fn();
    }
    this.time = end;
    await settle();
  }
  get waiting(): number {
    return this.pending.length;
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('MetricsFile', () => {
  const setUp = ({ file }: { file: string | undefined } = { file: '/m/hgreload.prom' }) => {
    const timers = new HandTimers();
    const writes: Array<{ path: string; text: string; at: number }> = [];
    const removed: string[] = [];
    const lines: LogLine[] = [];
    let failWith: Error | undefined;
    let n = 0;
    const metricsFile = new MetricsFile({
      file,
      render: async (up) => `write ${++n} up ${up ? 1 : 0}\n`,
      timers,
      log: createLogger('debug', { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) }),
      write: async (path, text) => {
        if (failWith !== undefined) throw failWith;
        writes.push({ path, text, at: timers.time });
      },
      remove: async (path) => void removed.push(path),
    });
    return { timers, writes, removed, lines, metricsFile, fail: (err: Error | undefined) => (failWith = err) };
  };

  it('writes at once when asked, never twice within a second, and every minute regardless', async () => {
    const { timers, writes, metricsFile } = setUp();
    await timers.tick(0);
    assert.equal(writes.length, 0, 'nothing before the first request');
    metricsFile.update();
    await timers.tick(0);
    assert.deepEqual(writes.map((w) => w.at), [0]);
    // A hot loop of requests: one write a second at most.
    for (let t = 0; t < 3000; t += 10) {
      metricsFile.update();
      await timers.tick(10);
    }
    assert.deepEqual(writes.map((w) => w.at), [0, 1000, 2000, 3000]);
    // Quiet: a write every minute, each a full render.
    await timers.tick(125_000);
    assert.deepEqual(writes.map((w) => w.at).slice(4), [63_000, 123_000]);
    assert.equal(writes.at(-1)!.text, 'write 6 up 1\n');
    await metricsFile.close();
  });

  it('close writes the last file with up 0, once, and nothing after it', async () => {
    const { timers, writes, metricsFile } = setUp();
    metricsFile.update();
    await timers.tick(0);
    metricsFile.update(); // due in a second: close comes first
    await Promise.all([metricsFile.close(), metricsFile.close()]);
    metricsFile.update();
    await timers.tick(120_000);
    assert.deepEqual(writes.map((w) => w.text), ['write 1 up 1\n', 'write 2 up 0\n']);
    assert.equal(timers.waiting, 0);
  });

  it('a write that fails is logged once while it lasts, and its end is said', async () => {
    const { timers, writes, lines, metricsFile, fail } = setUp();
    fail(Object.assign(new Error("EROFS: read-only file system, open '/m/.hgreload.prom.x'"), { code: 'EROFS' }));
    for (let i = 0; i < 5; i++) {
      metricsFile.update();
      await timers.tick(1000);
    }
    const warnings = lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    assert.match(warnings[0]!.msg, /cannot write the metrics file \/m\/hgreload\.prom \(EROFS: read-only file system.*\); the daemon goes on without it/);
    assert.match(warnings[0]!.msg, /ReadWritePaths=/);
    fail(undefined);
    metricsFile.update();
    await timers.tick(1000);
    assert.equal(writes.length, 1);
    assert.ok(lines.some((l) => l.level === 'info' && l.msg === 'metrics file /m/hgreload.prom written again'));
    await metricsFile.close();
  });

  it('no file: never writes, never keeps a timer', async () => {
    const { timers, writes, metricsFile } = setUp({ file: undefined });
    metricsFile.update();
    await timers.tick(120_000);
    await metricsFile.close();
    assert.equal(writes.length, 0);
    assert.equal(timers.waiting, 0);
  });

  it('a new file from new settings: the old one is removed, the new one written', async () => {
    const { timers, writes, removed, metricsFile } = setUp();
    metricsFile.update();
    await timers.tick(0);
    await metricsFile.setFile('/n/hgreload.prom');
    await timers.tick(1000);
    assert.deepEqual(removed, ['/m/hgreload.prom']);
    assert.deepEqual(writes.map((w) => w.path), ['/m/hgreload.prom', '/n/hgreload.prom']);
    await metricsFile.close();
    assert.equal(writes.at(-1)!.path, '/n/hgreload.prom');
  });
});

describe('tapErrors', () => {
  it('tells every error and fatal line, whatever its form and the level set; the log itself is unchanged', () => {
    const lines: LogLine[] = [];
    const seen: string[] = [];
    const log = tapErrors(createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) }), (m) => seen.push(m));
    log.info('not an error');
    log.warn({ a: 1 }, 'nor this');
    log.error('plain %s', 'text');
    log.error({ err: new Error('boom') }, 'reload failed: boom');
    log.error(new Error('alone'));
    log.error({ err: new Error('from err') });
    log.fatal('could not start');
    log.child({ x: 1 }).info('a child logs as before');
    assert.deepEqual(seen, ['plain text', 'reload failed: boom', 'alone', 'from err', 'could not start']);
    assert.deepEqual(lines.map((l) => l.msg), ['not an error', 'nor this', 'plain text', 'reload failed: boom', 'alone', 'from err', 'could not start', 'a child logs as before']);
    const silent: string[] = [];
    tapErrors(createLogger('silent'), (m) => silent.push(m)).error('still an error');
    assert.deepEqual(silent, ['still an error']);
  });
});
