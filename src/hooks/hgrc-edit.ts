/**
 * Adds, updates or removes hgreload's one hook line in a repository's
 * .hg/hgrc, leaving every other byte as it was: comments, order, blank lines,
 * CRLF, a BOM, continuation lines, %include, several [hooks] sections, a last
 * line without a newline.
 *
 * The text is handled as latin1 so that one character is one byte and the
 * line classifier (Mercurial's grammar) gives byte offsets. The entry is
 * `changegroup.hgreload = VALUE` in [hooks]:
 * - when the file has a [hooks] section, the line goes right after the header
 *   of the last one (Mercurial's last definition wins);
 * - otherwise a block is appended: a line break, a comment naming hgreload,
 *   `[hooks]` and the line. Uninstalling removes that block with the line
 *   break before it, so install + uninstall gives back the same bytes, with or
 *   without a final newline.
 */
import { classifyLines, type ConfigLine } from '../config/hgrc-lines.js';

export const HOOK_NAME = 'changegroup.hgreload';
export const BLOCK_COMMENT = '# added by hgreload install-hooks; hgreload install-hooks --uninstall removes it';

export type EditOutcome =
  | { readonly kind: 'unchanged'; readonly text: Buffer }
  | { readonly kind: 'added' | 'updated' | 'removed'; readonly text: Buffer }
  | { readonly kind: 'unparseable'; readonly line: number; readonly message: string };

interface Entry {
  /** The item line and its continuation lines. */
  readonly lines: ConfigLine[];
  readonly value: string;
}

interface Parsed {
  readonly text: string;
  readonly lines: ConfigLine[];
  readonly newline: string;
  /** Header lines of every [hooks] section, in file order. */
  readonly hooksHeaders: ConfigLine[];
  /** Every definition of our hook, in file order (the last one is in force). */
  readonly entries: Entry[];
}

function parse(bytes: Buffer): Parsed | { line: number; message: string } {
  const text = bytes.toString('latin1');
  const lines = classifyLines(text);
  const error = lines.find((l) => l.kind === 'error');
  if (error !== undefined) return { line: error.number, message: error.message! };
  const hooksHeaders: ConfigLine[] = [];
  const entries: Entry[] = [];
  let section = '';
  let current: ConfigLine[] | undefined;
  for (const line of lines) {
    if (line.kind === 'section') section = line.name!;
    if (line.kind === 'section' && section === 'hooks') hooksHeaders.push(line);
    if (line.kind === 'continuation' && current !== undefined) {
      current.push(line);
      continue;
    }
    if (line.kind === 'comment' && current !== undefined) continue; // comments do not end a continuation
    current = undefined;
    if (line.kind === 'item' && section === 'hooks' && line.name === HOOK_NAME) {
      current = [line];
      entries.push({ lines: current, value: '' });
    }
  }
  const withValues = entries.map((e) => ({
    lines: e.lines,
    value: [e.lines[0]!.value!, ...e.lines.slice(1).map((c) => c.value!)].join('\n'),
  }));
  const first = lines[0];
  const newline = first !== undefined && first.terminator === '\r\n' ? '\r\n' : first?.terminator === '\r' ? '\r' : '\n';
  return { text, lines, newline, hooksHeaders, entries: withValues };
}

const toBuffer = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Adds our hook with `value`, or updates the one in force to it. `bytes` undefined: no hgrc yet. */
export function installHook(bytes: Buffer | undefined, value: string): EditOutcome {
  const parsed = parse(bytes ?? Buffer.alloc(0));
  if ('message' in parsed) return { kind: 'unparseable', ...parsed };
  const { text, newline, hooksHeaders, entries } = parsed;
  const item = `${HOOK_NAME} = ${Buffer.from(value, 'utf8').toString('latin1')}`;
  const inForce = entries[entries.length - 1];
  if (inForce !== undefined) {
    if (inForce.value === item.slice(HOOK_NAME.length + 3)) return { kind: 'unchanged', text: toBuffer(text) };
    const start = inForce.lines[0]!.start;
    const last = inForce.lines[inForce.lines.length - 1]!;
    const end = last.start + last.content.length; // keep the last line's own terminator
    return { kind: 'updated', text: toBuffer(text.slice(0, start) + item + text.slice(end)) };
  }
  const header = hooksHeaders[hooksHeaders.length - 1];
  if (header !== undefined) {
    // A header that ends the file without a line break gets one before our line, and our line
    // gets none after it, so that uninstalling (which takes that break with the line) is exact.
    const added = header.terminator === '' ? newline + item : item + newline;
    return { kind: 'added', text: toBuffer(text.slice(0, header.end) + added + text.slice(header.end)) };
  }
  return { kind: 'added', text: toBuffer(text + newline + BLOCK_COMMENT + newline + '[hooks]' + newline + item + newline) };
}

/** Removes what installHook added: our appended block, or our line (every definition of it). */
export function uninstallHook(bytes: Buffer | undefined): EditOutcome {
  if (bytes === undefined) return { kind: 'unchanged', text: Buffer.alloc(0) };
  const parsed = parse(bytes);
  if ('message' in parsed) return { kind: 'unparseable', ...parsed };
  const { text, lines, entries } = parsed;
  if (entries.length === 0) return { kind: 'unchanged', text: toBuffer(text) };
  let out = text;
  // From the end, so that earlier offsets stay valid.
  for (const entry of [...entries].reverse()) {
    const first = entry.lines[0]!;
    const last = entry.lines[entry.lines.length - 1]!;
    const block = appendedBlock(lines, first);
    if (block !== undefined) {
      out = out.slice(0, block.start) + out.slice(last.end);
    } else if (last.terminator === '' && first.start > 0) {
      // Our line ends the file without a line break: the one before it came with it (see installHook).
      out = out.slice(0, first.start - lineBreakBefore(out, first.start).length) + out.slice(last.end);
    } else {
      out = out.slice(0, first.start) + out.slice(last.end);
    }
  }
  return { kind: 'removed', text: toBuffer(out) };
}

/** Where the appended block around our item starts (the line break before its comment), if that is how it got there. */
function appendedBlock(lines: ConfigLine[], item: ConfigLine): { start: number } | undefined {
  const i = lines.indexOf(item);
  const header = lines[i - 1];
  const comment = lines[i - 2];
  if (header?.kind !== 'section' || header.content !== '[hooks]' || comment?.content !== BLOCK_COMMENT) return undefined;
  // The block must end the file: anything after it is not ours.
  if (lines.slice(i + 1).some((l) => l.kind !== 'continuation')) return undefined;
  return { start: comment.start - (lines[i - 3]?.terminator.length ?? 0) };
}

function lineBreakBefore(text: string, offset: number): string {
  if (text.slice(offset - 2, offset) === '\r\n') return '\r\n';
  return text[offset - 1] === '\n' || text[offset - 1] === '\r' ? text[offset - 1]! : '';
}
