/**
 * Whom every Mercurial here trusts beside an hgrc's owner, read from the
 * system-wide configuration as Mercurial reads it (HGRCPATH: files, and
 * folders of *.rc files), compared with Mercurial's own answer.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemTrust, trustedByEveryone } from '../../src/hooks/trust.js';
import { makeTempDir } from '../helpers/run.js';

describe('system-wide [trusted]', () => {
  const dir = makeTempDir('hgreload-trust-');
  after(() => dir.remove());

  it('reads HGRCPATH files and *.rc folders; a group or user listed there is trusted', () => {
    const d = join(dir.path, 'hgrc.d');
    mkdirSync(d);
    writeFileSync(join(dir.path, 'hgrc'), '[trusted]\nusers = alice, bob\n');
    writeFileSync(join(d, '10-hosting.rc'), '[trusted]\ngroups = nogroup\n');
    writeFileSync(join(d, 'ignored.conf'), '[trusted]\ngroups = root\n');
    const env = { HGRCPATH: `${join(dir.path, 'hgrc')}:${d}` };
    const trust = systemTrust(env);
    // Mercurial itself, with the same HGRCPATH, agrees on what [trusted] holds.
    const hg = (name: string) => spawnSync('hg', ['config', `trusted.${name}`], { encoding: 'utf8', env: { ...process.env, ...env } }).stdout.trim();
    assert.equal(hg('users'), [...trust.users].join(', '));
    assert.equal(hg('groups'), [...trust.groups].join(''));
    const nogroup = Number(spawnSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).stdout.split(':')[2]);
    assert.equal(trustedByEveryone(65534, nogroup, trust), true, 'a file of the trusted group');
    assert.equal(trustedByEveryone(65534, 0, trust), false, 'nobody:root is trusted by no one but nobody');
    assert.equal(trustedByEveryone(0, 0, systemTrust({ HGRCPATH: join(dir.path, 'none') })), false);
  });
});
