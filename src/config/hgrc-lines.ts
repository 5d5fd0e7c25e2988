/**
 * Line classifier for Mercurial's config grammar (mercurial/config.py, `parse`).
 *
 * It works on a string of any decoding: the reader decodes files as UTF-8, the
 * hgrc editor as latin1 so that offsets are byte offsets. The patterns therefore
 * spell out Python's bytes classes instead of using JavaScript's Unicode-aware
 * `\s` and `.`: Python's `\s` on bytes is exactly [ \t\n\r\f\v], and its `.` is
 * anything but `\n`.
 */

const WS = '[ \\t\\n\\r\\f\\v]';
const NWS = '[^ \\t\\n\\r\\f\\v]';
const ANY = '[^\\n]';

// Each pattern is config.py's, translated class by class; they are anchored at
// the start because Python's `re.match` is.
const SECTION = new RegExp(`^\\[([^\\[]+)\\]`);
const ITEM = new RegExp(`^([^=${WS.slice(1, -1)}][^=]*?)${WS}*=${WS}*(${ANY}*${NWS}|)`);
const CONTINUATION = new RegExp(`^${WS}+(${NWS}|${NWS}${ANY}*${NWS})${WS}*$`);
const EMPTY = new RegExp(`^(;|#|${WS}*$)`);
const COMMENT = /^(;|#)/;
const UNSET = new RegExp(`^%unset${WS}+(${NWS}+)`);
const INCLUDE = new RegExp(`^%include${WS}+(${NWS}|${NWS}${ANY}*${NWS})${WS}*$`);

export type LineKind =
  | 'item' // name = value; opens a continuation
  | 'continuation' // indented text added to the open item's value
  | 'section' // [name]
  | 'include' // %include PATH
  | 'unset' // %unset NAME
  | 'comment' // a comment or blank line (also a comment inside a continuation)
  | 'error'; // a line Mercurial rejects

export interface ConfigLine {
  /** 1-based physical line number, as Mercurial counts them. */
  readonly number: number;
  /** Offset of the line's first character in the text (after a BOM on line 1). */
  readonly start: number;
  /** Offset just past the line terminator. */
  readonly end: number;
  /** The line without its terminator. */
  readonly content: string;
  /** `\n`, `\r\n`, `\r` or '' (last line without a newline). */
  readonly terminator: string;
  readonly kind: LineKind;
  /** item: name; section: section name; unset: name; include: path as written. */
  readonly name?: string;
  /** item: value; continuation: the text appended after a newline. */
  readonly value?: string;
  /** error: Mercurial's message for the line. */
  readonly message?: string;
}

const BOMS = ['\uFEFF', '\xEF\xBB\xBF'];

/** Length of the BOM at the start of `text`, in characters of its decoding (0 if none). */
export function bomLength(text: string): number {
  const bom = BOMS.find((b) => text.startsWith(b));
  return bom === undefined ? 0 : bom.length;
}

/**
 * Splits like Python's `bytes.splitlines(keepends=True)`: only `\n`, `\r\n` and a
 * lone `\r` end a line (not the Unicode separators `str.splitlines` knows).
 */
function* physicalLines(text: string, from: number): Generator<[number, number, number]> {
  let start = from;
  while (start < text.length) {
    let i = start;
    while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
    let end = i;
    if (text[i] === '\r' && text[i + 1] === '\n') end = i + 2;
    else if (i < text.length) end = i + 1;
    yield [start, i, end];
    start = end;
  }
}

/** Classifies every line of a config file the way Mercurial's parser does. */
export function classifyLines(text: string): ConfigLine[] {
  const lines: ConfigLine[] = [];
  let continuing = false;
  let number = 0;
  for (const [start, contentEnd, end] of physicalLines(text, bomLength(text))) {
    number++;
    const raw = text.slice(start, end);
    const base = { number, start, end, content: text.slice(start, contentEnd), terminator: text.slice(contentEnd, end) };
    if (continuing) {
      if (COMMENT.test(raw)) {
        lines.push({ ...base, kind: 'comment' });
        continue;
      }
      const m = CONTINUATION.exec(raw);
      if (m) {
        lines.push({ ...base, kind: 'continuation', value: m[1] });
        continue;
      }
      continuing = false;
    }
    lines.push({ ...base, ...classify(raw) });
    if (lines[lines.length - 1]!.kind === 'item') continuing = true;
  }
  return lines;
}

type Classified = Pick<ConfigLine, 'kind' | 'name' | 'value' | 'message'>;

function classify(raw: string): Classified {
  let m = INCLUDE.exec(raw);
  if (m) return { kind: 'include', name: m[1] };
  if (EMPTY.test(raw)) return { kind: 'comment' };
  m = SECTION.exec(raw);
  if (m) return { kind: 'section', name: m[1] };
  m = ITEM.exec(raw);
  if (m) return { kind: 'item', name: m[1], value: m[2] };
  m = UNSET.exec(raw);
  if (m) return { kind: 'unset', name: m[1] };
  // config.py: the message is the line, right-stripped, flagged when it starts with a space.
  const stripped = raw.replace(/[ \t\n\r\f\v]+$/, '');
  const message = raw.startsWith(' ') ? `unexpected leading whitespace: ${stripped}` : stripped;
  return { kind: 'error', message };
}
