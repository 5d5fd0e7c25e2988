import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { outermost } from '../../src/util/outermost.js';

describe('outermost', () => {
  it('keeps the folders not below another of them ("a-x" sorts between "a" and "a/b")', () => {
    assert.deepEqual(outermost(['/r/a', '/r/a-x', '/r/a/b', '/r/a-x/c', '/x/y', '/r/a/b/c']).sort(), ['/r/a', '/r/a-x', '/x/y']);
    assert.deepEqual(outermost(['/r/a/b', '/r', '/r/a']), ['/r']);
    assert.deepEqual(outermost(['/', '/a']), ['/']);
  });
});
