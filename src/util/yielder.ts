/**
 * Hands the event loop back every few milliseconds during long synchronous
 * work, so that a daemon doing it still reads the kernel's events and answers
 * its control socket.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers/promises';

const YIELD_EVERY_MS = 4;

/**
 * A function to await between items: it yields when the last yield is
 * YIELD_EVERY_MS old. `hold`, asked at each yield, gives what to wait for
 * before going on (work in the background waits out work in the foreground).
 */
export function yielder(hold?: () => Promise<void> | undefined): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < YIELD_EVERY_MS) return undefined;
    return setImmediate()
      .then(() => hold?.())
      .then(() => void (since = performance.now()));
  };
}
