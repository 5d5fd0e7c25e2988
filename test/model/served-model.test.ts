/**
 * The incremental model against a full walk, in process: seeded random
 * changes to a tree, each followed by the hints the kernel would give (the
 * folder that changed and the entry's name), and after each the model's list
 * (names, paths, order) and folders must be what a full walk finds. The
 * full walk itself is checked against Mercurial by the parity tests, and the
 * live daemon against hgwebdir by test/daemon/property.test.ts.
 * HGRELOAD_SEED=N replays a seed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { configuredRoots, discover } from '../../src/discovery/served-repos.js';
import { readMercurialConfig } from '../../src/config/hgrc-reader.js';
import { HGWEB_REMAP } from '../../src/discovery/served-repos.js';
import { MountTable } from '../../src/discovery/mount-table.js';
import { localWalkFs } from '../../src/discovery/dir-reader.js';
import { FULL, ServedModel, type Hint } from '../../src/model/served-model.js';
import { applyChange, compose, servedList } from '../../src/model/served-list.js';
import { nativeListing } from '../../src/native/listing.js';
import { makeTempDir } from '../helpers/run.js';
import { seeded } from '../helpers/random.js';

const STEPS = 150;
const mounts = new MountTable([]);
const native = nativeListing();
/** The local fs with a table kept for every folder a poll compares, however few its names: what a change must keep up to date. */
const keepingFs = native === undefined ? localWalkFs : { ...localWalkFs, table: native.table };

/** Each kept table holds the names the model knows in its folder. */
function assertTablesKept(model: ServedModel, context: string): number {
  const tables = model.keptTables();
  for (const { folder, kept, known } of tables) assert.deepEqual(new Set(kept), new Set(known), `the table of ${folder}, ${context}`);
  return tables.length;
}

async function fullWalk(config: string, cwd: string) {
  const { config: c } = readMercurialConfig(config, { remap: HGWEB_REMAP });
  const roots = configuredRoots(c, cwd);
  return discover(roots, { cwd, mounts });
}

