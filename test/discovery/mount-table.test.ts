/**
 * The mount table's answers for resolved paths, from a mountinfo text (no
 * mounts made): which mount a folder lies on, the last mount on a point
 * hiding the earlier, and the answer kept for a parent asked again.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MountTable, parseMountInfo } from '../../src/discovery/mount-table.js';

const line = (id: number, device: string, root: string, point: string, type: string): string => `${id} 1 ${device} ${root} ${point} rw,relatime shared:1 - ${type} src rw`;
/** The table of these mountinfo lines. */
const tableOf = (...lines: string[]): MountTable => new MountTable(parseMountInfo(lines.join('\n')));

describe('MountTable', () => {
  const table = tableOf(
    line(1, '8:1', '/', '/', 'ext4'),
    line(2, '0:40', '/', '/srv/hg', 'nfs4'),
    line(3, '0:41', '/export', '/srv/hg/mirror', 'fuse.bindfs'),
    line(4, '0:42', '/', '/srv/hg/mirror', 'tmpfs'),
    line(5, '0:43', '/', '/srv/my dir', 'ext4').replace('/srv/my dir', '/srv/my\\040dir'),
  );

  it('names the mount point a folder lies on, asked in any order (the parent answer kept must not leak)', () => {
    const asked: Array<[string, string | undefined]> = [
      ['/srv/hg/a/b', '/srv/hg'],
      ['/srv/hg/a/c', '/srv/hg'],
      ['/srv/hg/mirror', '/srv/hg/mirror'],
      ['/srv/hg/mirror/x', '/srv/hg/mirror'],
      ['/srv/hg/a/d', '/srv/hg'],
      ['/srv/other', '/'],
      ['/srv/hg', '/srv/hg'],
      ['/srv/my dir/r', '/srv/my dir'],
      ['/', '/'],
      ['/srv', '/'],
    ];
    for (const [path, point] of asked) {
      assert.equal(table.mountPointOf(path), point, path);
      assert.equal(table.mountPointOf(path), table.identify(path).mount?.mountPoint, `${path}: as identify says`);
    }
  });

  it('the later mount on a point hides the earlier', () => {
    assert.equal(table.identify('/srv/hg/mirror/x').mount?.fsType, 'tmpfs');
  });

  it('keys a folder by its path where one mount alone shows its file system, by device and inner path where a bind mount shows it twice', () => {
    const bound = tableOf(
      line(1, '8:1', '/', '/', 'ext4'),
      // /srv/hg of the root file system, bound again at /mnt/hg.
      line(2, '8:1', '/srv/hg', '/mnt/hg', 'ext4'),
      line(3, '0:40', '/', '/data', 'xfs'),
    );
    const key = (path: string): string => bound.key(bound.identify(path));
    assert.equal(key('/mnt/hg/a'), key('/srv/hg/a'), 'one folder through two mounts');
    assert.notEqual(key('/mnt/hg/a'), key('/srv/hg/b'));
    assert.notEqual(key('/srv/hg'), key('/srv'));
    assert.equal(key('/data/repos/a'), '/data/repos/a', 'a file system one mount shows: the path');
    assert.notEqual(key('/srv/hg/a'), '/srv/hg/a', 'the path alone would not tell /mnt/hg/a from it');
  });

  it('without a mount table, no folder has a mount point', () => {
    const none = new MountTable([]);
    for (const path of ['/', '/a', '/a/b', '/a/c']) assert.equal(none.mountPointOf(path), undefined, path);
  });
});
