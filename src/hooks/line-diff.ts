/**
 * What an edit changed, for --dry-run: the changed lines, with the unchanged
 * ones around them left out (edits here are one small hunk).
 */
export function lineDiff(before: Buffer, after: Buffer): string {
  const lines = (bytes: Buffer) => (bytes.length === 0 ? [] : bytes.toString('latin1').split(/(?<=\n)/));
  const a = lines(before);
  const b = lines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const show = (prefix: string, lines: string[]) => lines.map((l) => `${prefix}${l.replace(/\r?\n$/, '')}\n`).join('');
  return `@@ line ${start + 1} @@\n${show('-', a.slice(start, endA))}${show('+', b.slice(start, endB))}`;
}
