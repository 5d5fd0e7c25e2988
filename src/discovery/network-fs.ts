/**
 * File systems whose folders other hosts change too: network and FUSE file
 * systems. On them inotify sees only what this host did through its own
 * mount, and reads are slow enough that overlapping them pays.
 */
import { statfsSync } from 'node:fs';
import { fsPath } from './fs-names.js';

// statfs(2) f_type of the network file systems repositories are commonly served from.
const NETWORK_FS_TYPES: ReadonlyMap<number, string> = new Map([
  [0x6969, 'NFS'],
  [0xff534d42, 'CIFS'],
  [0xfe534d42, 'SMB2'],
  [0x517b, 'SMB'],
  [0x00c36400, 'Ceph'],
  [0x65735546, 'FUSE'], // sshfs, bindfs and friends
  [0x47504653, 'GPFS'],
  [0x0bd00bd0, 'Lustre'],
]);

/** The network file system holding `path` ('NFS', 'FUSE', ...), or undefined for a local one (or one that cannot be told). */
export function networkFileSystem(path: string): string | undefined {
  try {
    return NETWORK_FS_TYPES.get(statfsSync(fsPath(path)).type);
  } catch {
    return undefined;
  }
}
