/**
 * hgreload against real Apache + mod_wsgi (daemon mode, 2 processes x 4
 * threads) + hgweb: for each of touch, signal and publish, a repository made
 * with `hg init` under a `**` root appears in the index and a removed one
 * leaves it, no request fails (with signal, none but those that came in the
 * instant Apache's graceful restart replaced mod_wsgi's daemon processes);
 * with publish the WSGI processes keep their pids.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Apache } from '../helpers/apache.js';
import { makeTempDir } from '../helpers/run.js';
import { indexUntil, Site } from '../helpers/web-site.js';

for (const method of ['publish', 'touch', 'signal'] as const) {
  describe(`Apache + mod_wsgi, reload method ${method}`, () => {
    const dir = makeTempDir(`hgreload-apache-${method}-`);
    const script = join(dir.path, 'hgweb.wsgi');
    const apache = new Apache({ dir: dir.path, wsgiScript: script, group: `hg${method[0]}${process.pid % 100_000}` });
    const site = new Site({ base: dir.path, method, script, server: apache });
    before(() => site.start());
    after(async () => {
      await site.stop();
      dir.remove();
    });

    it('a repository made with hg init appears, a removed one leaves, and no request fails', async () => {
      await indexUntil(apache.url, (a) => a.repos.includes('first'), 'first', site.seen);
      const pids = apache.wsgiPids();
      if (method === 'publish') assert.equal(pids.length, 2, 'two mod_wsgi daemon processes');
      await site.create('second');
      const last = await site.remove('first');
      assert.deepEqual(last.repos, ['second']);
      const { failed, log } = site.failures();
      if (method === 'signal') {
        // Apache's graceful restart replaces mod_wsgi's daemon processes, and a request that comes in
        // that instant answers 503 (the bench counts them; README, "signal"): those and only those,
        // each one mod_wsgi logged as a daemon process it could not reach.
        const restartMisses = (log.match(/Unable to connect to WSGI daemon process/g) ?? []).length;
        assert.ok(failed.every((a) => a.status === 503) && failed.length <= restartMisses, `${failed.length} failed requests, ${restartMisses} in a restart; server log:\n${log}`);
      } else {
        assert.deepEqual(failed, [], `${failed.length} failed requests; server log:\n${log}`);
      }
      if (method === 'publish') assert.deepEqual(apache.wsgiPids(), pids, 'the WSGI processes were not restarted');
    });
  });
}
