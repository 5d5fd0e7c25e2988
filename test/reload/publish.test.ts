import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HgreloadError } from '../../src/errors.js';
import { publishList, PUBLISHED_FILE } from '../../src/reload/publish.js';
import { makeTempDir } from '../helpers/run.js';

describe('publish', () => {
  const dir = makeTempDir();
  after(() => dir.remove());

  it('writes the list as JSON, world-readable, leaving no temp file', async () => {
    const repos = [{ name: 'a', path: '/srv/a' }, { name: 'b c', path: '/srv/b c' }];
    const old = process.umask(0o077);
    try {
      assert.match(await publishList(dir.path, repos, new Date('2026-11-25T00:00:00Z')), /published 2 repositories/);
    } finally {
      process.umask(old);
    }
    const file = join(dir.path, PUBLISHED_FILE);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { format: 1, generated: '2026-11-25T00:00:00.000Z', repos });
    assert.equal(statSync(file).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(dir.path), [PUBLISHED_FILE]);
  });

  it('replaces the previous list', async () => {
    await publishList(dir.path, []);
    assert.deepEqual(JSON.parse(readFileSync(join(dir.path, PUBLISHED_FILE), 'utf8')).repos, []);
  });

  it('names the state folder when it cannot write', () =>
    assert.rejects(publishList(join(dir.path, 'missing'), []), (err: unknown) => err instanceof HgreloadError && /cannot publish .*missing\/served\.json \(No such file/.test(err.message)));
});
