/**
 * Mercurial's list values (utils/stringutil.py `parselist`, used by
 * `ui.configlist`): items separated by whitespace or commas, with its own
 * double-quote rules. This is a line-for-line port of its state machine,
 * including the odd corners (an unterminated quote, `""` giving two empty
 * items), because hgweb splits every [paths] value with it.
 */

const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';

type State = 'plain' | 'quote' | 'done';

function parsePlain(parts: string[], s: string, offset: number): [State, number] {
  let whitespace = false;
  while (offset < s.length && (isSpace(s[offset]) || s[offset] === ',')) {
    whitespace = true;
    offset++;
  }
  if (offset >= s.length) return ['done', offset];
  if (whitespace) parts.push('');
  const last = parts[parts.length - 1]!;
  if (s[offset] === '"' && last === '') return ['quote', offset + 1];
  if (s[offset] === '"' && last.endsWith('\\')) {
    parts[parts.length - 1] = last.slice(0, -1) + '"';
    return ['plain', offset + 1];
  }
  parts[parts.length - 1] = last + s[offset]!;
  return ['plain', offset + 1];
}

/** Returns the new state and offset; may replace the tail of `parts` (unterminated quote). */
function parseQuote(parts: string[], s: string, offset: number): [State, number] {
  if (offset < s.length && s[offset] === '"') {
    parts.push('');
    offset++;
    while (offset < s.length && (isSpace(s[offset]) || s[offset] === ',')) offset++;
    return ['plain', offset];
  }
  while (offset < s.length && s[offset] !== '"') {
    if (s[offset] === '\\' && offset + 1 < s.length && s[offset + 1] === '"') {
      offset++;
      parts[parts.length - 1] += '"';
    } else {
      parts[parts.length - 1] += s[offset]!;
    }
    offset++;
  }
  if (offset >= s.length) {
    const realParts = configList(parts[parts.length - 1]!);
    if (realParts.length === 0) {
      parts[parts.length - 1] = '"';
    } else {
      realParts[0] = `"${realParts[0]!}`;
      parts.splice(parts.length - 1, 1, ...realParts);
    }
    return ['done', offset];
  }
  offset++;
  while (offset < s.length && (s[offset] === ' ' || s[offset] === ',')) offset++;
  if (offset < s.length) {
    if (offset + 1 === s.length && s[offset] === '"') {
      parts[parts.length - 1] += '"';
      offset++;
    } else {
      parts.push('');
    }
  } else {
    return ['done', offset];
  }
  return ['plain', offset];
}

function configList(value: string): string[] {
  const s = value.replace(/[ ,]+$/, '');
  if (s === '') return [];
  const parts = [''];
  let state: State = 'plain';
  let offset = 0;
  while (state !== 'done') {
    [state, offset] = state === 'plain' ? parsePlain(parts, s, offset) : parseQuote(parts, s, offset);
  }
  return parts;
}

/** Splits a config value into its list items, exactly as Mercurial does. */
export function parseList(value: string): string[] {
  return configList(value.replace(/^[ ,\n]+/, ''));
}
