/**
 * The addon's listing (src/native/listing.c) against Node's readdir on real
 * folders: the names the walk uses, in byte order; the patch queue; the cases
 * it hands back to readdir; and a reader reading ahead on its thread, which
 * must give each folder's listing exactly as a plain read would, in any order
 * it is asked, beyond its bound, and after it ended. And stamps.c's changed
 * folders against their stamps.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeListing, type FolderNames, type NativeListing } from '../../src/native/listing.js';
import { compareNames, decodeName } from '../../src/discovery/fs-names.js';
import { changedSince } from '../../src/watch/changed-since.js';
import { nativeAddon, type AddonBinding } from '../../src/native/addon.js';

/** What the walk takes from Node's readdir: subfolders in byte order, and symlinks. */
function byReaddir(folder: string): FolderNames {
  const entries = readdirSync(Buffer.from(folder), { withFileTypes: true, encoding: 'buffer' });
  const names = (pick: (e: (typeof entries)[number]) => boolean) => entries.filter(pick).map((e) => decodeName(e.name as unknown as Buffer)).sort(compareNames);
  let patchQueue = false;
  try {
    patchQueue = readdirSync(join(folder, '.hg', 'patches', '.hg')) !== undefined;
  } catch {
    patchQueue = false;
  }
  return { dirs: names((e) => e.isDirectory()), links: names((e) => e.isSymbolicLink()), patchQueue };
}

