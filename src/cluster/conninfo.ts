/**
 * `[cluster] database` as pg's client settings. The setting is "a libpq
 * connection string or a service name", so that what psql accepts works
 * here, but pg (node-postgres) reads neither libpq's keyword=value form nor
 * service files. This reads them as libpq does, with libpq's precedence:
 * the setting, then the service, then the PG* variables, then libpq's
 * defaults (Debian's build: the socket folder /var/run/postgresql, where pg
 * would try localhost over TCP). Every field pg would otherwise fill from
 * process.env on its own is filled here, so what connects is what this
 * returns; what pg cannot do is refused with the reason.
 *
 * Passwords never come from the setting (the settings file is readable by
 * more people than the daemon's user). pg reads ~/.pgpass, or the file
 * $PGPASSFILE names, itself when no password is given (pg/lib/client.js,
 * through the pgpass package, which refuses a file group or others can read,
 * as libpq does). Two differences from libpq: pg matches a Unix socket by its
 * folder where libpq matches the default folder as "localhost" (a .pgpass
 * line for a socket must name the folder, or "*"), and pg prints a
 * deprecation warning to stderr once it has used the file (pg 9 drops it).
 */
import { isIP } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { nearest } from '../util/nearest.js';
import { parseConnectionString } from './conninfo-parse.js';
import { inEnvironment, inSetting, settingError, sourceError, type Sourced } from './conninfo-source.js';
import { tlsOption } from './conninfo-tls.js';
import { readService } from './service-file.js';

type Environment = Readonly<Record<string, string | undefined>>;

/** The libpq keywords hgreload honours, each with the variable libpq falls back to when it is not given. */
const KEYWORDS: Readonly<Record<string, string | undefined>> = {
  service: 'PGSERVICE',
  host: 'PGHOST',
  hostaddr: 'PGHOSTADDR',
  port: 'PGPORT',
  dbname: 'PGDATABASE',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  passfile: 'PGPASSFILE',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  fallback_application_name: undefined,
  options: 'PGOPTIONS',
  keepalives: undefined,
  keepalives_idle: undefined,
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
};

/** libpq's other keywords (PostgreSQL 17): pg has nothing that does what they ask. */
const NOT_SUPPORTED = [
  'channel_binding',
  'client_encoding',
  'gssdelegation',
  'gssencmode',
  'gsslib',
  'keepalives_count',
  'keepalives_interval',
  'krbsrvname',
  'load_balance_hosts',
  'replication',
  'require_auth',
  'requirepeer',
  'ssl_max_protocol_version',
  'ssl_min_protocol_version',
  'sslcertmode',
  'sslcompression',
  'sslcrl',
  'sslcrldir',
  'sslnegotiation',
  'sslpassword',
  'sslsni',
  'tcp_user_timeout',
];

/** Where Debian's libpq looks for the server when no host is given. */
const DEFAULT_SOCKET_DIR = '/var/run/postgresql';
const DEFAULT_PORT = 5432;
const APPLICATION_NAME = 'hgreload';

const TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'];
/** hgreload writes: these only ask that the server accept writes, which its first write finds out anyway. */
const WRITABLE_SESSION_ATTRS = ['any', 'read-write', 'primary'];

export function clientConfig(setting: string, env: Environment = process.env, home: string = homedir()): pg.ClientConfig {
  const values = new Map<string, Sourced>();
  for (const [keyword, value] of parseConnectionString(setting)) {
    known(keyword, inSetting(value));
    values.set(keyword, inSetting(value));
  }
  if (values.has('password')) {
    throw settingError(
      'holds a password, which must not sit in the settings file (more people can read it than the daemon)',
      "keep it in the daemon user's ~/.pgpass or in the file PGPASSFILE names, or in a service file readable by the daemon's user alone, and name the service here",
    );
  }
  const service = values.get('service') ?? (env.PGSERVICE === undefined ? undefined : inEnvironment(env.PGSERVICE, 'PGSERVICE'));
  if (service !== undefined) {
    for (const [keyword, value] of readService(service.value, service.from, env, home)) {
      known(keyword, value);
      if (!values.has(keyword)) values.set(keyword, value);
    }
  }
  // Variables of keywords hgreload does not honour are ignored, as pg ignores them.
  for (const [keyword, variable] of Object.entries(KEYWORDS)) {
    const value = variable === undefined ? undefined : env[variable];
    if (variable !== undefined && value !== undefined && !values.has(keyword)) values.set(keyword, inEnvironment(value, variable));
  }
  return toClientConfig(values, env, home);
}

