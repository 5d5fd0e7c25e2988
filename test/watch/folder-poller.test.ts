/**
 * The folder poller with its clock and its look at a folder handed in: a
 * changed stamp is reported once, a vanished folder too, a dropped folder
 * never; polls never overlap and come once per interval however often the
 * folders are set.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Timers } from '../../src/daemon/coalescer.js';
import { FolderPoller, type Stamp } from '../../src/watch/folder-poller.js';

/** Timers the test moves by hand. */
function manualTimers() {
  let now = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  let id = 0;
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => {
      pending.set(++id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (handle) => void pending.delete(handle as number),
  };
  const advance = async (ms: number) => {
    now += ms;
    for (const [key, t] of [...pending]) {
      if (t.at <= now) {
        pending.delete(key);
        t.fn();
      }
    }
    // Let the poll's promises settle.
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return { timers, advance, pending: () => pending.size };
}

describe('folder poller', () => {
  it('a new interval counts from now: a poll due in a minute comes after the shorter interval once retimed', async () => {
    const { timers, advance } = manualTimers();
    const stamps = new Map<string, Stamp>([['/a', '1']]);
    const reported: string[][] = [];
    const poller = new FolderPoller({ intervalMs: 60_000, timers, stamp: async (f) => stamps.get(f), onChange: (f) => reported.push(f) });
    await poller.set(['/a']);
    await advance(10_000);
    stamps.set('/a', '2');
    poller.retime(500);
    await advance(500);
    assert.deepEqual(reported, [['/a']], 'polled 500 ms after the retime, not 50 s later');
    poller.retime(60_000);
    stamps.set('/a', '3');
    await advance(59_999);
    assert.equal(reported.length, 1, 'back to a minute, counted from the retime');
    await advance(1);
    assert.deepEqual(reported, [['/a'], ['/a']]);
    await poller.close();
  });

  it('reports a folder whose stamp changed, once; a vanished one too; a dropped one never', async () => {
    const { timers, advance } = manualTimers();
    const stamps = new Map<string, Stamp>([
      ['/a', '1'],
      ['/b', '1'],
      ['/c', '1'],
    ]);
    const reported: string[][] = [];
    const poller = new FolderPoller({ intervalMs: 1000, timers, stamp: async (f) => stamps.get(f), onChange: (f) => reported.push(f) });
    await poller.set(['/a', '/b', '/c']);
    assert.equal(poller.count, 3);
    await advance(1000);
    assert.deepEqual(reported, [], 'nothing changed');
    stamps.set('/a', '2');
    stamps.delete('/b');
    await advance(1000);
    assert.deepEqual(reported, [['/a', '/b']]);
    await advance(1000);
    assert.equal(reported.length, 1, 'reported once');
    await poller.set(['/a']);
    stamps.set('/c', '2');
    await advance(1000);
    assert.equal(reported.length, 1, '/c is no longer polled');
    await poller.close();
  });

  it('polls once per interval however often the folders are set, and never two polls at once', async () => {
    const { timers, advance } = manualTimers();
    let looking = 0;
    let most = 0;
    let looks = 0;
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const poller = new FolderPoller({
      intervalMs: 1000,
      timers,
      onChange: () => undefined,
      stamp: async () => {
        looks++;
        looking++;
        most = Math.max(most, looking);
        if (looks > 1) await slow; // every look after the baseline hangs until released
        looking--;
        return 'x';
      },
    });
    await poller.set(['/a']);
    for (let i = 0; i < 5; i++) {
      await advance(400);
      await poller.set(['/a']); // a cycle elsewhere every 400 ms
    }
    assert.equal(looks, 2, 'one poll started in 2 s of sets every 400 ms, the baseline before it');
    await advance(5000);
    assert.equal(looks, 2, 'no second poll while the first hangs');
    release();
    await advance(0);
    await advance(1000);
    assert.equal(looks, 3, 'polling goes on after the slow one');
    assert.equal(most, 1);
    await poller.close();
  });
});
