/**
 * What operators watch: the daemon's figures as Prometheus metrics. What the
 * daemon's status already says (repositories, watches, polling, failing roots)
 * is read from it when the text is made; what status does not keep (reloads
 * counted by method and result, the latency from a change to its reload, the
 * last walk's duration, the last error) is kept here, told by the daemon.
 */
import type { DaemonStatus } from './daemon.js';
import { inotifyLimit } from '../watch/inotify-limits.js';
import { renderFamilies, type Family, type Sample } from './prom-text.js';

/** Seconds from the first change of a burst to hgweb reloaded: the debounce (500 ms) sits inside, a walk of 100,000 repositories takes seconds. */
export const LATENCY_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The last error's message is cut to this many characters: a label value, not a log. */
const MESSAGE_CHARS = 300;

export interface DaemonMetricsOptions {
  readonly now: () => Date;
  /** The kernel's inotify watch limit, or undefined when it cannot be read. */
  readonly watchLimit?: () => number | undefined;
}

export class DaemonMetrics {
  /** Method -> reloads by result; every method the daemon has used stays (a counter never goes away). */
  private readonly reloads = new Map<string, { ok: number; failed: number }>();
  private readonly latency = new Histogram(LATENCY_BUCKETS);
  private walkSeconds: number | undefined;
  private lastError: { readonly at: Date; readonly message: string } | undefined;
  private readonly watchLimit: () => number | undefined;

  constructor(private readonly options: DaemonMetricsOptions) {
    this.watchLimit = options.watchLimit ?? (() => inotifyLimit('max_user_watches'));
  }

  /** A full walk of every root finished after `ms`. */
  walked(ms: number): void {
    this.walkSeconds = ms / 1000;
  }

  /** A reload by `method` ended; `latencyMs` from the first change it answers, when a change asked for it. */
  reloaded(method: string, ok: boolean, latencyMs: number | undefined): void {
    const counts = this.counts(method);
    if (ok) counts.ok++;
    else counts.failed++;
    if (ok && latencyMs !== undefined) this.latency.observe(latencyMs / 1000);
  }

  /** A line was logged at error level (or fatal). */
  errorLogged(message: string): void {
    this.lastError = { at: this.options.now(), message: message.length > MESSAGE_CHARS ? `${message.slice(0, MESSAGE_CHARS - 3)}...` : message };
  }

  /** The text for the metrics file; `up` false for the last one a stopping daemon writes. */
  async render(status: DaemonStatus, up: boolean): Promise<string> {
    this.counts(status.method); // the current method's series exist from the start, so increase() sees its first reload
    const watchLimit = this.watchLimit();
    const gauge = (name: string, help: string, value: number | undefined): Family => ({ name, help, type: 'gauge', samples: value === undefined ? [] : [{ value }] });
    const flag = (value: boolean): number => (value ? 1 : 0);
    const reloads: Sample[] = [...this.reloads].flatMap(([method, counts]) => [
      { labels: { method, result: 'ok' }, value: counts.ok },
      { labels: { method, result: 'failed' }, value: counts.failed },
    ]);
    const lastPoll = status.polling.lastPollMs;
    return renderFamilies([
      gauge('hgreload_up', '1 while the daemon runs; 0 in the last file a stopping daemon writes.', flag(up)),
      gauge('hgreload_start_time_seconds', 'When the daemon started, in seconds since the epoch.', Date.parse(status.startedAt) / 1000),
      gauge('hgreload_repositories', 'Repositories hgweb serves, as the daemon last found them.', status.repositories),
      { name: 'hgreload_reloads_total', help: 'Reloads of hgweb, by reload method and result.', type: 'counter', samples: reloads },
      { name: 'hgreload_publish_latency_seconds', help: 'Seconds from the first change of a burst to hgweb reloaded with the new list.', type: 'histogram', samples: this.latency.samples() },
      { name: 'hgreload_walks_total', help: 'Walks of every root since the start (the start, the schedule, touch, and what only such a walk can tell).', type: 'counter', samples: [{ value: status.walks }] },
      gauge('hgreload_walk_duration_seconds', 'Seconds the last full walk of every root took.', this.walkSeconds),
      gauge('hgreload_poll_duration_seconds', 'Seconds the last poll of the polled folders took.', lastPoll === null ? undefined : lastPoll / 1000),
      gauge('hgreload_watches', 'Watches the daemon holds: folders, and hgweb.config with its %include files.', status.watches.folders + status.watches.configFiles),
      gauge('hgreload_watch_limit', 'The kernel limit on inotify watches per user (fs.inotify.max_user_watches).', watchLimit),
      gauge('hgreload_watch_limit_reached', '1 when the kernel refused a folder watch: only the scheduled rescans see those folders.', flag(status.watches.limitReached)),
      gauge('hgreload_polled_folders', 'Folders whose change stamps are polled beside inotify ([watch] poll).', status.polling.folders),
      ...this.clusterFamilies(status.cluster, gauge, flag),
      gauge('hgreload_root_errors', 'Roots whose walk fails now (each keeps its last good list, if it had one).', status.roots.filter((r) => r.error !== undefined).length),
      gauge('hgreload_config_error', '1 while hgweb.config cannot be used (the last good list is kept).', flag(status.configError !== null)),
      gauge('hgreload_last_error_timestamp_seconds', 'When the daemon last logged an error, in seconds since the epoch; 0 when it has not.', this.lastError === undefined ? 0 : this.lastError.at.getTime() / 1000),
      {
        name: 'hgreload_last_error_info',
        help: 'The message of the last error logged, as a label (one series, the latest).',
        type: 'gauge',
        samples: this.lastError === undefined ? [] : [{ labels: { message: this.lastError.message }, value: 1 }],
      },
    ]);
  }

  /** [cluster] database: no samples without one. */
  private clusterFamilies(cluster: DaemonStatus['cluster'], gauge: (name: string, help: string, value: number | undefined) => Family, flag: (value: boolean) => number): Family[] {
    const counter = (name: string, help: string, value: number | undefined): Family => ({ name, help, type: 'counter', samples: value === undefined ? [] : [{ value }] });
    return [
      gauge('hgreload_cluster_connected', '1 while the cluster database is reached; 0 while the daemon falls back to polling.', cluster === null ? undefined : flag(cluster.mode === 'database')),
      gauge('hgreload_cluster_leader', '1 while this daemon leads the cluster (hooks into new repositories, pruning).', cluster === null ? undefined : flag(cluster.leading)),
      counter('hgreload_cluster_events_sent_total', 'Events this daemon wrote for the other hosts since it started.', cluster?.sent),
      counter('hgreload_cluster_events_received_total', "Other hosts' events this daemon looked at since it started.", cluster?.received),
    ];
  }

  private counts(method: string): { ok: number; failed: number } {
    let counts = this.reloads.get(method);
    if (counts === undefined) this.reloads.set(method, (counts = { ok: 0, failed: 0 }));
    return counts;
  }
}

/** A classic Prometheus histogram: cumulative buckets, `+Inf` last, with `_sum` and `_count`. */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.bounds.forEach((bound, i) => {
      if (value <= bound) this.counts[i]!++;
    });
  }

  samples(): Sample[] {
    return [
      ...this.bounds.map((bound, i) => ({ suffix: '_bucket', labels: { le: String(bound) }, value: this.counts[i]! })),
      { suffix: '_bucket', labels: { le: '+Inf' }, value: this.count },
      { suffix: '_sum', value: this.sum },
      { suffix: '_count', value: this.count },
    ];
  }
}
