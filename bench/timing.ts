/** Wall-clock timing and its summary. */
import { performance } from 'node:perf_hooks';

/** Milliseconds that `fn` takes, awaiting it if it returns a promise. */
export async function elapsedMs(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export function median(samples: readonly number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
