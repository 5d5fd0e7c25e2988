/**
 * libpq's sslmode and certificate files, as pg's `ssl` option (what
 * pg-connection-string does with `uselibpqcompat=true`, plus the default
 * files libpq reads from ~/.postgresql). pg cannot fall back from one mode
 * to the other: `allow` connects without TLS, `prefer` (libpq's default)
 * with TLS and fails against a server that has none.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { errnoCode, strerror } from '../errors.js';
import { sourceError, type Sourced } from './conninfo-source.js';

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export interface TlsInput {
  readonly sslmode: Sourced | undefined;
  readonly sslrootcert: Sourced | undefined;
  readonly sslcert: Sourced | undefined;
  readonly sslkey: Sourced | undefined;
  /** libpq asks for no TLS on a Unix socket, whatever sslmode says. */
  readonly socket: boolean;
  /** The host name when `hostaddr` is what pg connects to: the certificate must name it. */
  readonly servername: string | undefined;
}

export function tlsOption(input: TlsInput, home: string): false | ConnectionOptions {
  const rootcert = input.sslrootcert?.value || join(home, '.postgresql', 'root.crt');
  const system = rootcert === 'system';
  const given = input.sslmode;
  // sslrootcert=system raises the default mode, and refuses a weaker one.
  const mode = given?.value ?? (system ? 'verify-full' : 'prefer');
  if (given !== undefined) {
    if (!SSL_MODES.includes(mode)) throw sourceError(given, `invalid sslmode value: "${mode}"`, `use one of ${SSL_MODES.join(', ')}`);
    if (system && mode !== 'verify-full') throw sourceError(given, `weak sslmode "${mode}" may not be used with sslrootcert=system (use "verify-full")`);
  }
  if (input.socket || mode === 'disable' || mode === 'allow') return false;

  const options: ConnectionOptions = {};
  if (input.servername !== undefined) options.servername = input.servername;
  const root = system ? undefined : readIfThere(rootcert, input.sslrootcert);
  if (root !== undefined) {
    // A root certificate, when there is one, is checked in every mode; the host name only in verify-full.
    options.ca = root;
    if (mode !== 'verify-full') options.checkServerIdentity = () => undefined;
  } else if (!system) {
    if (given !== undefined && mode.startsWith('verify-')) {
      throw sourceError(input.sslrootcert ?? given, `sslmode ${mode}: root certificate file "${rootcert}" does not exist`, "provide the file, use the system's trusted roots with sslrootcert=system, or use sslmode=require");
    }
    options.rejectUnauthorized = false;
  }

  const certfile = input.sslcert?.value || join(home, '.postgresql', 'postgresql.crt');
  const cert = readIfThere(certfile, input.sslcert);
  if (cert !== undefined) {
    options.cert = cert;
    options.key = privateKey(input.sslkey?.value || join(home, '.postgresql', 'postgresql.key'), input.sslkey ?? input.sslcert);
  }
  return options;
}

/** A file libpq uses when it exists and goes on without when it does not. */
function readIfThere(file: string, source: Sourced | undefined): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw sourceError(source ?? { from: file }, `cannot read ${file} (${strerror(err)})`);
  }
}

function privateKey(file: string, source: Sourced | undefined): string {
  const where = source ?? { from: file };
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch (err) {
    throw sourceError(where, `certificate present, but not private key file "${file}" (${strerror(err)})`);
  }
  if (!stats.isFile()) throw sourceError(where, `private key file "${file}" is not a regular file`);
  // libpq's rule: 0600 or less for the user's own key, 0640 or less for root's (read through a group).
  if ((stats.mode & (stats.uid === 0 ? 0o037 : 0o077)) !== 0) {
    throw sourceError(
      where,
      `private key file "${file}" has group or world access; file must have permissions u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) or less if owned by root`,
      `chmod 600 ${file}`,
    );
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw sourceError(where, `cannot read private key file "${file}" (${strerror(err)})`);
  }
}
