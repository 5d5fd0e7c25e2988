/** mulberry32: a small seeded generator, so that a failing random sequence can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded generator for a property test, and `pick` over it: the seed is
 * HGRELOAD_SEED when set (to replay one), else new, and said in the test's
 * output.
 */
export function seeded(t: { diagnostic(message: string): void }): { seed: number; rnd: () => number; pick: <T>(items: readonly T[]) => T } {
  const seed = process.env.HGRELOAD_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.HGRELOAD_SEED);
  t.diagnostic(`seed ${seed} (HGRELOAD_SEED=${seed} replays it)`);
  const rnd = random(seed);
  return { seed, rnd, pick: <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]! };
}
