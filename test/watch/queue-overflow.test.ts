/** QueueOverflow: a turn of the event loop that brings a whole queue's worth of events is told, once; events spread over turns are not. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { QueueOverflow } from '../../src/watch/queue-overflow.js';

describe('QueueOverflow', () => {
  it("tells a turn that brought the queue's length less the overflow record's place, once", async () => {
    let told = 0;
    const overflow = new QueueOverflow(() => told++, 8);
    for (let i = 0; i < 6; i++) overflow.event();
    assert.equal(told, 0, '6 of a queue of 8: not full');
    overflow.event();
    assert.equal(told, 1, '7: the queue filled (the 8th place is the overflow record)');
    for (let i = 0; i < 20; i++) overflow.event();
    assert.equal(told, 1, 'once per turn');
    await nextTurn();
    for (let i = 0; i < 7; i++) overflow.event();
    assert.equal(told, 2, 'and again in a later turn that fills it');
  });

  it('does not add up events that came in different turns', async () => {
    let told = 0;
    const overflow = new QueueOverflow(() => told++, 8);
    for (let turn = 0; turn < 10; turn++) {
      for (let i = 0; i < 5; i++) overflow.event();
      await nextTurn();
    }
    assert.equal(told, 0);
  });
});
