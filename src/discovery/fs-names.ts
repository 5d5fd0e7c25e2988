/**
 * File names as Python's hgweb sees them: bytes. A JavaScript string cannot
 * hold a byte that is not part of valid UTF-8, so names are decoded the way
 * Python's `os.fsdecode` decodes them (surrogateescape): valid UTF-8 as text,
 * every other byte 0xNN as the lone surrogate U+DCNN. Such a string turns back
 * into the exact bytes for the file system, sorts in byte order, and prints in
 * JSON as `\udcNN`, which Python's json and os.fsencode read back unchanged.
 */
import { isUtf8 } from 'node:buffer';

const ESCAPED = /[\uDC80-\uDCFF]/;

export function decodeName(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const length = validSequenceLength(bytes, i);
    if (length === 0) {
      out += String.fromCharCode(0xdc00 + bytes[i]!);
      i++;
    } else {
      out += bytes.toString('utf8', i, i + length);
      i += length;
    }
  }
  return out;
}

/** Length of the well-formed UTF-8 sequence starting at `i` (RFC 3629, as Python's strict decoder), or 0. */
function validSequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no encoded surrogates
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** The bytes a decoded name stands for. */
export function encodeName(name: string): Buffer {
  if (!ESCAPED.test(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 0xdc80 && code <= 0xdcff && !(i > 0 && name.charCodeAt(i - 1) >= 0xd800 && name.charCodeAt(i - 1) <= 0xdbff)) {
      parts.push(Buffer.from(name.slice(start, i), 'utf8'), Buffer.of(code - 0xdc00));
      start = i + 1;
    }
  }
  parts.push(Buffer.from(name.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** Whether a decoded name holds a byte that is not UTF-8 (see decodeName). */
export function hasEscapedBytes(name: string): boolean {
  return ESCAPED.test(name);
}

/** What to hand the fs module: the string itself, or its bytes when it holds escaped ones. */
export function fsPath(path: string): string | Buffer {
  return ESCAPED.test(path) ? encodeName(path) : path;
}

// JavaScript's `<` compares UTF-16 code units, which agrees with byte order
// unless a string holds surrogates (astral letters, escaped bytes) or U+E000-U+FFFF.
const NEEDS_BYTE_COMPARE = /[\uD800-\uFFFF]/;

/** Python's bytewise order of names. */
export function compareNames(a: string, b: string): number {
  if (NEEDS_BYTE_COMPARE.test(a) || NEEDS_BYTE_COMPARE.test(b)) return Buffer.compare(encodeName(a), encodeName(b));
  return a < b ? -1 : a > b ? 1 : 0;
}
