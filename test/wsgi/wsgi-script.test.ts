/**
 * The script `hgreload wsgi` prints, run in Python with Mercurial's hgwebdir,
 * on every Mercurial our users run: it serves every page; the publish side
 * takes the daemon's list without walking, refreshes once for threads that
 * see a new file together, survives a damaged file, takes an edit of
 * hgweb.config at once, and keeps two sites in one interpreter apart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { JOURNAL_FILE, publishList, Publisher, PUBLISHED_FILE } from '../../src/reload/publish.js';
import { applyChange, changeBetween, EMPTY_LIST, servedList } from '../../src/model/served-list.js';
import type { ServedRepo } from '../../src/discovery/served-repos.js';
import type { Splice } from '../../src/model/splice.js';
import { hgRepo, MERCURIALS, type Mercurial } from '../helpers/mercurials.js';
import { makeTempDir, runCli, SYSTEM_PYTHON } from '../helpers/run.js';
import { reposOf, WsgiDriver, type WsgiRequest } from '../helpers/wsgi-driver.js';

const INDEX = '/?style=raw';
const OK = '200 Script output follows';
const FILE = 'dir/f.txt';

/** The files of a .tar.gz or .zip, read by Python's tarfile and zipfile: {path: content}. */
function unpack(kind: 'tar.gz' | 'zip', archive: Buffer): Record<string, string> {
  const code = `
import io, json, sys, tarfile, zipfile
data = io.BytesIO(sys.stdin.buffer.read())
if sys.argv[1] == 'zip':
    z = zipfile.ZipFile(data)
    files = {n: z.read(n).decode() for n in z.namelist()}
else:
    t = tarfile.open(fileobj=data, mode='r:gz')
    files = {m.name: t.extractfile(m).read().decode() for m in t.getmembers() if m.isfile()}
print(json.dumps(files))`;
  const r = spawnSync(SYSTEM_PYTHON, ['-c', code, kind], { input: archive, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, string>;
}

for (const hg of MERCURIALS) {
  describe(`hgreload wsgi on Mercurial ${hg.version} (${hg.debian})`, () => siteTests(hg));
}

function siteTests(hg: Mercurial): void {
  const dir = makeTempDir('hgreload-wsgi-');
  const base = dir.path;
  const state = join(base, 'state');
  const published = join(state, PUBLISHED_FILE);
  const drivers: WsgiDriver[] = [];
  const entry = (name: string) => ({ name, path: join(base, 'repos', name) });
  /** The script `hgreload wsgi` prints for `webconf` and `method`, saved as NAME.wsgi. */
  const script = (name: string, method: string, webconf = 'hgweb.config', stateDir = 'state'): string => {
    const ini = join(base, `${name}.ini`);
    writeFileSync(
      ini,
      `webconf = ${webconf}\n[reload]\nmethod = ${method}\nstate = ${stateDir}\nwsgi = x.wsgi\npidfile = x.pid\ncommand = /bin/true\n`,
    );
    const r = runCli(['-c', ini, 'wsgi']);
    assert.equal(r.status, 0, r.stderr);
    const file = join(base, `${name}.wsgi`);
    writeFileSync(file, r.stdout);
    return file;
  };
  const driver = (files: string | string[]) => {
    const d = new WsgiDriver(files, hg);
    drivers.push(d);
    return d;
  };
  const webconf = (name: string, web: string) => writeFileSync(join(base, name), `[web]\n${web}[paths]\n/ = ${base}/repos/*\n`);

  before(() => {
    for (const r of ['a', 'b', 'c']) hgRepo(join(base, 'repos', r), [{ [FILE]: `${r} one\n` }, { [FILE]: `${r} one\n${r} two\n` }]);
    mkdirSync(state);
    webconf('hgweb.config', 'refreshinterval = 86400\nallow-archive = gz zip\n');
  });
  after(() => {
    for (const d of drivers) d.close();
    dir.remove();
  });

  it(`runs on Mercurial ${hg.version}`, async () => {
    const about = await driver(script('about', 'touch')).about();
    assert.equal(about.version, hg.version, about.module);
  });

  it('touch, signal and command get plain hgwebdir, which walks', async () => {
    for (const method of ['touch', 'signal', 'command']) {
      const r = await driver(script(method, method)).get(INDEX);
      assert.equal(r.status, OK);
      assert.deepEqual(r.repos, ['a', 'b', 'c']);
      assert.ok(r.walks >= 1, method);
    }
  });

  it('serves the index, log, file, graph and archive pages, with a published list and without', async () => {
    await publishList(state, [entry('a'), entry('b')]);
    for (const method of ['publish', 'touch']) {
      const d = driver(script(`pages-${method}`, method));
      const page = async (path: string, ...texts: string[]) => {
        const r = await d.get(path);
        assert.equal(r.status, OK, `${method} ${path}: ${r.body.toString()}\n${d.stderr}`);
        for (const text of texts) assert.ok(r.body.includes(text), `${method} ${path} lacks ${text}`);
        return r;
      };
      await page('/', '<a href="/a/">a</a>', '<a href="/b/">b</a>');
      await page('/a/log', 'commit 0', 'commit 1');
      await page('/a/graph', 'commit 1');
      await page(`/a/file/tip/${FILE}`, 'a two');
      for (const kind of ['tar.gz', 'zip'] as const) {
        const files = unpack(kind, (await page(`/a/archive/tip.${kind}`)).body);
        const names = Object.keys(files).filter((n) => n.endsWith(`/${FILE}`));
        assert.equal(names.length, 1, `${method} ${kind}: ${Object.keys(files).join(', ')}`);
        assert.equal(files[names[0]!], 'a one\na two\n');
      }
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

  it("takes the journal's changes without reading the list again; a damaged line keeps what was taken, until the next snapshot", async () => {
    const publisher = new Publisher(state);
    const [a, b, c] = [entry('a'), entry('b'), entry('c')];
    let list = applyChange(EMPTY_LIST, [{ at: 0, removed: [], inserted: [a] }]);
    await publisher.publish(list);
    const d = driver(script('publish-journal', 'publish'));
    let r = await d.get(INDEX);
    assert.deepEqual(r.repos, ['a']);
    const { reads } = r;
    const publish = async (...splices: Splice[]) => publisher.publish((list = applyChange(list.after, splices)));
    await publish({ at: 1, removed: [], inserted: [c] });
    await publish({ at: 1, removed: [], inserted: [b] });
    r = await d.get(INDEX);
    assert.deepEqual(r.repos, ['a', 'b', 'c']);
    assert.equal(r.reads, reads, 'the snapshot is not read again');
    assert.equal((await d.get('/b/')).status, OK, 'a repository from the journal is served');
    await publish({ at: 0, removed: [a], inserted: [] });
    assert.deepEqual((await d.get(INDEX)).repos, ['b', 'c']);
    assert.equal((await d.get('/a/')).status, '404 Not Found', 'a repository the journal removed');
    // A line cut short (a crash, a full disk) and then a damaged one.
    appendFileSync(join(state, JOURNAL_FILE), '{"n": 4, "size": 2, "splices": [[0, ["b"], [');
    assert.deepEqual((await d.get(INDEX)).repos, ['b', 'c'], 'half a line waits');
    appendFileSync(join(state, JOURNAL_FILE), 'nonsense\n');
    for (let i = 0; i < 2; i++) assert.deepEqual((await d.get(INDEX)).repos, ['b', 'c']);
    assert.equal(d.stderr.match(/hgreload: ignoring the rest of .*served\.journal/g)?.length, 1, d.stderr);
    await publisher.publish((list = applyChange(servedList([b, c]), [{ at: 0, removed: [], inserted: [a] }])));
    assert.deepEqual((await d.get(INDEX)).repos, ['a', 'b', 'c'], 'the next snapshot mends it');
  });

  describe('reads that fail or see the files half-way: the next request after the files are right serves the right list', () => {
    const EIO = 5;
    /** A publisher on a state folder of its own, and a process of the script reading it. */
    const site = async (name: string, first: ServedRepo[]) => {
      const folder = join(base, `state-${name}`);
      mkdirSync(folder);
      const publisher = new Publisher(folder);
      let list = applyChange(EMPTY_LIST, [{ at: 0, removed: [], inserted: first }]);
      await publisher.publish(list);
      const d = driver(script(name, 'publish', 'hgweb.config', `state-${name}`));
      assert.deepEqual((await d.get(INDEX)).repos, first.map((r) => r.name));
      return {
        folder,
        d,
        /** Publishes `repos` as a change to the last list (the journal), or whole. */
        publish: async (repos: ServedRepo[], whole = false) => {
          list = changeBetween(list.after, servedList(repos));
          await publisher.publish(list, whole);
        },
      };
    };

    it('an EIO reading a new snapshot: read again with the next request, and the journal after it applies', async () => {
      const { folder, d, publish } = await site('fault-eio', [entry('a')]);
      await d.fault({ path: join(folder, PUBLISHED_FILE), call: 'open', errno: EIO });
      await publish([entry('a'), entry('b')], true);
      assert.deepEqual((await d.get(INDEX)).repos, ['a'], 'the read failed: the last good list');
      assert.match(d.stderr, /hgreload: cannot read .*served\.list \(\[Errno 5\] Input\/output error.*\); trying again with the next request/);
      assert.deepEqual((await d.get(INDEX)).repos, ['a', 'b'], 'read again');
      await publish([entry('a'), entry('b'), entry('c')]);
      assert.deepEqual((await d.get(INDEX)).repos, ['a', 'b', 'c'], "and the new snapshot's journal applies");
    });

    it('a journal line read torn (its bytes not there yet): kept for later, applied once it reads whole', async () => {
      const { folder, d, publish } = await site('fault-torn', [entry('a')]);
      const journal = join(folder, JOURNAL_FILE);
      const before = statSync(journal).size;
      await publish([entry('a'), entry('b')]);
      const whole = readFileSync(journal);
      // As NFS can show a line whose last WRITE has not landed: zeros in place of its end, the newline there.
      const torn = Buffer.from(whole);
      torn.fill(0, before + 10, whole.length - 1);
      const fd = openSync(journal, 'r+');
      try {
        writeSync(fd, torn, before, whole.length - before, before);
        assert.deepEqual((await d.get(INDEX)).repos, ['a'], 'the torn line waits');
        writeSync(fd, whole, before, whole.length - before, before);
      } finally {
        closeSync(fd);
      }
      assert.deepEqual((await d.get(INDEX)).repos, ['a', 'b'], 'read again whole, it applies');
      await publish([entry('b')]);
      assert.deepEqual((await d.get(INDEX)).repos, ['b'], 'and the lines after it');
    });

    it('a journal line that does not apply to what the process holds: the snapshot read again, once', async () => {
      const { folder, d, publish } = await site('fault-drift', [entry('a'), entry('b')]);
      const { reads } = await d.get(INDEX);
      // A line that says it follows line 1 on a list of 5: this process holds line 0 of a list of 2.
      appendFileSync(join(folder, JOURNAL_FILE), `${JSON.stringify({ n: 2, size: 5, splices: [[0, ['a'], []]] })}\n`);
      let r = await d.get(INDEX);
      assert.deepEqual(r.repos, ['a', 'b'], 'not applied');
      assert.match(d.stderr, /line 2 of .*served\.journal does not apply here .*; reading the list again/);
      r = await d.get(INDEX);
      assert.equal(r.reads, reads + 1, 'the snapshot was read again');
      for (let i = 0; i < 2; i++) r = await d.get(INDEX);
      assert.equal(r.reads, reads + 1, 'once: it says the same');
      assert.deepEqual(r.repos, ['a', 'b']);
      await publish([entry('c')], true);
      assert.deepEqual((await d.get(INDEX)).repos, ['c'], 'the next snapshot mends it');
    });

    it('snapshot and journal replaced between the two reads of one request: the next request takes both', async () => {
      const { folder, d } = await site('fault-replaced', [entry('a')]);
      // The daemon's next snapshot and journal, made aside, renamed into place as the script opens the journal.
      const aside = join(base, 'state-fault-replaced-next');
      mkdirSync(aside);
      await new Publisher(aside).publish(applyChange(EMPTY_LIST, [{ at: 0, removed: [], inserted: [entry('b'), entry('c')] }]));
      await d.fault({
        path: join(folder, JOURNAL_FILE),
        call: 'os.open',
        renames: [
          [join(aside, PUBLISHED_FILE), join(folder, PUBLISHED_FILE)],
          [join(aside, JOURNAL_FILE), join(folder, JOURNAL_FILE)],
        ],
      });
      assert.deepEqual((await d.get(INDEX)).repos, ['a'], 'the list of the snapshot it had');
      assert.deepEqual((await d.get(INDEX)).repos, ['b', 'c'], 'the new snapshot');
    });
  });

  it('threads that see a new list at once read it once, and no full refresh is needed', async () => {
    await publishList(state, [entry('a')]);
    const d = driver(script('publish-threads', 'publish'));
    const before = await d.get(INDEX);
    await publishList(state, [entry('a'), entry('c')]);
    const r = await d.run(Array<WsgiRequest>(8).fill({ path: INDEX }));
    assert.deepEqual(r.results.map((t) => t[0]!.status), Array(8).fill(OK));
    // The thread reading it answers with it; the others answer at once, with the list they had or the new one.
    const lists = r.results.map((t) => JSON.stringify(reposOf(t[0]!.body)));
    assert.ok(lists.includes('["a","c"]'), lists.join(' '));
    assert.deepEqual(lists.filter((l) => l !== '["a","c"]' && l !== '["a"]'), []);
    assert.equal(r.reads - before.reads, 1);
    assert.equal(r.refreshes, before.refreshes);
    assert.equal(r.walks, 0);
    assert.deepEqual((await d.get(INDEX)).repos, ['a', 'c']);
  });

  it('a thread reading a new snapshot holds no other request of its process: they answer with the list they have', async () => {
    await publishList(state, [entry('a')]);
    const d = driver(script('publish-no-wait', 'publish'));
    assert.deepEqual((await d.get(INDEX)).repos, ['a']);
    await publishList(state, [entry('a'), entry('b')]);
    // The read of the new snapshot goes on only once another request was answered: a script whose
    // other requests wait for that read stalls here (the driver says so after 10 s).
    await d.fault({ path: published, call: 'open', hold: 1 });
    const r = await d.run([{ path: INDEX }, { path: INDEX }]);
    assert.deepEqual(r.stalled, []);
    assert.deepEqual(r.results.map((t) => reposOf(t[0]!.body)).sort(), [['a'], ['a', 'b']]);
    assert.deepEqual((await d.get(INDEX)).repos, ['a', 'b']);
  });

  it('an index page under way when its list is replaced lists the whole of the list it began with', async () => {
    const folder = join(base, 'state-let-go');
    mkdirSync(folder);
    await new Publisher(folder).publish(applyChange(EMPTY_LIST, [{ at: 0, removed: [], inserted: [entry('a'), entry('b'), entry('c')] }]));
    const aside = join(base, 'state-let-go-next');
    mkdirSync(aside);
    await new Publisher(aside).publish(applyChange(EMPTY_LIST, [{ at: 0, removed: [], inserted: [entry('a'), entry('b')] }]));
    const d = driver(script('let-go', 'publish', 'hgweb.config', 'state-let-go'));
    const before = await d.get(INDEX);
    assert.deepEqual(before.repos, ['a', 'b', 'c']);
    // The index page, at a, puts the next snapshot in place; at b, another request takes it and
    // lets go of the old list, while the page is still going through that list.
    const hgrc = (name: string) => join(base, 'repos', name, '.hg', 'hgrc');
    await d.fault({ path: hgrc('a'), call: 'open', renames: [PUBLISHED_FILE, JOURNAL_FILE].map((f) => [join(aside, f), join(folder, f)]) });
    await d.fault({ path: hgrc('b'), call: 'open', request: '/static/mercurial.js' });
    const r = await d.get(INDEX);
    assert.deepEqual(r.repos, ['a', 'b', 'c'], 'the page lists its list whole');
    assert.equal(r.reads - before.reads, 1, 'the new snapshot was read during the page');
    assert.deepEqual((await d.get(INDEX)).repos, ['a', 'b']);
  });

  it('a list made in many steps, with names listed twice, is the published one; each name routes as hgwebdir\'s dict of it, through the journal', async () => {
    const folder = join(base, 'state-steps');
    mkdirSync(folder);
    const publisher = new Publisher(folder);
    // Long paths, so that the snapshot spans many of the script's read steps; every 97th name is
    // listed again further on (overlapping roots), a step or more away, and some names are not ASCII.
    const many: ServedRepo[] = [];
    for (let i = 0; i < 3000; i++) many.push({ name: `g${i % 7}/r${i}${i % 50 === 0 ? '-\u00e9' : ''}`, path: join(base, 'far'.repeat(40), String(i)) });
    for (let i = 0; i < 3000; i += 97) many.push({ name: many[i]!.name, path: join(base, 'second', String(i)) });
    let list = applyChange(EMPTY_LIST, [{ at: 0, removed: [], inserted: many }]);
    await publisher.publish(list);
    assert.ok(many.length > 10 * 256, "the list spans many of the script's steps (of 256 entries)");
    const wsgi = script('publish-steps', 'publish', 'hgweb.config', 'state-steps');
    const journalSteps: Splice[][] = [
      [{ at: 3000, removed: [many[3000]!], inserted: [] }], // the second of a name listed twice: the first stays
      [{ at: 0, removed: [many[0]!], inserted: [] }], // and then the first: gone
      [{ at: 5, removed: [], inserted: [{ name: 'g1/r1', path: join(base, 'third') }] }], // listed twice, the new one first
      [{ at: 10, removed: [many[10]!, many[11]!], inserted: [{ name: 'new', path: join(base, 'new') }] }],
    ];
    // The script's list and routing after its first read and after each journal line, each
    // checked in Python against what hgwebdir makes of the list (dict(self.repos)), for every
    // name listed and some that are not.
    const code = `
import collections, json, os, runpy, sys
app = runpy.run_path(sys.argv[1])['application']
for line in sys.stdin:
    app._check_published()
    if line.strip() == 'take':  # the journal's new lines taken, the whole list not made
        print('[]', flush=True)
        continue
    listing = app._listing
    repos = listing.served()
    assert listing.length == len(repos), (listing.length, len(repos))
    counts = collections.Counter(n for n, _p in repos)
    for name, path in dict(repos).items():
        assert listing.listed(name) == (counts[name], path), (name, listing.listed(name), counts[name], path)
    for name in (b'', b'g1', b'g1/r', b'nowhere', b'g1/r1/deeper'):
        assert listing.listed(name) == (0, None), name
    print(json.dumps([[os.fsdecode(n), os.fsdecode(p)] for n, p in repos]), flush=True)
`;
    const child = spawn(SYSTEM_PYTHON, ['-c', code, wsgi], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...hg.env, HGRCPATH: '' } });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const served = async (command = 'check'): Promise<unknown> => {
      child.stdin!.write(`${command}\n`);
      const { value, done } = await lines.next();
      assert.ok(!done, 'the script exited (its checks failed: see stderr)');
      return JSON.parse(value as string);
    };
    try {
      assert.deepEqual(await served(), many.map((r) => [r.name, r.path]));
      for (const [i, splices] of journalSteps.entries()) {
        list = applyChange(list.after, splices);
        await publisher.publish(list);
        // After the second line, a look that takes the line without making the whole list: the
        // next one makes it from the list made before and the lines of both.
        if (i === 1) await served('take');
        else assert.deepEqual(await served(), list.after.repos.map((r) => [r.name, r.path]));
      }
    } finally {
      child.stdin!.end();
      await once(child, 'exit');
    }
  });

  it('a snapshot cut short, damaged or from another version is not taken, said in the log, and the next whole one is', async () => {
    await publishList(state, [entry('a')]);
    const d = driver(script('publish-cut', 'publish'));
    assert.deepEqual((await d.get(INDEX)).repos, ['a']);
    await publishList(state, [entry('a'), entry('b'), entry('c')]);
    const whole = readFileSync(published);
    writeFileSync(published, whole.subarray(0, whole.length - 3));
    assert.deepEqual((await d.get(INDEX)).repos, ['a']);
    assert.match(d.stderr, /hgreload: ignoring .*served\.list: its checksum does not match its bytes \(cut short, or damaged\); keeping the last good list/);
    writeFileSync(published, whole.subarray(0, whole.indexOf(0x0a) + 5));
    assert.deepEqual((await d.get(INDEX)).repos, ['a']);
    assert.match(d.stderr, /hgreload: ignoring .*served\.list: its \d+ bytes cannot hold the index its header says \(cut short\?\)/);
    // One byte of a name changed: the same length, the same index.
    const damaged = Buffer.from(whole);
    damaged[whole.indexOf('\nb') + 1] = 0x78;
    writeFileSync(published, damaged);
    assert.deepEqual((await d.get(INDEX)).repos, ['a']);
    assert.match(d.stderr, /served\.list: its checksum does not match/);
    writeFileSync(published, Buffer.concat([Buffer.from('{"format": 3, "generation": "g", "generated": "", "repos": 1}\n'), Buffer.from('b\0/srv/b\0')]));
    assert.deepEqual((await d.get(INDEX)).repos, ['a']);
    assert.match(d.stderr, /served\.list: not an hgreload list \(format 4: regenerate this script with `hgreload wsgi` after an upgrade\)/);
    writeFileSync(published, whole);
    assert.deepEqual((await d.get(INDEX)).repos, ['a', 'b', 'c']);
  });

  it("hgweb's own refresh re-reads hgweb.config but takes the published list instead of walking", async () => {
    await publishList(state, [entry('b')]);
    // refreshinterval 0: hgweb refreshes on every request (three times for an index).
    webconf('hgweb-zero.config', 'refreshinterval = 0\n');
    const d = driver(script('zero', 'publish', 'hgweb-zero.config'));
    const first = await d.get(INDEX);
    const r = await d.get(INDEX);
    assert.deepEqual(r.repos, ['b']);
    assert.ok(r.refreshes > first.refreshes, 'hgweb refreshed');
    assert.equal(r.walks, 0, 'without walking');
  });

  it('an edit of hgweb.config or of a file it includes takes effect on the next request, despite refreshinterval', async () => {
    await publishList(state, [entry('a')]);
    const conf = join(base, 'hgweb-edited.config');
    // The include comes last, so that what it sets wins; it does not exist yet, which hgweb allows.
    const edit = (web: string) => writeFileSync(conf, `[web]\nrefreshinterval = 86400\n${web}[paths]\n/ = ${base}/repos/*\n%include extra.rc\n`);
    edit('');
    const d = driver(script('edited', 'publish', 'hgweb-edited.config'));
    const styleOf = async (): Promise<string> => {
      const r = await d.get('/');
      assert.equal(r.status, OK);
      assert.equal(r.walks, 0);
      return /static\/style-(\w+)\.css/.exec(r.body.toString())?.[1] ?? r.body.toString();
    };
    assert.equal(await styleOf(), 'paper');
    edit('style = gitweb\n');
    assert.equal(await styleOf(), 'gitweb');
    const { refreshes } = await d.get(INDEX);
    assert.equal((await d.get(INDEX)).refreshes, refreshes, 'unchanged files: no refresh');
    writeFileSync(join(base, 'extra.rc'), '[web]\nstyle = monoblue\n');
    assert.equal(await styleOf(), 'monoblue');
    writeFileSync(join(base, 'extra.rc'), '[web]\nstyle = gitweb\ndescription = x\n');
    assert.equal(await styleOf(), 'gitweb');
    assert.deepEqual((await d.get(INDEX)).repos, ['a'], 'the published list stays');
  });

  it('an edit that Mercurial cannot read keeps the last good settings, says so once, and the fix is taken', async () => {
    await publishList(state, [entry('a')]);
    const conf = join(base, 'hgweb-broken.config');
    const edit = (web: string) => writeFileSync(conf, `[web]\nrefreshinterval = 86400\n${web}[paths]\n/ = ${base}/repos/*\n`);
    edit('style = gitweb\n');
    const d = driver(script('broken', 'publish', 'hgweb-broken.config'));
    const page = async (): Promise<string> => {
      const r = await d.get('/');
      assert.equal(r.status, OK, d.stderr);
      assert.match(r.body.toString(), /href="\/a\/"/);
      return /static\/style-(\w+)\.css/.exec(r.body.toString())?.[1] ?? '';
    };
    assert.equal(await page(), 'gitweb');
    const kept = async (web: string, error: string) => {
      edit(web);
      assert.equal(await page(), 'gitweb');
      assert.equal(await page(), 'gitweb');
      const said = d.stderr.split('\n').filter((line) => line.startsWith('hgreload: cannot take the settings of') && line.includes(error));
      assert.equal(said.length, 1, d.stderr);
      assert.match(said[0]!, /hgweb-broken\.config .*; keeping the last good settings$/);
    };
    await kept('style monoblue\n', 'config error at ' + conf + ':3: style monoblue');
    await kept('style = monoblue\nrefreshinterval = soon\n', "web.refreshinterval is not a valid integer ('soon')");
    edit('style = monoblue\n');
    assert.equal(await page(), 'monoblue');
  });

  it('two sites in one interpreter each serve their own list, asked at once from threads', async () => {
    // Refreshing on every request keeps each site inside hgwebdir's refresh as much as possible.
    for (const site of ['one', 'two']) {
      mkdirSync(join(base, `state-${site}`));
      webconf(`hgweb-${site}.config`, 'refreshinterval = 0\n');
    }
    await publishList(join(base, 'state-one'), [entry('a')]);
    await publishList(join(base, 'state-two'), [entry('b'), entry('c')]);
    const d = driver([
      script('site-one', 'publish', 'hgweb-one.config', 'state-one'),
      script('site-two', 'publish', 'hgweb-two.config', 'state-two'),
    ]);
    const own = [['a'], ['b', 'c']];
    const { results, walks, swapped } = await d.run(
      Array.from({ length: 8 }, (_, i) => ({ app: i % 2, path: INDEX })),
      20,
      true,
    );
    const wrong = results.flatMap((thread, i) =>
      thread.map((r) => `${r.status} ${reposOf(r.body).join(',')}`).filter((got) => got !== `${OK} ${own[i % 2]!.join(',')}`),
    );
    assert.deepEqual(wrong, [], `of 160 requests, ${wrong.length} were answered with another site's list or an error`);
    // Whether or not the threads met inside a window, no site may leave one open: what it swaps, every site sees.
    assert.deepEqual(swapped, [], "hgwebdir's module globals were replaced while the sites served");
    assert.equal(walks, 0);
    for (const app of [0, 1]) assert.deepEqual((await d.get(INDEX, 1, app)).repos, own[app]);
  });

  it('a full refresh sets every attribute that hgwebdir sets', async () => {
    await publishList(state, [entry('a')]);
    const d = driver([script('attrs-plain', 'touch'), script('attrs-publish', 'publish')]);
    const ours = new Set(await d.attributes(1));
    assert.deepEqual((await d.attributes(0)).filter((name) => !ours.has(name)), []);
  });

  it('keeps the last good list over a damaged or missing file, says so once, and takes the next good one', async () => {
    await publishList(state, [entry('b')]);
    const d = driver(script('publish-damage', 'publish'));
    assert.deepEqual((await d.get(INDEX)).repos, ['b']);
    writeFileSync(published, '{"format": 1, "repos": [{"name": "b", "pa');
    for (let i = 0; i < 3; i++) {
      const r = await d.get(INDEX);
      assert.equal(r.status, OK);
      assert.deepEqual(r.repos, ['b']);
    }
    rmSync(published);
    assert.deepEqual((await d.get(INDEX)).repos, ['b']);
    await publishList(state, [entry('b'), entry('c')]);
    assert.deepEqual((await d.get(INDEX)).repos, ['b', 'c']);
    assert.equal(d.stderr.match(/hgreload: ignoring .*served\.list/g)?.length, 1, d.stderr);
    assert.equal(d.stderr.match(/hgreload: cannot read .*served\.list \(No such file or directory\); keeping the last good list/g)?.length, 1, d.stderr);
  });

  it('a listed repository gone from disk answers as an unlisted name does (404), before a new list is published', async () => {
    const gone = join(base, 'elsewhere', 'gone');
    hgRepo(gone, [{ [FILE]: 'gone one\n' }]);
    await publishList(state, [entry('a'), { name: 'gone', path: gone }]);
    const d = driver(script('gone', 'publish'));
    const pages = ['/gone/', '/gone/summary?style=gitweb', `/gone/file/tip/${FILE}`];
    for (const page of pages) assert.equal((await d.get(page)).status, OK, page);
    rmSync(gone, { recursive: true, force: true });
    const answers = [];
    for (const page of pages) {
      const r = await d.get(page);
      assert.equal(r.status, '404 Not Found', `${page}: ${r.body.toString()}`);
      answers.push(r);
    }
    const index = await d.get(INDEX);
    assert.equal(index.status, OK);
    // (hgwebdir's index itself leaves out a listed repository whose folder it cannot stat.)
    assert.deepEqual(index.repos, ['a']);
    assert.equal(index.walks, 0);
    // A name never listed, at the same depth: the same answer but for the name.
    for (const [i, page] of pages.entries()) {
      const made = await d.get(page.replace('/gone/', '/made-up/'));
      assert.equal(made.status, answers[i]!.status);
      assert.deepEqual(made.headers, answers[i]!.headers, page);
      assert.equal(made.body.toString().replaceAll('made-up', 'gone'), answers[i]!.body.toString(), page);
    }
    // Once the daemon publishes a list without it, hgwebdir answers the same, byte for byte.
    await publishList(state, [entry('a')]);
    for (const [i, page] of pages.entries()) {
      const r = await d.get(page);
      assert.equal(r.status, answers[i]!.status, page);
      assert.deepEqual(r.headers, answers[i]!.headers, page);
      assert.ok(r.body.equals(answers[i]!.body), `${page}: ${r.body.toString()}`);
    }
    assert.deepEqual((await d.get(INDEX)).repos, ['a']);
  });

  it('a repository half-way through rm -rf answers 404 too, where Mercurial answers 500', async () => {
    // The two states rm -rf passes through that Mercurial cannot serve (see _gone in the script);
    // the others serve as an empty repository, then as gone.
    // The third stands for a removal that catches Mercurial's request half-way (found only once the
    // page failed): requires gone, and what Mercurial reads next broken.
    const states: Record<string, (hgDir: string) => void> = {
      requires: (hgDir) => rmSync(join(hgDir, 'requires')),
      'store-requires': (hgDir) => rmSync(join(hgDir, 'store/requires')),
      'during-the-request': (hgDir) => {
        rmSync(join(hgDir, 'requires'));
        writeFileSync(join(hgDir, '00changelog.i'), 'half-removed');
      },
    };
    const paths = Object.keys(states).map((name) => ({ name, path: join(base, 'half', name) }));
    for (const p of paths) hgRepo(p.path, [{ [FILE]: 'half\n' }]);
    await publishList(state, [entry('a'), ...paths]);
    writeFileSync(join(base, 'hgweb-half.config'), `[paths]\n${paths.map((p) => `${p.name} = ${p.path}\n`).join('')}`);
    const d = driver([script('half', 'publish'), script('half-plain', 'touch', 'hgweb-half.config')]);
    for (const app of [0, 1]) assert.equal((await d.get(`/${paths[0]!.name}/`, 1, app)).status, OK);
    for (const [i, damage] of Object.values(states).entries()) damage(join(paths[i]!.path, '.hg'));
    for (const p of paths) {
      const ours = await d.get(`/${p.name}/`, 1, 0);
      const made = await d.get('/made-up/', 1, 0);
      assert.equal(ours.status, '404 Not Found', `${p.name}: ${ours.body.toString()}`);
      assert.equal(made.body.toString().replaceAll('made-up', p.name), ours.body.toString());
      // Plain hgweb: its 500, or an exception out of its templates ("'' is not iterable of mappings"), which the server answers with a 500.
      assert.match((await d.get(`/${p.name}/`, 1, 1)).status, /^(500|exception)/, `plain hgweb, ${p.name}`);
    }
    rmSync(join(base, 'half'), { recursive: true });
  });

  it("a repository whose .hg is there but damaged keeps Mercurial's own answer", async () => {
    // Each beside a sound one; compared with plain hgweb serving the same folders (its [paths]), same settings.
    const folder = join(base, 'damaged');
    const damaged: Record<string, (hgDir: string) => void> = {
      requires: (hgDir) => writeFileSync(join(hgDir, 'requires'), 'no-such-requirement\n'),
      file: (hgDir) => {
        rmSync(hgDir, { recursive: true });
        writeFileSync(hgDir, 'not a repository\n');
      },
    };
    const names = ['sound', ...Object.keys(damaged)];
    for (const name of names) hgRepo(join(folder, name), [{ [FILE]: `${name} one\n` }]);
    const paths = names.map((name) => ({ name, path: join(folder, name) }));
    await publishList(state, paths);
    writeFileSync(join(base, 'hgweb-damaged.config'), `[paths]\n${paths.map((p) => `${p.name} = ${p.path}\n`).join('')}`);
    const d = driver([script('damaged-publish', 'publish', 'hgweb-damaged.config'), script('damaged-plain', 'touch', 'hgweb-damaged.config')]);
    // Damaged once both sites serve them (hgweb refuses to start with a [paths] entry that is not a repository).
    for (const app of [0, 1]) assert.deepEqual((await d.get(INDEX, 1, app)).repos, names);
    for (const [name, damage] of Object.entries(damaged)) damage(join(folder, name, '.hg'));
    const statuses: string[] = [];
    for (const name of names) {
      for (const page of [`/${name}/`, `/${name}/file/tip/${FILE}`]) {
        const ours = await d.get(page, 1, 0);
        const hgweb = await d.get(page, 1, 1);
        assert.equal(ours.status, hgweb.status, `${page}: ${ours.body.toString()}`);
        assert.deepEqual(ours.headers, hgweb.headers, page);
        assert.ok(ours.body.equals(hgweb.body), `${page}: ${ours.body.toString()}\n${hgweb.body.toString()}`);
        if (name !== 'sound') statuses.push(ours.status);
      }
    }
    // Mercurial's answer there is its 500 (repository not found, or the requirement it lacks), whose error
    // page its paper templates fail to render: the exception reaches the server, which answers 500.
    assert.deepEqual(statuses.filter((s) => s === OK || s.startsWith('404')), [], `${statuses.join(', ')}\n${d.stderr}`);
    rmSync(folder, { recursive: true });
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
}
