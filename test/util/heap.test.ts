/**
 * The daemon gives back a walk's garbage with a full collection; this Node
 * must give a way to ask for one (a newer Node that does not would leave the
 * memory the README's figures say is returned). Then the C heap's free
 * memory goes back to the system, which glibc otherwise keeps.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate, setTimeout } from 'node:timers/promises';
import { getHeapSpaceStatistics } from 'node:v8';
import { collector, compactHeap } from '../../src/util/heap.js';
import { nativeAddon } from '../../src/native/addon.js';

/** A WeakRef to garbage: made in a job of its own, since a WeakRef keeps its target for the job that made it. */
const garbage = (): WeakRef<string[]> => new WeakRef(Array.from({ length: 200_000 }, (_, i) => `a path of repository ${i}`));

/** Buffers in the C heap (64 KB each: below glibc's threshold for a mapping of their own), then one more after them. */
function cHeapBuffers(mb: number): { buffers: Buffer[]; last: Buffer } {
  const buffers = Array.from({ length: mb * 16 }, () => Buffer.alloc(64 * 1024, 1));
  return { buffers, last: Buffer.alloc(64 * 1024, 1) };
}

/** V8's collection of the young generation alone (the daemon's walks make many). */
function youngCollection(): void {
  const gc = collector();
  assert.ok(gc !== null, 'this Node gives no gc');
  gc({ type: 'minor' });
}

describe('compactHeap', () => {
  it('runs a full collection, which frees what nothing holds', async () => {
    const ref = garbage();
    await setImmediate();
    assert.equal(compactHeap(), true);
    assert.equal(ref.deref(), undefined);
  });

  it("leaves V8's old space at about what is live: a walk's garbage, promoted, then dropped, is given back", async () => {
    const oldSpace = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_size;
    // Objects a walk keeps for seconds: the young generation's collections move them to the old space.
    const held = [Array.from({ length: 300_000 }, (_, i) => ({ path: `/srv/hg/group-${i % 1000}/repo-${i}`, parts: [i, i + 1] }))];
    youngCollection();
    youngCollection();
    const withGarbage = oldSpace();
    held.pop();
    await setImmediate();
    compactHeap();
    const after = oldSpace();
    assert.ok(withGarbage - after > 20 * 1024 * 1024, `old space ${(withGarbage / 2 ** 20).toFixed(1)} MB with the garbage, ${(after / 2 ** 20).toFixed(1)} MB after`);
  });

  it("gives back the C heap's free memory: 32 MB of buffers, collected, leave the resident size", async (t) => {
    const addon = nativeAddon();
    if (addon instanceof Error) return t.skip('the addon is not built');
    const held = cHeapBuffers(32);
    const before = process.memoryUsage.rss();
    // Dropped all at once, the last one kept: the C heap's free memory is then in its middle, which
    // glibc's free() does not give back by itself.
    held.buffers.length = 0;
    // V8 frees the buffers' memory on a thread of its own after the collection: looked at again until it has.
    let after = before;
    for (let tries = 0; tries < 100 && before - after <= 24 * 1024 * 1024; tries++) {
      await setTimeout(10);
      compactHeap();
      after = process.memoryUsage.rss();
    }
    assert.ok(before - after > 24 * 1024 * 1024, `resident ${(before / 2 ** 20).toFixed(1)} MB, then ${(after / 2 ** 20).toFixed(1)} MB`);
    assert.equal(held.last.length, 64 * 1024);
  });
});
