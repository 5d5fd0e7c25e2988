/**
 * doctor on shared storage: a root on NFS with its attribute-cache options
 * read from mountinfo, and a root on a real FUSE mount (bindfs), polled or not.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSettings } from '../../src/config/settings.js';
import { MountTable, parseMountInfo } from '../../src/discovery/mount-table.js';
import { directoryCacheSeconds, sharedStorage } from '../../src/doctor/shared-storage.js';
import type { Finding } from '../../src/doctor/finding.js';
import { makeTempDir, runCli } from '../helpers/run.js';

const NFS = [
  '25 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '90 25 0:51 / /srv/hg rw,relatime shared:40 - nfs4 files:/export/hg rw,vers=4.2,rsize=1048576,acdirmin=10,lookupcache=positive,hard',
  '91 25 0:52 / /srv/old rw,relatime shared:41 - nfs files:/export/old rw,vers=3,noac',
  '92 25 0:53 / /srv/plain rw,relatime shared:42 - nfs files:/export/plain rw,vers=3',
].join('\n');

describe('doctor: shared storage', () => {
  const dir = makeTempDir('hgreload-doctor-shared-');
  const base = dir.path;
  const mount = join(base, 'mnt');
  before(() => {
    mkdirSync(join(base, 'store/repos/a/.hg'), { recursive: true });
    mkdirSync(mount);
    const r = spawnSync('bindfs', [join(base, 'store'), mount], { encoding: 'utf8' });
    assert.equal(r.status, 0, `bindfs: ${r.stderr}`);
  });
  after(() => {
    spawnSync('fusermount', ['-u', mount]);
    dir.remove();
  });

  it("reads NFS's attribute-cache options: acdirmin, actimeo, noac, and the default", () => {
    const mounts = parseMountInfo(NFS);
    assert.deepEqual(directoryCacheSeconds(mounts[1]!), { seconds: 10, why: 'acdirmin=10, lookupcache=positive' });
    assert.deepEqual(directoryCacheSeconds(mounts[2]!), { seconds: 0, why: 'noac' });
    assert.deepEqual(directoryCacheSeconds(mounts[3]!), { seconds: 30, why: 'acdirmin=30 (the default)' });
    assert.equal(directoryCacheSeconds(mounts[0]!), undefined);
    const settings = parseSettings('', undefined);
    const f = sharedStorage(settings, [{ kind: 'walk', prefix: '', folder: '/srv/hg/repos', recurse: false, source: 'x' }], '/', new MountTable(mounts));
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /^\/srv\/hg\/repos is on nfs4 \(files:\/export\/hg at \/srv\/hg\): polled every 5000 ms .* a bare stat could be 10 s late \(acdirmin=10, lookupcache=positive\)/);
  });

  it('a root on a FUSE mount: polled, or a warning with poll = never', () => {
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${mount}/repos/*\n`);
    const doctor = (poll: string) => {
      writeFileSync(join(base, 'hgreload.ini'), `webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\n[watch]\npoll = ${poll}\n`);
      const r = runCli(['-c', join(base, 'hgreload.ini'), 'doctor', '--json', '--apache-root', join(base, 'no-apache')]);
      return (JSON.parse(r.stdout) as Finding[]).filter((x) => x.check === 'shared storage');
    };
    let f = doctor('auto');
    assert.equal(f[0]?.level, 'info');
    assert.match(f[0]!.message, /repos is on fuse(blk|\.bindfs)? .*polled every 5000 ms beside inotify/);
    f = doctor('never');
    assert.equal(f[0]?.level, 'warn');
    assert.match(f[0]!.message, /inotify does not see what other hosts change there, and \[watch\] poll = never/);
  });
});
