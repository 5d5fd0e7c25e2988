/**
 * The shipped systemd units pass `systemd-analyze verify` without a single
 * warning and rate SAFE; the template for several hgweb.configs on one host
 * (hgreload@NAME) is hardened line for line as the plain unit.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, makeTempDir, PROJECT_ROOT } from '../helpers/run.js';

describe('systemd/hgreload.service', () => {
  const dir = makeTempDir('hgreload-unit-');
  after(() => dir.remove());
  const unit = readFileSync(join(PROJECT_ROOT, 'systemd/hgreload.service'), 'utf8');
  const copy = join(dir.path, 'hgreload.service');
  before(() => {
    // systemd-analyze insists that ExecStart exists: point it at the built CLI, the rest of the unit unchanged.
    writeFileSync(copy, unit.replace(/^ExecStart=\/usr\/local\/bin\/hgreload /m, `ExecStart=${CLI} `));
    chmodSync(CLI, 0o755);
  });

  it('passes systemd-analyze verify with no warning', () => {
    const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    assert.equal(r.error, undefined, 'systemd-analyze must be installed (.ci/run installs systemd)');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
  });

  it('exposes little: systemd-analyze security rates it SAFE (exposure at most 1.0 of 10)', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--threshold=10', copy], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Overall exposure level for hgreload\.service: 0\.\d SAFE/);
  });

  it('runs unprivileged and hardened, and restarts on failure', () => {
    for (const line of ['User=hgreload', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'StateDirectory=hgreload', 'Restart=on-failure', 'CapabilityBoundingSet=', 'ExecReload=/bin/kill -HUP $MAINPID']) {
      assert.ok(unit.split('\n').includes(line), line);
    }
  });
});

describe('systemd/hgreload@.service, one daemon per hgweb.config', () => {
  const dir = makeTempDir('hgreload-unit-template-');
  after(() => dir.remove());
  const plain = readFileSync(join(PROJECT_ROOT, 'systemd/hgreload.service'), 'utf8');
  const template = readFileSync(join(PROJECT_ROOT, 'systemd/hgreload@.service'), 'utf8');
  // An instance, as systemctl start hgreload@site1 makes it.
  const copy = join(dir.path, 'hgreload@site1.service');
  before(() => {
    writeFileSync(join(dir.path, 'hgreload@.service'), template.replace(/^ExecStart=\/usr\/local\/bin\/hgreload /m, `ExecStart=${CLI} `));
    writeFileSync(copy, template.replace(/^ExecStart=\/usr\/local\/bin\/hgreload /m, `ExecStart=${CLI} `));
    chmodSync(CLI, 0o755);
  });

  it('an instance passes systemd-analyze verify with no warning, and rates SAFE', () => {
    const verify = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(`${verify.stdout}${verify.stderr}`.trim(), '');
    const security = spawnSync('systemd-analyze', ['security', '--offline=true', '--threshold=10', copy], { encoding: 'utf8' });
    assert.equal(security.status, 0, `${security.stdout}\n${security.stderr}`);
    assert.match(security.stdout, /Overall exposure level for hgreload@site1\.service: 0\.\d SAFE/);
  });

  it('reads /etc/hgreload/NAME.ini, keeps its state in /var/lib/hgreload/NAME, and differs from the plain unit in nothing else', () => {
    const settings = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    const expected = settings(plain).map((l) =>
      l
        .replace("Description=hgreload: keep", 'Description=hgreload for %i: keep')
        .replace('HGRELOAD_CONFIG=/etc/hgreload/hgreload.ini', 'HGRELOAD_CONFIG=/etc/hgreload/%i.ini')
        .replace(/^StateDirectory=hgreload$/, 'StateDirectory=hgreload/%i'),
    );
    assert.deepEqual(settings(template), expected);
  });
});
