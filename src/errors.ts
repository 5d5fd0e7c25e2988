/**
 * The one error type of hgreload. `code` is stable (scripts and the CLI's exit
 * status depend on it); `message` is what a person reads, naming the file and
 * line where there is one; `hint` says what to do about it.
 */
export type ErrorCode =
  | 'usage' // bad command line
  | 'settings' // hgreload's own settings file is wrong
  | 'parse' // a Mercurial config file that Mercurial would reject
  | 'config-missing' // hgweb.config does not exist
  | 'config-unreadable' // hgweb.config exists but cannot be read
  | 'include' // an %include that Mercurial would refuse
  | 'root-missing' // a collection root that does not exist
  | 'walk' // the walk below a root failed the way hgweb's would
  | 'reload' // a reload method could not do its work
  | 'watch-limit' // the kernel's inotify limit is reached
  | 'too-many-files' // no file descriptor or inotify instance left
  | 'control' // the control channel to the daemon failed
  | 'busy' // another run holds the lock
  | 'system-hook' // the system-wide hook file cannot be read or written
  | 'cluster-settings' // [cluster] database, or the service file it names, cannot be used to connect
  | 'cluster-schema' // hgreload's tables in PostgreSQL are of a version this hgreload does not know
  | 'cluster-database' // PostgreSQL refused or failed hgreload's work on its tables
  | 'internal';

/** Codes that mean "bad usage or bad configuration" (exit status 2). */
const CONFIGURATION_CODES: ReadonlySet<ErrorCode> = new Set([
  'usage',
  'settings',
  'parse',
  'config-missing',
  'config-unreadable',
  'include',
  'cluster-settings',
]);

export interface ErrorDetails {
  readonly file?: string;
  readonly line?: number;
  readonly hint?: string;
  readonly cause?: unknown;
}

export class HgreloadError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'HgreloadError';
    this.code = code;
    this.file = details.file;
    this.line = details.line;
    this.hint = details.hint;
  }

  /** The exit status this error maps to: 2 for bad usage or configuration, else 1. */
  get exitCode(): 1 | 2 {
    return CONFIGURATION_CODES.has(this.code) ? 2 : 1;
  }

  /** Mercurial-style text for a terminal: the message, then the hint in parentheses. */
  format(): string {
    return this.hint === undefined ? this.message : `${this.message}\n(${this.hint})`;
  }
}

/** "FILE:LINE" or "FILE", the way Mercurial names a place in a config file. */
export function location(file: string, line?: number): string {
  return line === undefined ? file : `${file}:${line}`;
}

/** The strerror text Python would print for a Node system error, for messages that mirror Mercurial's. */
export function strerror(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
      return 'Permission denied';
    case 'EISDIR':
      return 'Is a directory';
    case 'ENOTDIR':
      return 'Not a directory';
    case 'ELOOP':
      return 'Too many levels of symbolic links';
    case 'EPERM':
      return 'Operation not permitted';
    case 'ENAMETOOLONG':
      return 'File name too long';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}
