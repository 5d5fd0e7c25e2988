/**
 * hgreload against real Apache + mod_wsgi (daemon mode, 2 processes x 4
 * threads) + hgweb with web.refreshinterval set to a day, so that only
 * hgreload can make hgweb see a change: for each of touch, signal and
 * publish, a repository made with `hg init` under a `**` root appears in the
 * index and a removed one leaves it; with publish the WSGI processes keep
 * their pids.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Apache, getIndex, type IndexAnswer } from '../helpers/apache.js';
import { DaemonProcess, isReload } from '../helpers/daemon-process.js';
import { makeTempDir, runCli } from '../helpers/run.js';

function hgInit(path: string): void {
  const r = spawnSync('hg', ['init', path], { encoding: 'utf8', env: { ...process.env, HGRCPATH: '' } });
  assert.equal(r.status, 0, r.stderr);
}

/** Asks for the index until `done` holds (Apache has no event for "restarted"); every answer is kept. */
async function indexUntil(url: string, done: (a: IndexAnswer) => boolean, what: string, seen: IndexAnswer[]): Promise<IndexAnswer> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await getIndex(url);
    seen.push(answer);
    if (done(answer)) return answer;
    if (Date.now() > deadline) throw new Error(`index never showed ${what}; last: ${JSON.stringify(answer)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const method of ['publish', 'touch', 'signal'] as const) {
  describe(`Apache + mod_wsgi, reload method ${method}`, () => {
    const dir = makeTempDir(`hgreload-apache-${method}-`);
    const base = dir.path;
    const script = join(base, 'hgweb.wsgi');
    const apache = new Apache({ dir: base, wsgiScript: script, group: `hg${method[0]}${process.pid % 100_000}` });
    let daemon: DaemonProcess;
    const seen: IndexAnswer[] = [];

    before(async () => {
      hgInit(join(base, 'repos/first'));
      writeFileSync(join(base, 'hgweb.config'), `[web]\nrefreshinterval = 86400\n[paths]\n/ = ${base}/repos/**\n`);
      const ini = join(base, 'hgreload.ini');
      writeFileSync(ini, `webconf = hgweb.config\n[reload]\nmethod = ${method}\nwsgi = hgweb.wsgi\npidfile = apache.pid\nstate = state\ndebounce = 100\n`);
      const wsgi = runCli(['-c', ini, 'wsgi']);
      assert.equal(wsgi.status, 0, wsgi.stderr);
      writeFileSync(script, wsgi.stdout);
      // Apache first: the signal method needs its pidfile when the daemon's first reload runs.
      await apache.start();
      daemon = new DaemonProcess(['-c', ini]);
      await daemon.waitFor((l) => l.msg === 'ready', 'ready');
    });
    after(async () => {
      await daemon?.stop();
      await apache.stop();
      dir.remove();
    });

    it('a repository made with hg init appears, a removed one leaves, and no request fails', async () => {
      await indexUntil(apache.url, (a) => a.repos.includes('first'), 'first', seen);
      const pids = apache.wsgiPids();
      if (method === 'publish') assert.equal(pids.length, 2, 'two mod_wsgi daemon processes');

      let from = daemon.mark;
      hgInit(join(base, 'repos/second'));
      await daemon.waitFor((l) => isReload(l) && (l.added as string[]).includes('second'), 'reload for second', { from });
      await indexUntil(apache.url, (a) => a.repos.includes('second'), 'second', seen);

      from = daemon.mark;
      rmSync(join(base, 'repos/first'), { recursive: true });
      await daemon.waitFor((l) => isReload(l) && (l.removed as string[]).includes('first'), 'reload for first removed', { from });
      const last = await indexUntil(apache.url, (a) => a.status === 200 && !a.repos.includes('first'), 'first gone', seen);
      assert.deepEqual(last.repos, ['second']);

      const failed = seen.filter((a) => a.status >= 500);
      assert.deepEqual(failed, [], `${failed.length} failed requests; Apache log:\n${apache.log()}`);
      if (method === 'publish') assert.deepEqual(apache.wsgiPids(), pids, 'the WSGI processes were not restarted');
    });
  });
}
