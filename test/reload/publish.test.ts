import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HgreloadError } from '../../src/errors.js';
import { JOURNAL_FILE, publishList, Publisher, PUBLISHED_FILE, snapshotBytes } from '../../src/reload/publish.js';
import { applyChange, EMPTY_LIST, noChange, servedList } from '../../src/model/served-list.js';
import { readPublished, readSnapshot } from '../helpers/published.js';
import { makeTempDir } from '../helpers/run.js';

describe('publish', () => {
  const dir = makeTempDir();
  after(() => dir.remove());

  it('writes the list after a JSON header, as the exact bytes of each name and path, world-readable, leaving no temp file', async () => {
    // A name whose bytes are not UTF-8 (fs-names.ts), a newline, and one of the UTF-8 bytes after it.
    const odd = `caf\uDCE9\nx`;
    const repos = [{ name: 'a', path: '/srv/a' }, { name: odd, path: `/srv/${odd}` }, { name: 'b c', path: '/srv/b c' }];
    const old = process.umask(0o077);
    try {
      assert.match(await publishList(dir.path, repos, new Date("2026-11-25T00:00:00Z")), /published 3 repositories/);
    } finally {
      process.umask(old);
    }
    const file = join(dir.path, PUBLISHED_FILE);
    const { header, repos: read } = readSnapshot(file);
    assert.deepEqual({ ...header, generation: '' }, { format: 4, generation: '', generated: '2026-11-25T00:00:00.000Z', repos: 3, slots: 8 });
    assert.deepEqual(read, repos);
    // The entries, as bytes (the index after them is checked by readSnapshot).
    const entries = Buffer.concat([Buffer.from('a\0/srv/a\0'), Buffer.from('caf\xe9\nx\0/srv/caf\xe9\nx\0', 'latin1'), Buffer.from('b c\0/srv/b c\0')]);
    const data = readFileSync(file);
    assert.deepEqual(data.subarray(data.indexOf(0x0a) + 1, data.indexOf(0x0a) + 1 + entries.length), entries);
    // An empty journal of the same generation beside it.
    assert.equal(readFileSync(join(dir.path, JOURNAL_FILE), 'utf8'), `${JSON.stringify({ generation: header.generation })}\n`);
    for (const f of [PUBLISHED_FILE, JOURNAL_FILE]) assert.equal(statSync(join(dir.path, f)).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(dir.path).sort(), [JOURNAL_FILE, PUBLISHED_FILE]);
  });

  it('replaces the previous list', async () => {
    await publishList(dir.path, []);
    assert.deepEqual(readSnapshot(join(dir.path, PUBLISHED_FILE)).repos, []);
  });

  it("removes the snapshot of hgreload's format 2, so that a WSGI script of then says it cannot read it", async () => {
    writeFileSync(join(dir.path, 'served.json'), '{"format": 2, "generation": "g", "repos": []}');
    await publishList(dir.path, []);
    assert.equal(existsSync(join(dir.path, 'served.json')), false);
  });

  it('writes a list of many megabytes in pieces, byte for byte the list, names that are not UTF-8 across the pieces too', async () => {
    const repos = Array.from({ length: 40_000 }, (_, i) => {
      const name = i % 997 === 0 ? `g${i % 13}/caf\uDCE9-${i}` : `g${i % 13}/repo-${i}`;
      return { name, path: `/srv/${'long-folder-name/'.repeat(3)}${name}` };
    });
    await publishList(dir.path, repos);
    const file = join(dir.path, PUBLISHED_FILE);
    assert.ok(statSync(file).size > 3 * (1 << 20), 'more than a piece');
    const { header, repos: read } = readSnapshot(file);
    assert.deepEqual(read, repos);
    assert.deepEqual(readFileSync(file), snapshotBytes(header, repos));
    assert.deepEqual(readdirSync(dir.path).sort(), [JOURNAL_FILE, PUBLISHED_FILE]);
  });

  it('refuses to publish a list holding a NUL byte, saying so, and keeps the last one whole', async () => {
    await publishList(dir.path, [{ name: 'a', path: '/srv/a' }]);
    const before = readFileSync(join(dir.path, PUBLISHED_FILE));
    const many = Array.from({ length: 30_000 }, (_, i) => ({ name: `r${i}`, path: `/srv/${'x'.repeat(40)}/r${i}` }));
    await assert.rejects(publishList(dir.path, [...many, { name: 'a\0b', path: '/srv/a' }]), (e: unknown) => e instanceof HgreloadError && /"a\\u0000b": it holds a NUL byte/.test(e.message));
    assert.deepEqual(readFileSync(join(dir.path, PUBLISHED_FILE)), before);
    assert.deepEqual(readdirSync(dir.path).sort(), [JOURNAL_FILE, PUBLISHED_FILE], 'no temp file left');
  });

  it('refuses a name holding a NUL byte', () => {
    assert.throws(() => snapshotBytes({ generation: 'g', generated: '' }, [{ name: 'a\0b', path: '/srv/a' }]), (e: unknown) => e instanceof HgreloadError && /NUL/.test(e.message));
  });

  it('writes a change to the journal when it follows the very list it wrote, and a snapshot otherwise', async () => {
    const folder = join(dir.path, 'journal');
    mkdirSync(folder);
    const publisher = new Publisher(folder);
    const a = { name: 'a', path: '/srv/a' };
    const b = { name: 'b', path: '/srv/b' };
    const first = applyChange(EMPTY_LIST, [{ at: 0, removed: [], inserted: [a] }]);
    assert.match(await publisher.publish(first), /published 1 repositories/);
    const snapshot = readFileSync(join(folder, PUBLISHED_FILE), 'utf8');
    const second = applyChange(first.after, [{ at: 1, removed: [], inserted: [b] }]);
    assert.match(await publisher.publish(second), /published a change \(\+1 -0\)/);
    assert.equal(readFileSync(join(folder, PUBLISHED_FILE), 'utf8'), snapshot, 'the snapshot stays');
    assert.deepEqual(readPublished(folder), [a, b]);
    const third = applyChange(second.after, [{ at: 0, removed: [a], inserted: [] }]);
    assert.match(await publisher.publish(third), /\(\+0 -1\)/);
    assert.deepEqual(readPublished(folder), [b]);
    // Each line says its number and the length of the list it applies to.
    const lines = readFileSync(join(folder, JOURNAL_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { n?: number; size?: number });
    assert.deepEqual(lines.slice(1).map((l) => [l.n, l.size]), [[1, 1], [2, 2]]);
    // A change to an equal list that this publisher did not write (a failed write, another leader's) makes a snapshot.
    const elsewhere = applyChange(servedList([b]), [{ at: 0, removed: [], inserted: [a] }]);
    assert.match(await publisher.publish(elsewhere), /published 2 repositories/);
    assert.deepEqual(readPublished(folder), [a, b]);
    // And so does a forced one.
    assert.match(await publisher.publish(noChange(elsewhere.after), true), /published 2 repositories/);
  });

  it('names the state folder when it cannot write', () =>
    assert.rejects(publishList(join(dir.path, 'missing'), []), (err: unknown) => err instanceof HgreloadError && /cannot publish .*missing\/served\.list \(No such file/.test(err.message)));
});
