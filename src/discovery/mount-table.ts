/**
 * Directory identity without a stat per directory.
 *
 * hgweb's walk compares every directory's (st_dev, st_ino) with those it has
 * seen. Linux forbids hard links to directories, so two paths name the same
 * directory only through a symlink (which we resolve with realpath) or a mount
 * of the same file system twice (a bind mount). Mapping a resolved path through
 * the mount table to (device, path inside that file system) therefore gives the
 * same answer as comparing (st_dev, st_ino), while stat-ing only symlinks.
 */
import { readFileSync } from 'node:fs';

export interface Mount {
  /** major:minor of the mounted file system. */
  readonly device: string;
  /** The folder of that file system shown at the mount point. */
  readonly root: string;
  readonly mountPoint: string;
  /** The file system type (nfs4, fuse.bindfs, ext4...), the source, and the mount and super options, when mountinfo gives them. */
  readonly fsType?: string;
  readonly source?: string;
  readonly options?: string;
}

/** Where a resolved directory path lives: its mount and its path below the mount point. */
export interface DirIdentity {
  readonly mount: Mount | undefined;
  readonly canonical: string;
}

// mountinfo escapes space, tab, newline and backslash as octal.
const unescape = (field: string): string => field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

export function parseMountInfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 5) continue;
    // After the optional fields, a lone "-": the file system type, the source, the super options.
    const dash = fields.indexOf('-', 6);
    const tail = dash < 0 ? {} : { fsType: fields[dash + 1] ?? '', source: unescape(fields[dash + 2] ?? ''), options: [fields[5], fields[dash + 3]].filter((o) => o !== undefined && o !== '').join(',') };
    mounts.push({ device: fields[2]!, root: unescape(fields[3]!), mountPoint: unescape(fields[4]!), ...tail });
  }
  return mounts;
}

export class MountTable {
  // A later mount on the same point hides the earlier one, and mountinfo lists mounts in mount order.
  private readonly byPoint = new Map<string, Mount>();
  /** mountPointOf's last parent folder, and its mount point. */
  private lastParent: string | undefined;
  private lastPoint: string | undefined;

  /** Devices more than one mount shows (bind mounts): only there can two paths be one folder without a symlink. */
  private readonly shared = new Set<string>();

  constructor(mounts: readonly Mount[]) {
    const seen = new Set<string>();
    for (const m of mounts) {
      this.byPoint.set(m.mountPoint, m);
      if (seen.has(m.device)) this.shared.add(m.device);
      seen.add(m.device);
    }
  }

  static fromSystem(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): MountTable {
    try {
      return new MountTable(parseMountInfo(read('/proc/self/mountinfo')));
    } catch {
      // Without a mount table, resolved paths alone identify directories; only bind mounts go unseen.
      return new MountTable([]);
    }
  }

  /** Identity of a resolved (realpath) directory path. */
  identify(canonical: string): DirIdentity {
    for (let p = canonical; ; ) {
      const mount = this.byPoint.get(p);
      if (mount !== undefined) return { mount, canonical };
      if (p === '/') return { mount: undefined, canonical };
      const i = p.lastIndexOf('/');
      p = i <= 0 ? '/' : p.slice(0, i);
    }
  }

  /**
   * The mount point `canonical` (a resolved path) lies on, or undefined with
   * no mount table. Asked for folder after folder in a walk's order, where
   * most share their parent with the one before: that parent's answer is
   * kept.
   */
  mountPointOf(canonical: string): string | undefined {
    if (this.byPoint.has(canonical)) return canonical;
    if (canonical === '/') return undefined;
    const slash = canonical.lastIndexOf('/');
    const parent = slash <= 0 ? '/' : canonical.slice(0, slash);
    if (parent !== this.lastParent) {
      this.lastParent = parent;
      this.lastPoint = this.identify(parent).mount?.mountPoint;
    }
    return this.lastPoint;
  }

  /** Identity of `name` inside a directory whose identity is known: no prefix search unless it is a mount point. */
  child(parent: DirIdentity, name: string): DirIdentity {
    const canonical = parent.canonical === '/' ? `/${name}` : `${parent.canonical}/${name}`;
    const mount = this.byPoint.get(canonical);
    return { mount: mount ?? parent.mount, canonical };
  }

  /** Whether a file system is mounted somewhere below the resolved `folder`. */
  pointsBelow(folder: string): boolean {
    const below = folder === '/' ? '/' : `${folder}/`;
    for (const point of this.byPoint.keys()) if (point.startsWith(below) && point !== folder) return true;
    return false;
  }

  /**
   * A string equal for two identities exactly when they are the same
   * directory: the resolved path itself where one mount alone shows its file
   * system (no string made per folder: a walk keeps one per folder it saw),
   * else the device and the path inside it (which starts with the device, so
   * never equals a path).
   */
  key(id: DirIdentity): string {
    if (id.mount === undefined || !this.shared.has(id.mount.device)) return id.canonical;
    const rest = id.canonical.slice(id.mount.mountPoint === '/' ? 0 : id.mount.mountPoint.length);
    const inFileSystem = (id.mount.root === '/' ? '' : id.mount.root) + rest;
    return `${id.mount.device}\0${inFileSystem === '' ? '/' : inFileSystem}`;
  }
}
