/**
 * The script `hgreload wsgi` prints, run in Python with Mercurial's hgwebdir:
 * the publish side takes the daemon's list without walking, refreshes once
 * for threads that see a new file together, and survives a damaged file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishList } from '../../src/reload/publish.js';
import { makeTempDir, runCli } from '../helpers/run.js';
import { WsgiDriver } from '../helpers/wsgi-driver.js';

const INDEX = '/?style=raw';

describe('hgreload wsgi', () => {
  const dir = makeTempDir('hgreload-wsgi-');
  const base = dir.path;
  const state = join(base, 'state');
  const published = join(state, 'served.json');
  const drivers: WsgiDriver[] = [];
  const entry = (name: string) => ({ name, path: join(base, 'repos', name) });
  const script = (name: string, method: string): string => {
    const ini = join(base, `${name}.ini`);
    writeFileSync(ini, `webconf = hgweb.config\n[reload]\nmethod = ${method}\nstate = state\nwsgi = x.wsgi\npidfile = x.pid\ncommand = /bin/true\n`);
    const r = runCli(['-c', ini, 'wsgi']);
    assert.equal(r.status, 0, r.stderr);
    const file = join(base, `${name}.wsgi`);
    writeFileSync(file, r.stdout);
    return file;
  };
  const driver = (file: string) => {
    const d = new WsgiDriver(file);
    drivers.push(d);
    return d;
  };

  before(() => {
    for (const r of ['a', 'b', 'c']) mkdirSync(join(base, 'repos', r, '.hg'), { recursive: true });
    mkdirSync(state);
    writeFileSync(join(base, 'hgweb.config'), `[web]\nrefreshinterval = 86400\n[paths]\n/ = ${base}/repos/*\n`);
  });
  after(() => {
    for (const d of drivers) d.close();
    dir.remove();
  });

  it('touch, signal and command get plain hgwebdir, which walks', async () => {
    for (const method of ['touch', 'signal', 'command']) {
      const r = await driver(script(method, method)).get(INDEX);
      assert.equal(r.status, '200 Script output follows');
      assert.deepEqual(r.repos, ['a', 'b', 'c']);
      assert.ok(r.walks >= 1, method);
    }
  });

  it('publish serves the published list with no walk, and a new list on the next request', async () => {
    await publishList(state, [entry('a')]);
    const d = driver(script('publish', 'publish'));
    let r = await d.get(INDEX);
    assert.deepEqual(r.repos, ['a']);
    assert.equal(r.walks, 0);
    await publishList(state, [entry('a'), entry('b')]);
    r = await d.get(INDEX);
    assert.deepEqual(r.repos, ['a', 'b']);
    assert.equal(r.walks, 0);
    const { refreshes, reads } = r;
    r = await d.get(INDEX);
    assert.equal(r.reads, reads, 'the list is not read again while the file is unchanged');
    assert.equal(r.refreshes, refreshes, 'and hgwebdir does not refresh');
  });

  it('threads that see a new list at once read it once, and no full refresh is needed', async () => {
    await publishList(state, [entry('a')]);
    const d = driver(script('publish-threads', 'publish'));
    const before = await d.get(INDEX);
    await publishList(state, [entry('a'), entry('c')]);
    const r = await d.get(INDEX, 8);
    assert.deepEqual(r.statuses, Array(8).fill('200 Script output follows'));
    assert.deepEqual(r.repos, ['a', 'c']);
    assert.equal(r.reads - before.reads, 1);
    assert.equal(r.refreshes, before.refreshes);
    assert.equal(r.walks, 0);
  });

  it("hgweb's own refresh re-reads hgweb.config but takes the published list instead of walking", async () => {
    await publishList(state, [entry('b')]);
    const conf = join(base, 'hgweb-zero.config');
    // refreshinterval 0: hgweb refreshes on every request (three times for an index).
    writeFileSync(conf, `[web]\nrefreshinterval = 0\n[paths]\n/ = ${base}/repos/*\n`);
    const ini = join(base, 'zero.ini');
    writeFileSync(ini, `webconf = hgweb-zero.config\n[reload]\nmethod = publish\nstate = state\n`);
    const file = join(base, 'zero.wsgi');
    writeFileSync(file, runCli(['-c', ini, 'wsgi']).stdout);
    const d = driver(file);
    const first = await d.get(INDEX);
    const r = await d.get(INDEX);
    assert.deepEqual(r.repos, ['b']);
    assert.ok(r.refreshes > first.refreshes, 'hgweb refreshed');
    assert.equal(r.walks, 0, 'without walking');
  });

  it('keeps the last good list over a damaged or missing file, says so once, and takes the next good one', async () => {
    await publishList(state, [entry('b')]);
    const d = driver(script('publish-damage', 'publish'));
    assert.deepEqual((await d.get(INDEX)).repos, ['b']);
    writeFileSync(published, '{"format": 1, "repos": [{"name": "b", "pa');
    for (let i = 0; i < 3; i++) {
      const r = await d.get(INDEX);
      assert.equal(r.status, '200 Script output follows');
      assert.deepEqual(r.repos, ['b']);
    }
    rmSync(published);
    assert.deepEqual((await d.get(INDEX)).repos, ['b']);
    await publishList(state, [entry('b'), entry('c')]);
    assert.deepEqual((await d.get(INDEX)).repos, ['b', 'c']);
    assert.equal(d.stderr.match(/hgreload: ignoring .*served\.json/g)?.length, 1, d.stderr);
    assert.equal(d.stderr.match(/hgreload: cannot read .*served\.json \(No such file or directory\); keeping the last good list/g)?.length, 1, d.stderr);
  });

  it('walks as hgweb does until a first list is published', async () => {
    rmSync(published, { force: true });
    const d = driver(script('publish-late', 'publish'));
    const r = await d.get(INDEX);
    assert.deepEqual(r.repos, ['a', 'b', 'c']);
    assert.ok(r.walks >= 1);
    await publishList(state, [entry('c')]);
    assert.deepEqual((await d.get(INDEX)).repos, ['c']);
  });
});
