/**
 * Under mod_wsgi before 6.0.1 any Mercurial warning fails the request (issue
 * 863). Side by side on real Apache: Mercurial's plain hgweb.wsgi answers 500
 * for the index once a served repository is removed from disk, and the script
 * from `hgreload wsgi` answers 200 in the same situation; with publish and a
 * client requesting without pause, no answer is a 500 through a removal, nor
 * while the published file is damaged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PUBLISHED_FILE, snapshotBytes } from '../../src/reload/publish.js';
import { Apache, getIndex, type IndexAnswer } from '../helpers/apache.js';
import { makeTempDir, runCli } from '../helpers/run.js';
import { hgInit, indexUntil, Site } from '../helpers/web-site.js';

/** Requests the index one after another until stopped. */
function client(url: string) {
  let running = true;
  const answers: IndexAnswer[] = [];
  const done = (async () => {
    while (running) answers.push(await getIndex(url));
  })();
  return {
    answers,
    stop: async () => {
      running = false;
      await done;
      return answers;
    },
  };
}

describe('hgweb warnings under mod_wsgi', () => {
  for (const variant of ['plain', 'hgreload'] as const) {
    describe(`${variant === 'plain' ? "Mercurial's plain hgweb.wsgi" : 'the script from hgreload wsgi'}, a served repository removed`, () => {
      const dir = makeTempDir(`hgreload-warn-${variant}-`);
      const base = dir.path;
      const script = join(base, 'hgweb.wsgi');
      const apache = new Apache({ dir: base, wsgiScript: script, group: `hw${variant[0]}${process.pid % 100_000}` });
      before(async () => {
        hgInit(join(base, 'repos/keep'));
        hgInit(join(base, 'repos/gone'));
        const config = join(base, 'hgweb.config');
        writeFileSync(config, `[web]\nrefreshinterval = 86400\n[paths]\n/ = ${base}/repos/*\n`);
        if (variant === 'plain') {
          // The example Mercurial ships (contrib/hgweb.wsgi), as most sites run it.
          writeFileSync(script, `config = b"${config}"\nfrom mercurial import demandimport; demandimport.enable()\nfrom mercurial.hgweb import hgweb\napplication = hgweb(config)\n`);
        } else {
          writeFileSync(script, runCli(['-w', config, 'wsgi']).stdout);
        }
        await apache.start();
      });
      after(async () => {
        await apache.stop();
        dir.remove();
      });

      it(variant === 'plain' ? 'answers 500 while a client asks for the index: the warning fails the request' : 'answers 200 throughout and leaves the repository out', async () => {
        assert.deepEqual((await getIndex(apache.url)).repos, ['gone', 'keep']);
        const background = client(apache.url);
        rmSync(join(base, 'repos/gone'), { recursive: true });
        const removedAt = background.answers.length;
        // Enough answers after the removal for both processes to have served some.
        while (background.answers.length < removedAt + 20) await getIndex(apache.url).then((a) => background.answers.push(a));
        const after = (await background.stop()).slice(removedAt + 1);
        if (variant === 'plain') {
          assert.ok(after.some((a) => a.status === 500), `no 500 among ${after.map((a) => a.status).join(' ')}`);
          assert.match(apache.log(), /memoryview/, 'the mod_wsgi log object rejected the warning');
        } else {
          assert.deepEqual(after.filter((a) => a.status !== 200), [], apache.log());
          assert.ok(after.every((a) => a.repos.join() === 'keep'));
          assert.match(apache.log(), /error accessing repository at .*repos\/gone/, 'the warning reached the error log');
        }
      });
    });
  }

  describe('publish, with a client requesting without pause', () => {
    const dir = makeTempDir('hgreload-warn-publish-');
    const script = join(dir.path, 'hgweb.wsgi');
    const apache = new Apache({ dir: dir.path, wsgiScript: script, group: `hwp${process.pid % 100_000}` });
    const site = new Site({ base: dir.path, method: 'publish', script, server: apache });
    before(() => site.start());
    after(async () => {
      await site.stop();
      dir.remove();
    });

    it('no answer is a 500 through a removal, and the WSGI processes keep their pids', async () => {
      await site.create('second');
      const pids = apache.wsgiPids();
      const background = client(apache.url);
      await site.remove('first');
      const answers = await background.stop();
      assert.ok(answers.length > 0);
      assert.deepEqual(answers.filter((a) => a.status !== 200), [], apache.log());
      assert.deepEqual(apache.wsgiPids(), pids);
    });

    it('serves the last good list while the published file is damaged, and recovers when it is whole', async () => {
      const published = join(dir.path, 'state', PUBLISHED_FILE);
      const whole = snapshotBytes({ generation: 'damage-test', generated: new Date().toISOString() }, [
        { name: 'second', path: join(dir.path, 'repos/second') },
        { name: 'x', path: join(dir.path, 'repos/second') },
      ]);
      const background = client(apache.url);
      // Written in place, not atomically: what a crash or a full disk could leave behind.
      writeFileSync(published, whole.subarray(0, whole.length - 20));
      await indexUntil(apache.url, () => true, 'an answer', site.seen);
      writeFileSync(published, 'not json at all');
      await indexUntil(apache.url, () => true, 'an answer', site.seen);
      const during = await background.stop();
      assert.deepEqual(during.filter((a) => a.status !== 200), [], apache.log());
      assert.ok(during.every((a) => a.repos.join() === 'second'), 'the last good list throughout');
      writeFileSync(published, whole);
      await indexUntil(apache.url, (a) => a.repos.join() === 'second,x', 'the whole file taken', site.seen);
      assert.match(apache.log(), /hgreload: ignoring .*served\.list/);
    });
  });
});