describe('native listing', () => {
  let base = '';
  let native: NativeListing;
  /** A read with nothing read ahead. */
  const list = (folder: string): FolderNames | undefined => {
    const reader = native.reader();
    try {
      return reader.list(folder);
    } finally {
      reader.end();
    }
  };
  before(() => {
    base = mkdtempSync(join(tmpdir(), 'hgreload-listing-'));
    const listing = nativeListing();
    assert.ok(listing !== undefined, 'npm install builds the addon: a machine that cannot fails here');
    native = listing;
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  it('gives the subfolders in byte order and the symlinks, as readdir does', () => {
    const f = join(base, 'mixed');
    // Byte order differs from JavaScript's where a name holds U+E000-U+FFFF or an astral letter.
    for (const name of ['b', 'B', 'a', 'é', '\uE000x', '\u{1F600}', 'z z', '.hg', '.hidden', '-dash']) mkdirSync(join(f, name), { recursive: true });
    writeFileSync(join(f, 'file'), '');
    symlinkSync('b', join(f, 'link-dir'));
    symlinkSync('file', join(f, 'link-file'));
    symlinkSync('nowhere', join(f, 'dangling'));
    const got = list(f);
    assert.deepEqual(got, byReaddir(f));
    assert.equal(got!.dirs.length, 10);
    assert.deepEqual(got!.links, ['dangling', 'link-dir', 'link-file']);
  });

  it("tells a repository's patch queue, through a symlink too, and not a file in its place", () => {
    const plain = join(base, 'pq/plain');
    mkdirSync(join(plain, '.hg/patches/.hg'), { recursive: true });
    const linked = join(base, 'pq/linked');
    mkdirSync(join(linked, '.hg'), { recursive: true });
    mkdirSync(join(base, 'pq/queue/.hg'), { recursive: true });
    symlinkSync(join(base, 'pq/queue'), join(linked, '.hg/patches'));
    const file = join(base, 'pq/file');
    mkdirSync(join(file, '.hg/patches'), { recursive: true });
    writeFileSync(join(file, '.hg/patches/.hg'), '');
    const none = join(base, 'pq/none');
    mkdirSync(join(none, '.hg'), { recursive: true });
    assert.deepEqual([plain, linked, file, none].map((f) => list(f)?.patchQueue), [true, true, false, false]);
    for (const f of [plain, linked, file, none]) assert.deepEqual(list(f), byReaddir(f));
  });

  it('hands a name that is not UTF-8, and every error, back to readdir', () => {
    const f = join(base, 'bytes');
    mkdirSync(f);
    mkdirSync(Buffer.concat([Buffer.from(`${f}/`), Buffer.from([0x66, 0xff, 0x6f])]));
    assert.equal(list(f), undefined);
    assert.equal(list(join(base, 'missing')), undefined);
    writeFileSync(join(base, 'a-file'), '');
    assert.equal(list(join(base, 'a-file')), undefined);
  });

  it('a reader gives what a plain read gives, in any order, past its bound, and after it ended', () => {
    const top = join(base, 'many');
    const folders: string[] = [];
    // More than the reader holds at once (AHEAD_MAX, 4096).
    for (let i = 0; i < 5000; i++) {
      const f = join(top, `r${i}`);
      mkdirSync(join(f, i % 3 === 0 ? '.hg' : `sub${i % 7}`), { recursive: true });
      if (i % 500 === 0) mkdirSync(join(f, '.hg/patches/.hg'), { recursive: true });
      folders.push(f);
    }
    folders.push(join(top, 'missing'));
    const plain = folders.map((f) => list(f));
    const inOrder = native.reader();
    inOrder.ahead(folders);
    assert.deepEqual(folders.map((f) => inOrder.list(f)), plain);
    inOrder.end();
    const shuffled = native.reader();
    shuffled.ahead(folders);
    const order = folders.map((_, i) => (i * 7919) % folders.length);
    const got = new Array<FolderNames | undefined>(folders.length);
    for (const i of order) got[i] = shuffled.list(folders[i]!);
    assert.deepEqual(got, plain);
    shuffled.end();
    // Ended with listings never taken: they are dropped, and a list reads afresh.
    const ended = native.reader();
    ended.ahead(folders.slice(0, 100));
    ended.end();
    ended.ahead(folders.slice(0, 100));
    assert.deepEqual(ended.list(folders[0]!), plain[0]);
  });

  it('a listing is taken once: asked again, the folder is read again', () => {
    const f = join(base, 'again');
    mkdirSync(join(f, 'before'), { recursive: true });
    const reader = native.reader();
    reader.ahead([f]);
    assert.deepEqual(reader.list(f)?.dirs, ['before']);
    mkdirSync(join(f, 'after'));
    reader.ahead([f]);
    assert.deepEqual(reader.list(f)?.dirs, ['after', 'before']);
    assert.deepEqual(reader.list(f)?.dirs, ['after', 'before']);
    reader.end();
  });

  it('differ: the names in one of the folder and the known list only, a name known twice being one', async () => {
    const f = join(base, 'differ');
    for (const name of ['kept', 'new', 'é', '.hg']) mkdirSync(join(f, name), { recursive: true });
    writeFileSync(join(f, 'a-file'), '');
    symlinkSync('kept', join(f, 'new-link'));
    const got = await native.differ(f, ['kept', 'kept', 'é', 'gone', '.hg', 'gone-too']);
    assert.deepEqual(got?.sort(compareNames), ['gone', 'gone-too', 'new', 'new-link']);
    assert.deepEqual(await native.differ(f, ['.hg', 'kept', 'new', 'new-link', 'é']), []);
    assert.deepEqual((await native.differ(f, []))?.sort(compareNames), byReaddir(f).dirs.concat(byReaddir(f).links).sort(compareNames));
    assert.equal(await native.differ(join(base, 'missing'), ['a']), undefined);
    assert.equal(await native.differ(join(base, 'bytes'), ['a']), undefined);
  });

  it('differ with a kept table: what the joined names give, after names are added and taken away', async () => {
    const f = join(base, 'table');
    for (const name of ['kept', 'new', 'é', '.hg']) mkdirSync(join(f, name), { recursive: true });
    const known = ['kept', 'é', 'gone', '.hg'];
    const table = native.table(known)!;
    assert.deepEqual((await native.differ(f, table))?.sort(compareNames), (await native.differ(f, known))?.sort(compareNames));
    assert.ok(table.set('new', true) && table.set('gone', false) && table.set('gone', false));
    assert.deepEqual(await native.differ(f, table), []);
    assert.deepEqual(table.names().sort(compareNames), ['.hg', 'kept', 'new', 'é']);
    assert.equal(await native.differ(join(base, 'missing'), table), undefined);
    // A name that is not UTF-8 cannot be held: a table of one is not made, and one given later is refused.
    assert.equal(native.table(['a', 'b\uDC80']), undefined);
    assert.equal(table.set('b\uDC80', true), false);
    // A table and a reader are both external values: each function takes only its own kind.
    const addon = nativeAddon() as AddonBinding;
    const [aTable, aReader] = [addon.table('a'), addon.reader()];
    assert.throws(() => addon.end(aTable), TypeError);
    assert.throws(() => addon.tableNames(aReader), TypeError);
    assert.throws(() => addon.tableSet(aReader, 'a', true), TypeError);
    assert.deepEqual(addon.tableNames(aTable), ['a']);
    addon.end(aReader);
  });

  it('a table changed while a comparison reads it throws; it can change once the comparison is done', async () => {
    const f = join(base, 'table-busy');
    mkdirSync(join(f, 'a'), { recursive: true });
    const table = native.table(['a'])!;
    const reading = native.differ(f, table);
    assert.throws(() => table.set('b', true), /while a comparison reads it/);
    assert.deepEqual(await reading, []);
    assert.ok(table.set('b', true));
    assert.deepEqual(await native.differ(f, table), ['b']);
  });

  it('a table holds what a Set holds, through many names added and taken away in a seeded order', () => {
    let state = 12345;
    const rnd = (n: number): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const table = native.table([])!;
    const set = new Set<string>();
    // Few distinct names, many steps: probes collide, the table grows, and removals move names back.
    for (let step = 0; step < 20000; step++) {
      const name = `n${rnd(3000)}`;
      const present = rnd(3) > 0;
      table.set(name, present);
      if (present) set.add(name);
      else set.delete(name);
      // As sorted lists, not Sets: a name the table lost track of would show twice after it is added again.
      if (step % 2500 === 0) assert.deepEqual(table.names().sort(), [...set].sort(), `step ${step}`);
    }
    assert.deepEqual(table.names().sort(), [...set].sort());
  });

  it('changedSince: the folders stamped at or after the time, and those gone', async () => {
    const folders = [0, 1, 2, 3].map((i) => join(base, `stamps/f${i}`));
    for (const f of folders) mkdirSync(f, { recursive: true });
    // The kernel stamps with a coarse clock that can lag Date.now() (the daemon allows for it): the times
    // here come from the stamps themselves. A ctime cannot be set, so `since` is just after the newest.
    const newest = Math.max(...folders.map((f) => Math.max(statSync(f).mtimeMs, statSync(f).ctimeMs)));
    const since = newest + 0.001;
    assert.deepEqual(await changedSince(folders, since), []);
    assert.deepEqual(await changedSince(folders, newest), folders.filter((f) => Math.max(statSync(f).mtimeMs, statSync(f).ctimeMs) >= newest));
    mkdirSync(join(folders[1]!, 'new'));
    const later = (newest + 60_000) / 1000;
    utimesSync(folders[1]!, later, later);
    rmSync(folders[3]!, { recursive: true });
    assert.deepEqual(await changedSince(folders, since), [folders[1], folders[3]]);
    // More folders than one call of the addon takes (2,000), in order.
    const many = Array.from({ length: 4500 }, (_, i) => (i % 1000 === 999 ? folders[1]! : folders[0]!));
    assert.deepEqual((await changedSince(many, since)).length, 4);
  });
});
