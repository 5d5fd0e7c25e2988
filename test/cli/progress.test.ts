/** Progress: rewritten in place on a terminal, a plain line every few seconds elsewhere; a summary at the end. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Progress } from '../../src/cli/progress.js';

describe('Progress', () => {
  const run = (terminal: boolean) => {
    let now = 0;
    const out: string[] = [];
    const p = new Progress({ what: 'repositories', total: 100, write: (t) => out.push(t), terminal, now: () => now });
    for (let i = 0; i < 100; i++) {
      now += 100; // 10 a second
      p.step();
    }
    return { out, summary: p.finish() };
  };

  it('on a terminal: one line rewritten in place, counts, rate and time left, taken away at the end', () => {
    const { out, summary } = run(true);
    assert.ok(out.length > 10 && out.length <= 50, String(out.length));
    assert.equal(out[0], '\r\x1b[K2 of 100 repositories, 10/s, about 10 s left');
    assert.equal(out.at(-1), '\r\x1b[K');
    assert.equal(summary, '100 repositories in 10.0 s (10/s)');
  });

  it('elsewhere: a plain line every five seconds, nothing to take away', () => {
    const { out } = run(false);
    assert.deepEqual(out, ['50 of 100 repositories, 10/s, about 5 s left\n']);
  });
});
