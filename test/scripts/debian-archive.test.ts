/**
 * scripts/debian-archive.sh reads the archive from apt's sources as apt does,
 * on sample apt folders (APT_DIR): deb822 stanzas (comments, a disabled one,
 * several URIs), one-line entries with options, a security archive listed
 * first; and says why when there is none.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, PROJECT_ROOT } from '../helpers/run.js';

const codename = /^VERSION_CODENAME=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'bookworm';

describe('scripts/debian-archive.sh', () => {
  const dir = makeTempDir('hgreload-apt-');
  after(() => dir.remove());
  let n = 0;
  const archive = (files: Record<string, string>) => {
    const apt = join(dir.path, `apt${n++}`);
    mkdirSync(join(apt, 'sources.list.d'), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(apt, name), text);
    return spawnSync(join(PROJECT_ROOT, 'scripts/debian-archive.sh'), { encoding: 'utf8', env: { ...process.env, APT_DIR: apt } });
  };

  it('takes the deb822 stanza whose suites name this release, not a security or disabled one', () => {
    const r = archive({
      'sources.list.d/debian.sources': [
        'Types: deb',
        '# a comment inside the stanza',
        'URIs: http://security.example.invalid/debian-security',
        `Suites: ${codename}-security`,
        'Components: main',
        '',
        'Enabled: no',
        'Types: deb',
        'URIs: http://disabled.example.invalid/debian',
        `Suites: ${codename}`,
        '',
        'Types: deb-src deb',
        'URIs: http://main.example.invalid/debian/ http://second.example.invalid/debian',
        `Suites: ${codename} ${codename}-updates`,
        'Components: main',
        '',
      ].join('\n'),
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'http://main.example.invalid/debian\n');
  });

  it('takes a one-line entry, with its options', () => {
    const r = archive({
      'sources.list': `deb http://security.example.invalid/debian-security ${codename}-security main\n# deb http://commented.example.invalid/debian ${codename} main\ndeb [arch=amd64 signed-by=/x.gpg] http://line.example.invalid/debian ${codename} main contrib\n`,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'http://line.example.invalid/debian\n');
  });

  it('says why when no source names this release', () => {
    const r = archive({ 'sources.list': 'deb http://other.example.invalid/debian some-other-suite main\n' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`no apt source for ${codename} in .*sources\\.list`));
  });
});
