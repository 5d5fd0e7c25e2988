/**
 * A file system mounted over a watched folder (or unmounted from it) makes no
 * inotify event, and the watch stays on the folder it covers: repositories
 * made in the mounted file system went unseen for good, and its file system
 * (a network one, say) stayed cached as the local one beneath, so it was not
 * polled either. The kernel's mount table costs a few kilobytes to read, so
 * it is read again every few seconds, and the mount points that came, went or
 * changed are told.
 */
import { readFileSync } from 'node:fs';
import type { Timers } from '../daemon/coalescer.js';
import { parseMountInfo, type Mount } from '../discovery/mount-table.js';

export interface MountWatcherOptions {
  readonly intervalMs: number;
  readonly timers: Timers;
  readonly onChange: (mountPoints: string[]) => void;
  /** The mount table's text (/proc/self/mountinfo). */
  readonly read?: () => string;
}

const readMountInfo = (): string => readFileSync('/proc/self/mountinfo', 'utf8');

export class MountWatcher {
  private table: Map<string, string>;
  private timer: unknown;
  private closed = false;

  constructor(private readonly options: MountWatcherOptions) {
    this.table = this.read();
    this.schedule();
  }

  /** Idempotent. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Reads the table now; tells what changed since the last read. */
  check(): void {
    const table = this.read();
    const changed = changedMountPoints(this.table, table);
    this.table = table;
    if (changed.length > 0) this.options.onChange(changed);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.options.timers.setTimeout(() => {
      this.check();
      this.schedule();
    }, this.options.intervalMs);
  }

  private read(): Map<string, string> {
    try {
      return tableOf(parseMountInfo((this.options.read ?? readMountInfo)()));
    } catch {
      return this.table ?? new Map();
    }
  }
}

/** Mount point -> what is mounted there, the last mount on a point being the one seen. */
function tableOf(mounts: readonly Mount[]): Map<string, string> {
  return new Map(mounts.map((m) => [m.mountPoint, `${m.device} ${m.root} ${m.fsType ?? ''} ${m.source ?? ''}`]));
}

/** The mount points whose file system came, went or changed between two tables. */
export function changedMountPoints(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const changed = new Set<string>();
  for (const [point, what] of after) if (before.get(point) !== what) changed.add(point);
  for (const point of before.keys()) if (!after.has(point)) changed.add(point);
  return [...changed].sort();
}
