/**
 * Lists of names in hgweb's order (bytewise, compareNames), compared by a
 * merge: where the addon cannot compare a folder with what the model holds
 * there (no addon, a name not UTF-8), without a Set of either (building the
 * two Sets cost 12 ms of a polled change at 20,000 names).
 */
import { compareNames } from '../discovery/fs-names.js';

/** `names` in order without repeats; sorted first only where they were not in order already. */
export function ordered(names: readonly string[]): string[] {
  let sorted = true;
  for (let i = 1; i < names.length && sorted; i++) sorted = compareNames(names[i - 1]!, names[i]!) <= 0;
  const inOrder = sorted ? names : [...names].sort(compareNames);
  return inOrder.filter((name, i) => i === 0 || name !== inOrder[i - 1]);
}

/** The names in one ordered list and not the other, ordered. */
export function differences(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const c = i === a.length ? 1 : j === b.length ? -1 : compareNames(a[i]!, b[j]!);
    if (c < 0) out.push(a[i++]!);
    else if (c > 0) out.push(b[j++]!);
    else {
      i++;
      j++;
    }
  }
  return out;
}
