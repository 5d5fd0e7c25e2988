/**
 * `target.push(...items)` passes every item as an argument: a list of a
 * million (a root's repositories in the bench's largest tree) overflows the
 * call stack. Lists that grow with the tree are appended one by one.
 */
export function append<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item);
  return target;
}