function known(keyword: string, source: Sourced): void {
  if (Object.hasOwn(KEYWORDS, keyword)) return;
  if (NOT_SUPPORTED.includes(keyword)) throw sourceError(source, `connection option "${keyword}" is not supported by hgreload's PostgreSQL client (node-postgres)`, 'remove it');
  const guess = nearest(keyword, Object.keys(KEYWORDS));
  throw sourceError(source, `invalid connection option "${keyword}"`, guess === undefined ? undefined : `did you mean "${guess}"?`);
}

function toClientConfig(values: ReadonlyMap<string, Sourced>, env: Environment, home: string): pg.ClientConfig {
  // libpq takes an empty value as no value for all of these.
  const text = (keyword: string): string | undefined => values.get(keyword)?.value || undefined;
  for (const keyword of ['host', 'hostaddr', 'port']) {
    const v = values.get(keyword);
    if (v?.value.includes(',')) {
      throw sourceError(v, `${keyword} "${v.value}" names several, and pg connects to one host only`, 'name one host (an address that moves with the primary, or a proxy, can stand for several)');
    }
  }
  const hostaddr = text('hostaddr');
  if (hostaddr !== undefined && isIP(hostaddr) === 0) throw sourceError(values.get('hostaddr')!, `could not parse network address "${hostaddr}"`, 'hostaddr takes a numeric IP address; a name goes in host');
  const named = text('host') ?? DEFAULT_SOCKET_DIR;
  if (named.startsWith('@')) throw sourceError(values.get('host')!, `host "${named}" is an abstract Unix socket, which pg cannot reach`, 'name the socket folder instead');
  // With hostaddr, libpq connects there over TCP and uses host for the certificate and .pgpass only.
  const socket = hostaddr === undefined && named.startsWith('/');
  const host = hostaddr ?? named;

  const port = integer(values, 'port') ?? DEFAULT_PORT;
  if (port < 1 || port > 65535) throw sourceError(values.get('port')!, `invalid port number: "${values.get('port')!.value}"`);
  const user = text('user') ?? userInfo().username;
  const passfile = values.get('passfile');
  // What the pgpass package reads (process.env, not libpq's home directory lookup).
  const pgReads = env.PGPASSFILE || join(env.HOME || './', '.pgpass');
  if (passfile !== undefined && passfile.value !== '' && passfile.value !== pgReads) {
    throw sourceError(passfile, `passfile "${passfile.value}": pg reads only the file PGPASSFILE names, else ~/.pgpass (${pgReads} here)`, `set PGPASSFILE=${passfile.value} in the daemon's environment (Environment= in a drop-in of its unit) instead`);
  }
  const password = text('password');

  const timeout = integer(values, 'connect_timeout');
  const keepalives = (integer(values, 'keepalives') ?? 1) !== 0;
  const idle = integer(values, 'keepalives_idle') ?? 0;
  const attrs = values.get('target_session_attrs');
  if (attrs !== undefined && !TARGET_SESSION_ATTRS.includes(attrs.value)) throw sourceError(attrs, `invalid target_session_attrs value: "${attrs.value}"`);
  if (attrs !== undefined && !WRITABLE_SESSION_ATTRS.includes(attrs.value)) {
    throw sourceError(attrs, `target_session_attrs=${attrs.value}: hgreload writes to its tables, so it needs the primary`, 'use any or read-write');
  }
  const options = text('options');
  const hostName = text('host');

  return {
    host,
    port,
    user,
    database: text('dbname') ?? user,
    ...(password === undefined ? {} : { password }),
    application_name: text('application_name') ?? text('fallback_application_name') ?? APPLICATION_NAME,
    ...(options === undefined ? {} : { options }),
    // libpq waits at least 2 s (1 would be cut short by rounding), and zero or less means no limit.
    connectionTimeoutMillis: timeout === undefined || timeout <= 0 ? 0 : Math.max(timeout, 2) * 1000,
    // libpq turns keepalives on for TCP only; pg's own default is off.
    keepAlive: !socket && keepalives,
    ...(!socket && keepalives && idle > 0 ? { keepAliveInitialDelayMillis: idle * 1000 } : {}),
    ssl: tlsOption(
      {
        sslmode: values.get('sslmode'),
        sslrootcert: values.get('sslrootcert'),
        sslcert: values.get('sslcert'),
        sslkey: values.get('sslkey'),
        socket,
        servername: hostaddr !== undefined && hostName !== undefined && !hostName.startsWith('/') ? hostName : undefined,
      },
      home,
    ),
  };
}

/** libpq's integer options: optional sign, digits, spaces around. */
function integer(values: ReadonlyMap<string, Sourced>, keyword: string): number | undefined {
  const v = values.get(keyword);
  if (v === undefined || v.value.trim() === '') return undefined;
  if (!/^\s*[+-]?\d{1,9}\s*$/.test(v.value)) throw sourceError(v, `invalid integer value "${v.value}" for connection option "${keyword}"`);
  return Number(v.value);
}