for (const variant of [
  { glob: '*', links: false, overlap: false },
  { glob: '**', links: false, overlap: false },
  { glob: '**', links: true, overlap: false },
  // The same folder as a `**` and a `*` root: both watch some folders, and one's change must not end the other's watch.
  { glob: '**', links: false, overlap: true },
] as const) {
  describe(`the model equals a full walk after each random change (${variant.glob}${variant.links ? ', with symlinks' : ''}${variant.overlap ? ', overlapping roots' : ''})`, () => {
    it('over a seeded sequence', async (t) => {
      const { seed, rnd, pick } = seeded(t);
      const dir = makeTempDir('hgreload-model-');
      try {
        const root = join(dir.path, 'root');
        const other = join(dir.path, 'other');
        mkdirSync(join(root, 'g/a/.hg'), { recursive: true });
        mkdirSync(join(other, 'x/.hg'), { recursive: true });
        const config = join(dir.path, 'hgweb.config');
        writeFileSync(config, `[paths]\n/ = ${root}/${variant.glob}\nsecond = ${other}/*\n${variant.overlap ? `third = ${root}/*\n` : ''}`);
        const first = await fullWalk(config, dir.path);
        const options = { cwd: dir.path, mounts, fs: keepingFs };
        let model = ServedModel.of(first.results, options, mounts)!;
        let fulls = 0;
        let tables = 0;
        let unseen = 0;
        let watched = new Set(model.folders());
        const names = ['a', 'b', 'c', '.hidden', 'Z', 'é'];
        /** Folders below root, not into .hg (nor, under `*`, into repositories: nothing there matters to hgweb). */
        const entries = (): string[] => {
          const out = [root];
          const walk = (d: string): void => {
            if (variant.glob === '*' && d !== root && existsSync(join(d, '.hg'))) return;
            for (const e of readdirSync(d, { withFileTypes: true })) {
              if (!e.isDirectory() || e.name === '.hg') continue;
              out.push(join(d, e.name));
              walk(join(d, e.name));
            }
          };
          walk(root);
          return out;
        };
        /** Where things are made: under `*`, not in a repository. */
        const folders = (): string[] => entries().filter((f) => variant.glob === '**' || !existsSync(join(f, '.hg')));
        /** The kernel's event for a path made with the folders above it: the first folder made, in its parent (nothing watches the rest yet). */
        const made = (top: string): Hint[] => [{ folder: dirname(top), name: basename(top) }];
        const firstMissing = (path: string): string => {
          let p = path;
          while (!existsSync(dirname(p))) p = dirname(p);
          return p;
        };
        const ops: Array<() => [string, Hint[]]> = [
          () => {
            const p = join(pick(folders()), pick(names));
            const top = firstMissing(join(p, '.hg'));
            mkdirSync(join(p, '.hg'), { recursive: true });
            return [`repository ${p}`, made(top)];
          },
          () => {
            const p = join(pick(folders()), pick(names), pick(names));
            const top = firstMissing(p);
            mkdirSync(p, { recursive: true });
            return [`folders ${p}`, made(top)];
          },
          () => {
            const victims = entries().filter((f) => f !== root);
            if (victims.length === 0) return ['nothing', []];
            const p = pick(victims);
            rmSync(p, { recursive: true, force: true });
            return [`removed ${p}`, [{ folder: dirname(p), name: basename(p) }]];
          },
          () => {
            const repos = entries().filter((f) => existsSync(join(f, '.hg')));
            if (repos.length === 0) return ['nothing', []];
            const p = pick(repos);
            rmSync(join(p, '.hg'), { recursive: true, force: true });
            return [`unmade ${p}`, [{ folder: p, name: '.hg' }]];
          },
          () => {
            const from = entries().filter((f) => f !== root);
            if (from.length === 0) return ['nothing', []];
            const a = pick(from);
            const target = join(pick(folders().filter((f) => !f.startsWith(`${a}/`) && f !== a)), `moved-${Math.floor(rnd() * 100)}`);
            if (existsSync(target)) return ['nothing', []];
            renameSync(a, target);
            return [`moved ${a} to ${target}`, [{ folder: dirname(a), name: basename(a) }, { folder: dirname(target), name: basename(target) }]];
          },
          () => {
            const p = join(pick(folders()), `pq-${pick(names)}`);
            if (existsSync(p)) return ['nothing', []];
            mkdirSync(join(p, '.hg/patches/.hg'), { recursive: true });
            return [`new repository with a patch queue ${p}`, made(p)];
          },
          () => {
            const p = join(pick(folders()), `file-${pick(names)}`);
            writeFileSync(p, 'x');
            return [`file ${p}`, [{ folder: dirname(p), name: basename(p) }]];
          },
          () => {
            const f = pick(folders());
            return [`a look at ${f}`, [{ folder: f, name: null }]];
          },
          () => {
            // The root removed and made again: its watch names the root itself.
            rmSync(root, { recursive: true });
            mkdirSync(join(root, pick(names), '.hg'), { recursive: true });
            return ['the root removed and made again', [{ folder: root, name: basename(root) }]];
          },
          ...(variant.links
            ? [
                (): [string, Hint[]] => {
                  const link = join(pick(folders()), `link-${Math.floor(rnd() * 100)}`);
                  if (existsSync(link) || readdirSync(dirname(link)).includes(basename(link))) return ['nothing', []];
                  const target = rnd() < 0.5 ? pick(folders()) : join(other, 'x');
                  symlinkSync(target, link);
                  return [`symlink ${link} -> ${target}`, [{ folder: dirname(link), name: basename(link) }]];
                },
              ]
            : []),
        ];
        const log: string[] = [];
        for (let step = 0; step < STEPS; step++) {
          const [what, made] = pick(ops)();
          log.push(what);
          // The kernel tells only of folders watched when the change came. Nothing watches a repository's
          // folder under `*` (or reached through a link), so its .hg removed alone, the folder kept, waits
          // for the scheduled rescan; the WSGI script answers 404 for it meanwhile.
          const hints = made.filter((h) => watched.has(h.folder));
          if (hints.length < made.length) {
            unseen++;
            model = ServedModel.of((await fullWalk(config, dir.path)).results, options, mounts)!;
            watched = new Set(model.folders());
            continue;
          }
          const before = model.list;
          // The watches as the daemon keeps them: each change's folders removed, then its folders added.
          const watches = new Set(watched);
          const follow = (c: { foldersRemoved: readonly string[]; foldersAdded: readonly string[] }): void => {
            for (const f of c.foldersRemoved) watches.delete(f);
            for (const f of c.foldersAdded) watches.add(f);
          };
          let change = await model.update(hints);
          if (change !== FULL) follow(change);
          if (change !== FULL && change.foldersAdded.length > 0) {
            const again = await model.update(change.foldersAdded.map((folder) => ({ folder, name: null })), true);
            if (again !== FULL) {
              follow(again);
              change = { ...change, list: compose(change.list, again.list) };
            } else change = FULL;
          }
          const walked = await fullWalk(config, dir.path);
          const context = `seed ${seed}, step ${step}:\n${log.join('\n')}`;
          if (change === FULL) {
            fulls++;
            model = ServedModel.of(walked.results, options, mounts)!;
            watched = new Set(model.folders());
            continue;
          }
          assert.deepEqual(model.list.repos, walked.repos, context);
          watched = new Set(model.folders());
          assert.deepEqual(watched, new Set(walked.folders), `folders, ${context}`);
          assert.deepEqual(watches, watched, `the watches the changes leave, ${context}`);
          // The change starts from the list before, and its splices, applied to it, give the list after: what the journal carries.
          assert.equal(change.list.before, before, context);
          assert.deepEqual(applyChange(before, change.list.splices).after.repos, walked.repos, `splices, ${context}`);
          // The digest sees the list, order included: the list walked has the same one.
          assert.equal(model.list.digest, servedList(walked.repos).digest, `digest, ${context}`);
          tables += assertTablesKept(model, context);
        }
        t.diagnostic(`${fulls} of ${STEPS} changes needed a full walk, ${unseen} were not seen by any watch; ${tables} tables checked`);
        // Polls kept tables, and changes then came to the folders they are of.
        if (native !== undefined && variant.glob === '**' && !variant.links) assert.ok(tables > 0, 'no table was kept');
      } finally {
        dir.remove();
      }
    });
  });
}

describe('an update is all or nothing', () => {
  it('one that ends in FULL leaves the list, its digest and the folders as they were', async () => {
    const dir = makeTempDir('hgreload-model-atomic-');
    try {
      const [a, b] = [join(dir.path, 'a'), join(dir.path, 'b')];
      mkdirSync(join(a, 'one/.hg'), { recursive: true });
      mkdirSync(join(b, 'two/.hg'), { recursive: true });
      const config = join(dir.path, 'hgweb.config');
      writeFileSync(config, `[paths]\nx = ${a}/**\ny = ${b}/*\n`);
      const model = ServedModel.of((await fullWalk(config, dir.path)).results, { cwd: dir.path, mounts }, mounts)!;
      const before = model.list;
      const folders = model.folders().sort();
      // A change in a that the model applies, then b's top removed and made again: only a full walk can tell.
      mkdirSync(join(a, 'new/.hg'), { recursive: true });
      mkdirSync(join(a, 'newfolder/deeper'), { recursive: true });
      rmSync(b, { recursive: true });
      mkdirSync(join(b, 'three/.hg'), { recursive: true });
      const change = await model.update([
        { folder: a, name: 'new' },
        { folder: a, name: 'newfolder' },
        { folder: b, name: basename(b) },
      ]);
      assert.equal(change, FULL);
      assert.equal(model.list, before, 'the same list, not one changed in place');
      assert.deepEqual(model.list.repos.map((r) => r.name), ['x/one', 'y/two']);
      assert.deepEqual(model.folders().sort(), folders);
      assert.ok(Object.isFrozen(model.list.repos), 'a list is a value: frozen');
      // And the same model goes on from there as if that update never came.
      const next = await model.update([{ folder: a, name: 'new' }]);
      assert.notEqual(next, FULL);
      assert.equal((next as Exclude<typeof next, typeof FULL>).list.before, before);
      assert.deepEqual(model.list.repos.map((r) => r.name), ['x/new', 'x/one', 'y/two']);
    } finally {
      dir.remove();
    }
  });

  it('a digest that sees order: the same entries in another order differ', () => {
    const [p, q] = [{ name: 'p', path: '/p' }, { name: 'q', path: '/q' }];
    assert.notEqual(servedList([p, q]).digest, servedList([q, p]).digest);
    assert.equal(applyChange(servedList([p]), [{ at: 1, removed: [], inserted: [q] }]).after.digest, servedList([p, q]).digest);
    assert.throws(() => applyChange(servedList([p, q]), [{ at: 0, removed: [q], inserted: [] }]), /removes q where the list holds p/);
  });
});

describe('overlapping roots', () => {
  it("a folder one root stops watching stays watched while another root watches it", async () => {
    const dir = makeTempDir('hgreload-model-overlap-');
    try {
      const root = join(dir.path, 'root');
      const folder = join(root, 'f');
      mkdirSync(join(folder, 'sub'), { recursive: true });
      const config = join(dir.path, 'hgweb.config');
      writeFileSync(config, `[paths]\nstar = ${root}/*\nall = ${root}/**\n`);
      const model = ServedModel.of((await fullWalk(config, dir.path)).results, { cwd: dir.path, mounts }, mounts)!;
      assert.ok(model.folders().includes(folder));
      // f becomes a repository, looked at as a folder just watched (a recheck): the `*` root stops
      // watching it, the `**` root goes on (its working folder), and its look finds nothing new.
      mkdirSync(join(folder, '.hg'));
      const change = await model.update([{ folder, name: null }], true);
      assert.notEqual(change, FULL);
      const { foldersRemoved, list } = change as Exclude<typeof change, typeof FULL>;
      assert.deepEqual(list.after.repos.map((r) => r.name), ['star/f', 'all/f']);
      assert.ok(!foldersRemoved.includes(folder), `the ** root still watches ${folder}: ${JSON.stringify(foldersRemoved)}`);
      assert.ok(model.folders().includes(folder));
    } finally {
      dir.remove();
    }
  });
});

describe('a folder that changed without saying what (a poll)', () => {
  for (const way of ['a table kept in the addon', 'names handed to the addon', 'readdir'] as const) {
    it(`is compared with the model through ${way}: only the names that came or went are looked at, not the root walked again`, async () => {
      const dir = makeTempDir('hgreload-model-names-');
      try {
        const root = join(dir.path, 'flat');
        for (let i = 0; i < 300; i++) mkdirSync(join(root, `r${i}/.hg`), { recursive: true });
        mkdirSync(join(root, 'group/inner/.hg'), { recursive: true });
        const config = join(dir.path, 'hgweb.config');
        writeFileSync(config, `[paths]\n/ = ${root}/*\n`);
        const read: string[] = [];
        // Each read is seen: readdir's, and the addon's comparisons (not its walks' listings).
        const differ = localWalkFs.differ;
        assert.ok(differ !== undefined, 'npm install builds the addon: a machine that cannot fails here');
        const fs = {
          ...localWalkFs,
          reader: undefined,
          names: undefined,
          readdir: (path: string) => (read.push(path), localWalkFs.readdir(path)),
          differ: way === 'readdir' ? undefined : (folder: string, known: Parameters<typeof differ>[1]) => (read.push(folder), differ(folder, known)),
          table: way === 'a table kept in the addon' ? native!.table : undefined,
        };
        const model = ServedModel.of((await fullWalk(config, dir.path)).results, { cwd: dir.path, fs, mounts }, mounts)!;
        mkdirSync(join(root, 'new/.hg'), { recursive: true });
        rmSync(join(root, 'r7'), { recursive: true });
        rmSync(join(root, 'group'), { recursive: true });
        mkdirSync(join(root, 'group/other/.hg'), { recursive: true });
        writeFileSync(join(root, 'a-file'), '');
        read.length = 0;
        // What a poll finds: the stamps of the top and of group (removed and made again) moved.
        const change = await model.update([
          { folder: root, name: null },
          { folder: join(root, 'group'), name: null },
        ]);
        assert.notEqual(change, FULL);
        const walked = await fullWalk(config, dir.path);
        assert.deepEqual(model.list.repos, walked.repos);
        assert.deepEqual(new Set(model.folders()), new Set(walked.folders));
        // The two listings, and what is below the names that came or went (new, group/other): not the 300 others.
        assert.ok(read.length <= 5, `folders read: ${read.join(', ')}`);
        // Nothing changed: a listing, and no look at anything.
        read.length = 0;
        const none = await model.update([{ folder: root, name: null }]);
        assert.notEqual(none, FULL);
        assert.deepEqual((none as Exclude<typeof none, typeof FULL>).list.splices, []);
        assert.deepEqual(read, [root]);
        // And again after a change the kernel named: a kept table follows it.
        mkdirSync(join(root, 'named/.hg'), { recursive: true });
        rmSync(join(root, 'r8'), { recursive: true });
        assert.notEqual(await model.update([{ folder: root, name: 'named' }, { folder: root, name: 'r8' }]), FULL);
        read.length = 0;
        const after = await model.update([{ folder: root, name: null }]);
        assert.notEqual(after, FULL);
        assert.deepEqual((after as Exclude<typeof after, typeof FULL>).list.splices, []);
        assert.deepEqual(read, [root]);
        assertTablesKept(model, way);
        assert.equal(model.keptTables().length, way === 'a table kept in the addon' ? 2 : 0);
      } finally {
        dir.remove();
      }
    });
  }
});
