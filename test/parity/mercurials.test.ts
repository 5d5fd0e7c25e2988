/**
 * Where Mercurials differ: `hgreload list --mercurial V` against hgwebdir of
 * that very Mercurial (6.3.2, 7.0.1, 7.2.4), on an hgweb.config with a plain
 * [paths] entry that is not a repository, one that is, and a walked root.
 * 7.2 refuses the first (hgweb fails to start): list refuses it too, naming
 * the file and line; the others serve it as written, and so does list. doctor,
 * on this host's 6.3, warns of it at that line.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from '../../src/doctor/finding.js';
import { MERCURIALS, requireMercurial } from '../helpers/mercurials.js';
import { makeTempDir, runCli, runOracle } from '../helpers/run.js';

describe('list follows the rules of the Mercurial that serves', () => {
  const dir = makeTempDir('hgreload-mercurials-');
  const base = dir.path;
  after(() => dir.remove());
  mkdirSync(join(base, 'repos/a/.hg'), { recursive: true });
  mkdirSync(join(base, 'repos/b/.hg'), { recursive: true });
  mkdirSync(join(base, 'not-a-repository'), { recursive: true });
  const good = join(base, 'good.config');
  writeFileSync(good, `[paths]\nsingle = ${base}/repos/a\nall = ${base}/repos/*\n`);
  const refused = join(base, 'refused.config');
  writeFileSync(refused, `[paths]\nsingle = ${base}/repos/a\n# a folder that holds no .hg:\nplain = ${base}/not-a-repository\nall = ${base}/repos/*\n`);

  for (const hg of MERCURIALS) {
    it(`the same answer as hgwebdir of Mercurial ${hg.version} (${hg.debian})`, () => {
      requireMercurial(hg);
      for (const config of [good, refused]) {
        const oracle = runOracle(config, { cwd: base, env: hg.env });
        const list = runCli(['-w', config, 'list', '--json', '--mercurial', hg.version], { cwd: base });
        if ('error' in oracle) {
          assert.equal(list.status, 2, `${config}: hgwebdir refused it (${oracle.message}), list answered ${list.stdout}`);
          assert.match(list.stderr, new RegExp(`refused\\.config:4: filesystem path is not a repository: '${base}/not-a-repository'`), list.stderr);
          assert.match(oracle.message, /filesystem path is not a repository/);
        } else {
          assert.equal(list.status, 0, list.stderr);
          assert.deepEqual(JSON.parse(list.stdout), oracle.repos, config);
        }
      }
    });
  }

  it('7.2 refuses what 6.3 and 7.0 serve (the case above is a real difference)', () => {
    const answers = MERCURIALS.map((hg) => 'error' in runOracle(refused, { cwd: base, env: hg.env }));
    assert.deepEqual(answers, [false, false, true]);
  });

  it("doctor warns of it at that line, on this host's Mercurial 6.3", () => {
    writeFileSync(join(base, 'hgreload.ini'), `webconf = refused.config\n[reload]\nmethod = publish\nstate = state\n`);
    const r = runCli(['-c', join(base, 'hgreload.ini'), 'doctor', '--json', '--apache-root', join(base, 'no-apache')], { cwd: base });
    const findings = JSON.parse(r.stdout) as Finding[];
    const finding = findings.find((f) => f.check === 'mercurial');
    assert.equal(finding?.level, 'warn', JSON.stringify(finding));
    assert.match(finding!.message, /refused\.config:4: filesystem path is not a repository: .*Mercurial 7\.2\.4 and later refuse it \(this host's Mercurial is 6\.3\.2\)/);
    assert.match(finding!.fix!, /make the repository, or remove the entry/);
  });
});
