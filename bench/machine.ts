/** What the figures were measured on, for the README to quote with them. */
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { availableParallelism, cpus, release, type } from 'node:os';
import { SYSTEM_PYTHON } from './contenders.js';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly os: string;
  /** File system type of the folder the trees are built in: it decides most of the walk's cost. */
  readonly fileSystem: string;
  readonly node: string;
  readonly mercurial: string;
  readonly date: string;
}

export function describeMachine(workDir: string): Machine {
  return {
    cpu: cpuModel(),
    cores: availableParallelism(),
    os: `${type()} ${release()}`,
    fileSystem: fileSystemType(realpathSync(workDir)),
    node: process.version,
    mercurial: mercurialVersion(),
    date: new Date().toISOString().slice(0, 10),
  };
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux: fall through to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown CPU';
}

/** The type of the mount holding `path` (longest mount point that contains it). */
function fileSystemType(path: string): string {
  let best = { point: '', type: 'unknown' };
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      // "id parent dev root MOUNTPOINT options ... - TYPE source ..."; escapes in mount points are ignored here.
      const [left, right] = line.split(' - ');
      const point = left?.split(' ')[4];
      const fsType = right?.split(' ')[0];
      if (point === undefined || fsType === undefined) continue;
      const contains = point === '/' || path === point || path.startsWith(`${point}/`);
      if (contains && point.length >= best.point.length) best = { point, type: fsType };
    }
  } catch {
    // no mountinfo: unknown
  }
  return best.type;
}

/** Fails loudly: without Mercurial there is nothing to check hgreload against. */
function mercurialVersion(): string {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'from mercurial import util; print(util.version().decode())'], {
    encoding: 'utf8',
    env: { ...process.env, HGRCPATH: '' },
  });
  if (r.status !== 0) {
    throw new Error(`${SYSTEM_PYTHON} cannot import mercurial (install Debian's "mercurial" package)\n${r.stderr ?? r.error}`);
  }
  return r.stdout.trim();
}
