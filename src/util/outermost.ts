import { dirname } from 'node:path';

/** The paths not below another of them (each once). */
export function outermost(paths: readonly string[]): string[] {
  const all = new Set(paths);
  const below = (f: string): boolean => {
    for (let up = dirname(f); up !== f; f = up, up = dirname(up)) if (all.has(up)) return true;
    return false;
  };
  return [...all].filter((f) => !below(f));
}
