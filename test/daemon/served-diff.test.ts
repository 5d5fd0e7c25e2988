/** diffServed: the names that came and went, one side empty or not, checked against a plain count of pairs. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffServed } from '../../src/daemon/served-diff.js';
import type { ServedRepo } from '../../src/discovery/served-repos.js';

/** Each (name, path) pair of `from` not in `other`, in `from`'s order: what diffServed means by added or removed. */
function missing(from: readonly ServedRepo[], other: readonly ServedRepo[]): string[] {
  return from.filter((r) => !other.some((o) => o.name === r.name && o.path === r.path)).map((r) => r.name);
}

describe('diffServed', () => {
  it('gives every name of a first list as added and of a vanished one as removed, in order', () => {
    const list = [
      { name: 'b', path: '/r/b' },
      { name: 'a', path: '/r/a' },
      { name: 'a', path: '/s/a' },
    ];
    assert.deepEqual(diffServed([], list), { added: ['b', 'a', 'a'], removed: [] });
    assert.deepEqual(diffServed(list, []), { added: [], removed: ['b', 'a', 'a'] });
    assert.deepEqual(diffServed([], []), { added: [], removed: [] });
  });

  it('matches pairs by name and path on random lists, either side possibly empty', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const list = (): ServedRepo[] => Array.from({ length: random(4) === 0 ? 0 : random(12) }, () => ({ name: `n${random(6)}`, path: `/p${random(3)}` }));
    for (let i = 0; i < 500; i++) {
      const before = list();
      const after = list();
      assert.deepEqual(diffServed(before, after), { added: missing(after, before), removed: missing(before, after) }, JSON.stringify({ before, after }));
    }
  });
});
