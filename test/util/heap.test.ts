/**
 * The daemon gives back a walk's garbage with a full collection; this Node
 * must give a way to ask for one (a newer Node that does not would leave the
 * memory the README's figures say is returned).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate } from 'node:timers/promises';
import { compactHeap } from '../../src/util/heap.js';

/** A WeakRef to garbage: made in a job of its own, since a WeakRef keeps its target for the job that made it. */
const garbage = (): WeakRef<string[]> => new WeakRef(Array.from({ length: 200_000 }, (_, i) => `a path of repository ${i}`));

describe('compactHeap', () => {
  it('runs a full collection, which frees what nothing holds', async () => {
    const ref = garbage();
    await setImmediate();
    assert.equal(compactHeap(), true);
    assert.equal(ref.deref(), undefined);
  });
});
