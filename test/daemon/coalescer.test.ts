/**
 * The coalescer under node:test's mock timers (`mock.timers.enable({ apis: ['setTimeout', 'Date'] })`):
 * time moves only by `mock.timers.tick`, so these tests never sleep.
 */
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '../../src/daemon/coalescer.js';

/** Lets resolved promises run their continuations. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Coalescer', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  const make = (reload: (firstChange: number | undefined) => Promise<void>, errors: unknown[] = []) =>
    new Coalescer(reload, { quietMs: 500, maxWaitMs: 5_000, onError: (e) => errors.push(e) });

  it('reloads once after a quiet period, for a whole burst', async () => {
    let reloads = 0;
    const c = make(async () => void reloads++);
    for (let i = 0; i < 1000; i++) {
      c.notify();
      mock.timers.tick(1);
    }
    assert.equal(reloads, 0);
    mock.timers.tick(499);
    await settle();
    assert.equal(reloads, 1);
    mock.timers.tick(10_000);
    await settle();
    assert.equal(reloads, 1);
  });

  it('with leading: the first change after a quiet period runs at once, the rest of its burst after quiet', async () => {
    let reloads = 0;
    const c = new Coalescer(async () => void reloads++, { quietMs: 500, maxWaitMs: 5_000, leading: true, onError: () => undefined });
    c.notify();
    c.notify(); // the same turn: the same cycle
    mock.timers.tick(0);
    await settle();
    assert.equal(reloads, 1);
    for (let i = 0; i < 1000; i++) {
      c.notify();
      mock.timers.tick(1);
    }
    await settle();
    assert.equal(reloads, 1, 'the burst after it waits for quiet');
    mock.timers.tick(499);
    await settle();
    assert.equal(reloads, 2);
    // A change less than a quiet period after the last cycle waits too; one after, does not.
    mock.timers.tick(100);
    c.notify();
    mock.timers.tick(0);
    await settle();
    assert.equal(reloads, 2);
    mock.timers.tick(500);
    await settle();
    assert.equal(reloads, 3);
    mock.timers.tick(600);
    c.notify();
    mock.timers.tick(0);
    await settle();
    assert.equal(reloads, 4);
  });

  it('with leading: a cycle that did nothing to wait behind (it only started a walk beside) ends no quiet period', async () => {
    const cycles: string[] = [];
    let next = 'walk started';
    const c = new Coalescer(
      async () => {
        cycles.push(next);
        return next !== 'walk started';
      },
      { quietMs: 500, maxWaitMs: 5_000, leading: true, onError: () => undefined },
    );
    c.notify(); // hgreload touch: a walk of every root starts beside the cycles
    mock.timers.tick(0);
    await settle();
    next = 'a change';
    mock.timers.tick(10);
    c.notify(); // a repository made right after: at once, not a quiet period later
    mock.timers.tick(0);
    await settle();
    assert.deepEqual(cycles, ['walk started', 'a change']);
    c.notify(); // one more right after a cycle that did work: waits for quiet
    mock.timers.tick(0);
    await settle();
    assert.equal(cycles.length, 2);
    mock.timers.tick(500);
    await settle();
    assert.equal(cycles.length, 3);
  });

  it('reloads by maxWait when changes never go quiet', async () => {
    let reloads = 0;
    const c = make(async () => void reloads++);
    for (let t = 0; t < 4_999; t += 100) {
      c.notify();
      mock.timers.tick(100);
    }
    await settle();
    assert.equal(reloads, 1);
  });

  it('never overlaps reloads; changes during one make exactly one more', async () => {
    let running = 0;
    let maxRunning = 0;
    let reloads = 0;
    let finish: () => void = () => {};
    const c = make(() => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      reloads++;
      return new Promise<void>((resolve) => {
        finish = () => {
          running--;
          resolve();
        };
      });
    });
    c.notify();
    mock.timers.tick(500);
    assert.equal(reloads, 1);
    c.notify();
    c.notify();
    mock.timers.tick(10_000);
    assert.equal(reloads, 1, 'no second reload while the first runs');
    finish();
    await settle();
    mock.timers.tick(500);
    assert.equal(reloads, 2);
    finish();
    await settle();
    mock.timers.tick(10_000);
    await settle();
    assert.equal(reloads, 2);
    assert.equal(maxRunning, 1);
  });

  it('tells each cycle when the first change it answers came, changes during the cycle before it included', async () => {
    const firsts: Array<number | undefined> = [];
    let finish: () => void = () => {};
    const c = make((firstChange) => {
      firsts.push(firstChange);
      return new Promise<void>((resolve) => (finish = resolve));
    });
    c.notify(); // at 1,000,000
    mock.timers.tick(200);
    c.notify();
    mock.timers.tick(500);
    assert.deepEqual(firsts, [1_000_000]);
    mock.timers.tick(300);
    c.notify(); // at 1,001,000, while the first cycle runs: the second cycle answers it
    mock.timers.tick(2_000);
    finish();
    await settle();
    mock.timers.tick(500);
    assert.deepEqual(firsts, [1_000_000, 1_001_000]);
    finish();
    await settle();
    const ran = c.runNow(); // asked for by no change
    await settle();
    finish();
    await ran;
    assert.deepEqual(firsts, [1_000_000, 1_001_000, undefined]);
  });

  it('reports a failed reload and reloads again on the next change', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const c = make(async () => {
      calls++;
      if (calls === 1) throw new Error('server said no');
    }, errors);
    c.notify();
    mock.timers.tick(500);
    await settle();
    assert.equal(errors.length, 1);
    mock.timers.tick(60_000);
    await settle();
    assert.equal(calls, 1, 'no retry loop without a change');
    c.notify();
    mock.timers.tick(500);
    await settle();
    assert.equal(calls, 2);
    assert.equal(errors.length, 1);
  });

  it('close() cancels a pending reload and waits for a running one', async () => {
    let reloads = 0;
    const c = make(async () => void reloads++);
    c.notify();
    assert.equal(c.pending, true);
    await c.close();
    mock.timers.tick(10_000);
    c.notify();
    mock.timers.tick(10_000);
    await settle();
    assert.equal(reloads, 0);
    assert.equal(c.pending, false);
  });
});
