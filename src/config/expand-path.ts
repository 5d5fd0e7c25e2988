/**
 * Mercurial's util.expandpath: os.path.expanduser(os.path.expandvars(path)),
 * used for `%include` targets (and not for hgweb roots, which hgweb never expands).
 */

export interface ExpandContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The current user's home folder, used when $HOME is not set. */
  readonly homedir: () => string;
  /** Home folder of a named user, or undefined when there is no such user. */
  readonly userHome: (user: string) => string | undefined;
}

/** posixpath.expandvars on bytes: `$NAME` and `${NAME}` with ASCII word names; unknown ones stay. */
export function expandvars(path: string, env: ExpandContext['env']): string {
  if (!path.includes('$')) return path;
  return path.replace(/\$([A-Za-z0-9_]+|\{[^}]*\})/g, (whole, name: string) => {
    const key = name.startsWith('{') ? name.slice(1, -1) : name;
    const value = env[key];
    return value === undefined ? whole : value;
  });
}

/** posixpath.expanduser */
export function expanduser(path: string, ctx: ExpandContext): string {
  if (!path.startsWith('~')) return path;
  let i = path.indexOf('/', 1);
  if (i < 0) i = path.length;
  let home: string | undefined;
  if (i === 1) home = ctx.env.HOME ?? ctx.homedir();
  else home = ctx.userHome(path.slice(1, i));
  if (home === undefined) return path;
  const result = home.replace(/\/+$/, '') + path.slice(i);
  return result === '' ? '/' : result;
}

export function expandpath(path: string, ctx: ExpandContext): string {
  return expanduser(expandvars(path, ctx.env), ctx);
}

/** Looks a user's home folder up in passwd-format text (what getpwnam reads on a plain system). */
export function homeFromPasswd(passwd: string, user: string): string | undefined {
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 7 && fields[0] === user) return fields[5];
  }
  return undefined;
}
