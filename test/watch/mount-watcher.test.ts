/** MountWatcher on a mount table the test writes: the mount points that came, went or changed are told, each check. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MountWatcher } from '../../src/watch/mount-watcher.js';

const line = (id: number, device: string, point: string, fsType = 'ext4', source = '/dev/vda') => `${id} 1 ${device} / ${point} rw,relatime shared:1 - ${fsType} ${source} rw`;

describe('MountWatcher', () => {
  it('tells the mount points that came, went or changed, and nothing when the table is the same', () => {
    let table = [line(1, '8:1', '/'), line(2, '0:40', '/srv/hg', 'nfs4', 'server:/export')].join('\n');
    const told: string[][] = [];
    // No timer runs: the test calls check() itself.
    const timers = { setTimeout: () => 0, clearTimeout: () => {}, now: () => 0 };
    const watcher = new MountWatcher({ intervalMs: 1000, timers, read: () => table, onChange: (points) => told.push(points) });
    watcher.check();
    assert.deepEqual(told, []);
    table = [line(1, '8:1', '/'), line(2, '0:40', '/srv/hg', 'nfs4', 'server:/export'), line(3, '0:41', '/srv/hg/group', 'tmpfs', 'tmpfs')].join('\n');
    watcher.check();
    // Remounted from elsewhere: same point, another file system.
    table = [line(1, '8:1', '/'), line(4, '0:42', '/srv/hg', 'nfs4', 'other:/export')].join('\n');
    watcher.check();
    assert.deepEqual(told, [['/srv/hg/group'], ['/srv/hg', '/srv/hg/group']]);
    watcher.close();
  });
});
