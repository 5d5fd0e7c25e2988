/**
 * The same script under gunicorn (2 workers x 4 threads): with publish the
 * workers are never restarted; with signal, gunicorn's graceful reload (SIGHUP
 * through its pidfile) brings the new list.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Gunicorn } from '../helpers/gunicorn.js';
import { makeTempDir } from '../helpers/run.js';
import { indexUntil, Site } from '../helpers/web-site.js';

for (const method of ['publish', 'signal'] as const) {
  describe(`gunicorn, reload method ${method}`, () => {
    const dir = makeTempDir(`hgreload-gunicorn-${method}-`);
    const script = join(dir.path, 'hgweb.wsgi');
    const gunicorn = new Gunicorn(dir.path, script);
    const site = new Site({ base: dir.path, method, signal: 'SIGHUP', script, server: gunicorn });
    before(() => site.start());
    after(async () => {
      await site.stop();
      dir.remove();
    });

    it('a repository made with hg init appears, a removed one leaves, and no request fails', async () => {
      await indexUntil(gunicorn.url, (a) => a.repos.includes('first'), 'first', site.seen);
      const workers = await gunicorn.settledWorkerPids();
      await site.create('second');
      const last = await site.remove('first');
      assert.deepEqual(last.repos, ['second']);
      const { failed, log } = site.failures();
      assert.deepEqual(failed, [], `${failed.length} failed requests; gunicorn log:\n${log}`);
      const after = await gunicorn.settledWorkerPids();
      if (method === 'publish') assert.deepEqual(after, workers, 'the workers were not restarted');
      else assert.ok(after.every((pid) => !workers.includes(pid)), "SIGHUP replaced the workers (gunicorn's graceful reload)");
    });
  });
}
