/**
 * Python's posixpath functions, ported exactly: hgweb builds repository names
 * and paths with them, and Node's `path` differs (it collapses a leading `//`,
 * keeps a trailing slash after normalising, and so on).
 */

/** A path normpath leaves as it is: no empty, `.` or `..` part, no slash at the end (`/` itself aside). */
const ABNORMAL = /\/\/|(^|\/)\.\.?(\/|$)|.\/$/;

/** posixpath.normpath; a path already normal is given back itself (the walk's, each held once). */
export function normpath(path: string): string {
  if (path === '') return '.';
  if (!ABNORMAL.test(path)) return path;
  const initialSlashes = path.startsWith('/') ? (path.startsWith('//') && !path.startsWith('///') ? 2 : 1) : 0;
  const out: string[] = [];
  for (const comp of path.split('/')) {
    if (comp === '' || comp === '.') continue;
    if (comp !== '..' || (initialSlashes === 0 && out.length === 0) || (out.length > 0 && out[out.length - 1] === '..')) {
      out.push(comp);
    } else if (out.length > 0) {
      out.pop();
    }
  }
  const joined = '/'.repeat(initialSlashes) + out.join('/');
  return joined === '' ? '.' : joined;
}

/** posixpath.join for two parts */
export function join(a: string, b: string): string {
  if (b.startsWith('/')) return b;
  if (a === '' || a.endsWith('/')) return a + b;
  return `${a}/${b}`;
}

/** posixpath.split: [head, tail], with the head's trailing slashes removed unless it is all slashes. */
export function split(path: string): [string, string] {
  const i = path.lastIndexOf('/') + 1;
  let head = path.slice(0, i);
  const tail = path.slice(i);
  if (head !== '' && head !== '/'.repeat(head.length)) head = head.replace(/\/+$/, '');
  return [head, tail];
}

/** posixpath.dirname */
export function dirname(path: string): string {
  return split(path)[0];
}

/** posixpath.abspath, against an explicit working folder. */
export function abspath(path: string, cwd: string): string {
  return normpath(path.startsWith('/') ? path : join(cwd, path));
}

/** Python's str.strip('/') and friends. */
export function stripSlashes(s: string, side: 'both' | 'left' = 'both'): string {
  const left = s.replace(/^\/+/, '');
  return side === 'left' ? left : left.replace(/\/+$/, '');
}

/**
 * `path` made absolute without any normalising: the kernel resolves `link/..`
 * through the link (physically), and that is what Python's open() and
 * os.walk() see, where a lexical normalisation would name another folder.
 */
export function physicalAbsolute(path: string, cwd: string): string {
  return path.startsWith('/') ? path : join(cwd, path);
}
