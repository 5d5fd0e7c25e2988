/**
 * libpq's connection service file (fe-connect.c: parseServiceInfo and
 * parseServiceFile): `[name]` sections of `keyword=value` lines, `#`
 * comments, no quoting and no spaces around `=`. The user's file
 * ($PGSERVICEFILE, else ~/.pg_service.conf) is read first; only when the
 * service is not there, the system's ($PGSYSCONFDIR/pg_service.conf).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, HgreloadError, strerror } from '../errors.js';
import { inServiceFile, sourceError, type Sourced } from './conninfo-source.js';

/** Where Debian's libpq looks when $PGSYSCONFDIR is not set (its build's sysconfdir). */
const SYSCONFDIR = '/etc/postgresql-common';

/**
 * The keyword/value lines of service `name`, the first line of each keyword
 * winning, as in libpq; `from` names where the service name came from.
 */
export function readService(name: string, from: string, env: Readonly<Record<string, string | undefined>>, home: string): Map<string, Sourced> {
  // $PGSERVICEFILE must exist once named; the two default files need not.
  const files: Array<{ file: string; optional: boolean }> = [
    env.PGSERVICEFILE !== undefined ? { file: env.PGSERVICEFILE, optional: false } : { file: join(home, '.pg_service.conf'), optional: true },
    { file: join(env.PGSYSCONFDIR ?? SYSCONFDIR, 'pg_service.conf'), optional: true },
  ];
  for (const { file, optional } of files) {
    const text = read(file, optional);
    if (text === undefined) continue;
    const values = section(text, name, file);
    if (values !== undefined) {
      const password = values.get('password');
      if (password !== undefined) privateEnough(password, file);
      return values;
    }
  }
  throw new HgreloadError('cluster-settings', `${from}: definition of service "${name}" not found (looked in ${files.map((f) => f.file).join(' and ')})`, {
    hint: `add a [${name}] section to one of them, or set PGSERVICEFILE in the environment to the file that has it`,
  });
}

function read(file: string, optional: boolean): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (optional && (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR')) return undefined;
    throw new HgreloadError('cluster-settings', `cannot read service file ${file} (${strerror(err)})`, {
      file,
      hint: optional ? 'let the user who connects read it, or remove it' : 'correct PGSERVICEFILE, or let the user who connects read that file',
      cause: err,
    });
  }
}

function section(text: string, name: string, file: string): Map<string, Sourced> | undefined {
  // Defined from the service's own [name] line on; the next section ends it.
  let values: Map<string, Sourced> | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      if (values !== undefined) break;
      if (line.startsWith(`[${name}]`)) values = new Map();
      continue;
    }
    if (values === undefined) continue;
    const at = inServiceFile(line, file, i + 1);
    const equals = line.indexOf('=');
    if (equals < 0) throw sourceError(at, `syntax error: no "=" in "${line}"`, 'write keyword=value, with no space around the "="');
    const keyword = line.slice(0, equals);
    if (keyword === 'service') throw sourceError(at, 'nested service specifications not supported', 'name the connection values here instead');
    if (!values.has(keyword)) values.set(keyword, inServiceFile(line.slice(equals + 1), file, i + 1));
  }
  return values;
}

/** libpq's rule for ~/.pgpass, applied to a service file that holds a password. */
function privateEnough(password: Sourced, file: string): void {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  throw sourceError(password, `holds a password, but the file's mode ${mode.toString(8).padStart(4, '0')} lets group or others read it`, `chmod 600 ${file} (owned by the daemon's user), or keep the password in ~/.pgpass instead`);
}
