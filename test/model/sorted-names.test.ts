/**
 * The merge of ordered name lists against Sets: the same names, in hgweb's
 * byte order, for random lists over letters where byte order and JavaScript's
 * order differ (U+E000 and an astral letter, and an escaped byte).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { differences, ordered } from '../../src/model/sorted-names.js';
import { compareNames } from '../../src/discovery/fs-names.js';
import { seeded } from '../helpers/random.js';

const LETTERS = ['a', 'b', 'B', '-', '.', 'é', '\uE000', '\u{1F600}', '\uDCFF'];

describe('sorted names', () => {
  it('ordered and differences give what Sets give, in byte order', (t) => {
    const { rnd, pick } = seeded(t);
    const name = (): string => Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(LETTERS)).join('');
    const list = (): string[] => Array.from({ length: Math.floor(rnd() * 40) }, name);
    const sorted = (names: Iterable<string>): string[] => [...new Set(names)].sort(compareNames);
    for (let round = 0; round < 300; round++) {
      const a = list();
      const b = list();
      assert.deepEqual(ordered(a), sorted(a));
      const oa = ordered(a);
      const ob = ordered(b);
      const inB = new Set(b);
      const inA = new Set(a);
      assert.deepEqual(differences(oa, ob), sorted([...a.filter((n) => !inB.has(n)), ...b.filter((n) => !inA.has(n))]));
    }
  });

  it('an ordered list is taken as it is, repeats dropped', () => {
    assert.deepEqual(ordered(['a', 'a', 'b', 'é', 'é', '\uE000', '\u{1F600}']), ['a', 'b', 'é', '\uE000', '\u{1F600}']);
    assert.deepEqual(ordered([]), []);
  });
});
