/**
 * What the tree watcher says when the kernel refuses a watch: the inotify
 * watch limit (ENOSPC) names max_user_watches; no file descriptor or inotify
 * instance left (EMFILE) is not that limit and says what it is.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { watch as fsWatch } from 'node:fs';
import { HgreloadError } from '../../src/errors.js';
import { TreeWatcher } from '../../src/watch/tree-watcher.js';

const refusing = (code: string) =>
  (() => {
    throw Object.assign(new Error(`${code}: refused`), { code });
  }) as unknown as typeof fsWatch;

const errorOf = (code: string): HgreloadError => {
  const watcher = new TreeWatcher({ onChange: () => undefined, onError: () => undefined, watch: refusing(code) });
  try {
    watcher.update([], ['/tmp']);
  } catch (err) {
    assert.ok(err instanceof HgreloadError);
    return err;
  } finally {
    watcher.close();
  }
  assert.fail('no error');
};

describe('tree watcher errors', () => {
  it('ENOSPC is the watch limit, with the sysctl to raise', () => {
    const err = errorOf('ENOSPC');
    assert.equal(err.code, 'watch-limit');
    assert.match(err.hint ?? '', /fs\.inotify\.max_user_watches=/);
  });

  it('EMFILE is too many open files, not the watch limit', () => {
    const err = errorOf('EMFILE');
    assert.equal(err.code, 'too-many-files');
    assert.match(err.message, /too many open files/);
    assert.doesNotMatch(err.message, /max_user_watches/);
    assert.match(err.hint ?? '', /LimitNOFILE=.*max_user_instances/);
  });
});
