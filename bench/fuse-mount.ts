/**
 * A folder seen through FUSE (bindfs in the foreground, a child of the
 * bench): inotify on the mount hears nothing of what is done to the folder
 * underneath, as a host hears nothing of another host's changes on NFS, so
 * a change made there is one only polling finds. The attribute and entry
 * caches are off (as NFS with `noac`): the time to find a change is then the
 * poller's, not the kernel's cache's (FUSE keeps attributes 1 s by default).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const MOUNT_TIMEOUT_MS = 10_000;

export class FuseMount {
  private stderr = '';

  /** A run that exits without unmounting (an error, a signal) must not leave the mount behind. */
  private readonly atExit = (): void => void spawnSync('fusermount', ['-u', this.target]);

  private constructor(
    readonly target: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    process.on('exit', this.atExit);
    child.on('exit', () => process.off('exit', this.atExit));
  }

  /** bindfs's pid: its CPU is the file system's share of each look through the mount. */
  get pid(): number {
    return this.child.pid!;
  }

  /** `source` mounted at `target`, or why it could not be (no bindfs, no /dev/fuse, not allowed). */
  static async mount(source: string, target: string): Promise<FuseMount | string> {
    const child = spawn('bindfs', ['-f', '-o', 'attr_timeout=0,entry_timeout=0,negative_timeout=0', source, target], { stdio: ['ignore', 'ignore', 'pipe'] });
    const mount = new FuseMount(target, child);
    const failed = new Promise<string>((resolve) => {
      child.on('error', (err) => resolve(`bindfs could not run: ${err.message}`));
      child.on('exit', (code) => resolve(`bindfs exited (${code}): ${mount.stderr.trim()}`));
    });
    const deadline = performance.now() + MOUNT_TIMEOUT_MS;
    while (!mounted(target)) {
      const why = await Promise.race([failed, sleep(20).then(() => undefined)]);
      if (why !== undefined) return why;
      if (performance.now() > deadline) {
        child.kill();
        return `bindfs did not mount ${target} within ${MOUNT_TIMEOUT_MS / 1000} s: ${mount.stderr.trim()}`;
      }
    }
    return mount;
  }

  /** Unmounts (bindfs then exits by itself). */
  async unmount(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    const r = spawnSync('fusermount', ['-u', this.target], { encoding: 'utf8' });
    if (r.status !== 0) this.child.kill('SIGTERM');
    await exited;
  }
}

/** Whether a FUSE file system is mounted at exactly `path` (escapes in mount points are not decoded: the bench's paths have none). */
function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => {
      const [left, right] = line.split(' - ');
      return left?.split(' ')[4] === path && right?.startsWith('fuse') === true;
    });
}
