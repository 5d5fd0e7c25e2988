/**
 * [cluster] database read as libpq reads it: the keyword=value form, URIs,
 * service names and files, PG* variables, TLS files; then real connections
 * through each form to the tests' own PostgreSQL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { clientConfig } from '../../src/cluster/conninfo.js';
import { HgreloadError } from '../../src/errors.js';
import { Postgres } from '../helpers/postgres.js';
import { makeTempDir } from '../helpers/run.js';

const me = userInfo().username;
/** What every TCP connection gets unless told otherwise. */
const TCP = { port: 5432, user: me, database: me, application_name: 'hgreload', connectionTimeoutMillis: 0, keepAlive: true, ssl: { rejectUnauthorized: false } };
const SOCKET = { ...TCP, host: '/var/run/postgresql', keepAlive: false, ssl: false };

describe('[cluster] database as pg settings', () => {
  const dir = makeTempDir('hgreload-conninfo-');
  /** A home with nothing in it, and an empty system folder: no file of this machine's leaks in. */
  const home = join(dir.path, 'home');
  const sysconf = join(dir.path, 'etc');
  const env = (more: Record<string, string> = {}) => ({ PGSYSCONFDIR: sysconf, HOME: home, ...more });
  const config = (setting: string, more: Record<string, string> = {}, at = home) => clientConfig(setting, env(more), at);
  const refused = (setting: string, pattern: RegExp, more: Record<string, string> = {}, at = home) =>
    assert.throws(
      () => config(setting, more, at),
      (err: unknown) => {
        assert.ok(err instanceof HgreloadError, String(err));
        assert.equal(err.code, 'cluster-settings');
        assert.equal(err.exitCode, 2);
        assert.match(err.format(), pattern);
        return true;
      },
    );
  const file = (name: string, text: string, mode = 0o644) => {
    const path = join(dir.path, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };

  before(() => {
    mkdirSync(home);
    mkdirSync(sysconf);
  });
  after(() => dir.remove());

  it('reads every form, with its quoting, escapes and defaults', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      // keyword=value
      ['host=/tmp/pg port=5433 dbname=hg user=web', { ...SOCKET, host: '/tmp/pg', port: 5433, database: 'hg', user: 'web' }],
      ['  host = db.example\tdbname= hg  ', { ...TCP, host: 'db.example', database: 'hg' }],
      [String.raw`dbname='it\'s a \\ db' user=a\ b`, { ...SOCKET, database: "it's a \\ db", user: 'a b' }],
      ["dbname='' user=web", { ...SOCKET, database: 'web', user: 'web' }],
      ["dbname=first dbname='second'user=web", { ...SOCKET, database: 'second', user: 'web' }],
      ['', SOCKET],
      // URIs
      ['postgresql://web@db.example:6432/hg?application_name=hg1&connect_timeout=10', { ...TCP, host: 'db.example', port: 6432, user: 'web', database: 'hg', application_name: 'hg1', connectionTimeoutMillis: 10_000 }],
      ['postgresql://%2Fvar%2Flib%2Fpostgresql/hg', { ...SOCKET, host: '/var/lib/postgresql', database: 'hg' }],
      ['postgres:///hg?host=/tmp/pg&port=5434', { ...SOCKET, host: '/tmp/pg', port: 5434, database: 'hg' }],
      ['postgresql://[::1]:5433/h%C3%A9', { ...TCP, host: '::1', port: 5433, database: 'hé' }],
      ['postgresql://db.example/hg?ssl=true&user=web&', { ...TCP, host: 'db.example', database: 'hg', user: 'web' }],
      ['postgresql://', SOCKET],
      // a service name is tried below; the rest of the keywords
      ['host=db.example hostaddr=192.0.2.1 sslmode=require', { ...TCP, host: '192.0.2.1', ssl: { servername: 'db.example', rejectUnauthorized: false } }],
      ['hostaddr=192.0.2.1', { ...TCP, host: '192.0.2.1' }],
      ['host=db connect_timeout=1', { ...TCP, host: 'db', connectionTimeoutMillis: 2000 }],
      ['host=db connect_timeout=-3', { ...TCP, host: 'db' }],
      ['host=db keepalives=0 keepalives_idle=30', { ...TCP, host: 'db', keepAlive: false }],
      ['host=db keepalives_idle=30', { ...TCP, host: 'db', keepAliveInitialDelayMillis: 30_000 }],
      ['host=db fallback_application_name=other', { ...TCP, host: 'db', application_name: 'other' }],
      ['host=db application_name=mine fallback_application_name=other', { ...TCP, host: 'db', application_name: 'mine' }],
      ["host=db options='-c search_path=hg' target_session_attrs=read-write", { ...TCP, host: 'db', options: '-c search_path=hg' }],
      // sslmode as pg's own parser maps it (uselibpqcompat), and never on a Unix socket
      ['host=db sslmode=disable', { ...TCP, host: 'db', ssl: false }],
      ['host=db sslmode=allow', { ...TCP, host: 'db', ssl: false }],
      ['host=db sslmode=prefer', { ...TCP, host: 'db' }],
      ['host=/tmp/pg sslmode=verify-full', { ...SOCKET, host: '/tmp/pg' }],
      ['host=db sslrootcert=system', { ...TCP, host: 'db', ssl: {} }],
    ];
    for (const [setting, expected] of cases) assert.deepEqual({ ...config(setting) }, expected, setting);
  });

  it('takes what the setting lacks from the PG* variables, as libpq does', () => {
    const vars = { PGHOST: 'db.example', PGPORT: '5433', PGDATABASE: 'hg', PGUSER: 'web', PGAPPNAME: 'hg-web1', PGCONNECT_TIMEOUT: '5', PGSSLMODE: 'disable', PGPASSWORD: 'from-env' };
    assert.deepEqual({ ...config('', vars) }, { ...TCP, host: 'db.example', port: 5433, database: 'hg', user: 'web', password: 'from-env', application_name: 'hg-web1', connectionTimeoutMillis: 5000, ssl: false });
    assert.deepEqual({ ...config('dbname=other port=5432 sslmode=require', vars) }, { ...TCP, host: 'db.example', database: 'other', user: 'web', password: 'from-env', application_name: 'hg-web1', connectionTimeoutMillis: 5000 });
  });

  it('reads root and client certificates, the default ones in ~/.postgresql too', () => {
    const root = file('root.crt', 'ROOT');
    const ssl = (setting: string, at = home) => config(setting, {}, at).ssl as Record<string, unknown>;
    const verifyCa = ssl(`host=db sslmode=verify-ca sslrootcert=${root}`);
    assert.equal(verifyCa.ca, 'ROOT');
    assert.equal(typeof verifyCa.checkServerIdentity, 'function', 'verify-ca checks the chain, not the name');
    assert.deepEqual(ssl(`host=db sslmode=verify-full sslrootcert=${root}`), { ca: 'ROOT' });
    // With a root certificate, require checks the chain too (libpq's rule, kept for old setups).
    assert.equal(ssl(`host=db sslmode=require sslrootcert=${root}`).ca, 'ROOT');

    const other = join(dir.path, 'other-home');
    mkdirSync(join(other, '.postgresql'), { recursive: true });
    writeFileSync(join(other, '.postgresql', 'root.crt'), 'HOME ROOT');
    writeFileSync(join(other, '.postgresql', 'postgresql.crt'), 'CERT');
    writeFileSync(join(other, '.postgresql', 'postgresql.key'), 'KEY', { mode: 0o600 });
    const fromHome = ssl('host=db sslmode=verify-full', other);
    assert.deepEqual({ ca: fromHome.ca, cert: fromHome.cert, key: fromHome.key }, { ca: 'HOME ROOT', cert: 'CERT', key: 'KEY' });
    chmodSync(join(other, '.postgresql', 'postgresql.key'), 0o644);
    refused('host=db', /private key file ".*postgresql\.key" has group or world access/, {}, other);
    refused(`host=db sslcert=${file('lone.crt', 'CERT')} sslkey=${join(dir.path, 'missing.key')}`, /certificate present, but not private key file ".*missing\.key"/);
  });

  it('reads a service: a bare word, service=, or PGSERVICE; the setting wins over the service, the service over the variables', () => {
    const services = file('services.conf', ['# the hosts', '[other]', 'host=elsewhere', '', '  [hg]  ', 'host=db.example', 'dbname=hg', 'dbname=ignored', '  # user=nobody', 'port=6432', '[after]', 'user=nobody'].join('\n'));
    const expected = { ...TCP, host: 'db.example', port: 6432, database: 'hg' };
    assert.deepEqual({ ...config('hg', { PGSERVICEFILE: services }) }, expected);
    assert.deepEqual({ ...config(' service=hg ', { PGSERVICEFILE: services }) }, expected);
    assert.deepEqual({ ...config('', { PGSERVICEFILE: services, PGSERVICE: 'hg' }) }, expected);
    assert.deepEqual({ ...config('service=hg dbname=mine', { PGSERVICEFILE: services, PGDATABASE: 'env', PGUSER: 'web' }) }, { ...expected, database: 'mine', user: 'web' });
    assert.deepEqual({ ...config('postgresql:///?service=hg', { PGSERVICEFILE: services }) }, expected);

    // ~/.pg_service.conf first; the system's file only for a service the user's lacks.
    writeFileSync(join(home, '.pg_service.conf'), '[hg]\nhost=mine\n');
    writeFileSync(join(sysconf, 'pg_service.conf'), '[hg]\nhost=system\nport=1\n[shared]\nhost=shared\n');
    try {
      assert.deepEqual({ ...config('hg') }, { ...TCP, host: 'mine' });
      assert.deepEqual({ ...config('shared') }, { ...TCP, host: 'shared' });
    } finally {
      writeFileSync(join(home, '.pg_service.conf'), '');
      writeFileSync(join(sysconf, 'pg_service.conf'), '');
    }

    // A password in a service file only its user can read is libpq's way, and hgreload's.
    const secret = file('secret.conf', '[hg]\nhost=db\npassword=s3cret\n', 0o600);
    assert.equal(config('hg', { PGSERVICEFILE: secret }).password, 's3cret');
  });

  it('refuses what libpq refuses, what pg cannot do, and a password in the settings file, saying where', () => {
    const services = file('refused.conf', ['[open]', 'host=db', 'password=s3cret', '[spaced]', 'host = db', '[bare]', 'host', '[nested]', 'service=open', '[typo]', 'dbnmae=hg'].join('\n'));
    const cases: Array<[string, RegExp]> = [
      ["dbname='hg", /^\[cluster\] database: unterminated quoted string\n\(close the value's single quote/],
      ['host localhost', /missing "=" after "host"/],
      ['two words', /missing "=" after "two"/],
      ['hots=db', /^\[cluster\] database: invalid connection option "hots"\n\(did you mean "host"\?\)/],
      ['postgresql://db/hg?hots=db', /invalid connection option "hots"/],
      ['host=db gssencmode=disable', /connection option "gssencmode" is not supported by hgreload's PostgreSQL client \(node-postgres\)/],
      ['host=db password=s3cret', /holds a password, which must not sit in the settings file.*\n\(keep it in the daemon user's ~\/\.pgpass or in the file PGPASSFILE names, or in a service file readable by the daemon's user alone/],
      ['postgresql://web:s3cret@db/hg', /holds a password/],
      ['postgresql://db/hg?password=s3cret', /holds a password/],
      ['host=a,b', /host "a,b" names several, and pg connects to one host only/],
      ['postgresql://a:5432,b:5433/hg', /host "a,b" names several/],
      ['host=db port=5432,5433', /port "5432,5433" names several/],
      ['port=abc', /invalid integer value "abc" for connection option "port"/],
      ['port=70000', /invalid port number: "70000"/],
      ['hostaddr=db.example', /could not parse network address "db.example"/],
      ['postgresql://db/%zz', /invalid percent-encoded token: "%zz"/],
      ['postgresql://db/a%00', /forbidden value %00/],
      ['postgresql://db/hg?sslmode', /missing key\/value separator "=" in URI query parameter: "sslmode"/],
      ['postgresql://[::1/hg', /matching "\]" in IPv6 host address/],
      ['host=db sslmode=maybe', /invalid sslmode value: "maybe"/],
      ['host=db sslmode=verify-ca', /sslmode verify-ca: root certificate file ".*home\/\.postgresql\/root\.crt" does not exist/],
      ['host=db sslrootcert=system sslmode=require', /weak sslmode "require" may not be used with sslrootcert=system/],
      ['host=db target_session_attrs=standby', /target_session_attrs=standby: hgreload writes to its tables/],
      ['host=db target_session_attrs=whatever', /invalid target_session_attrs value: "whatever"/],
      ['host=db passfile=/etc/hgreload/pgpass', /passfile "\/etc\/hgreload\/pgpass": pg reads only the file PGPASSFILE names.*\n\(set PGPASSFILE=\/etc\/hgreload\/pgpass in the daemon's environment/],
      ['missing', /^\[cluster\] database: definition of service "missing" not found \(looked in .*\.pg_service\.conf and .*etc\/pg_service\.conf\)/],
    ];
    for (const [setting, pattern] of cases) refused(setting, pattern);
    // The password file pg really reads may be named.
    assert.doesNotThrow(() => config(`host=db passfile=${join(home, '.pgpass')}`));

    const inFile: Array<[string, RegExp]> = [
      ['open', new RegExp(`^service file ${services}:3: holds a password, but the file's mode 0644 lets group or others read it\\n\\(chmod 600 ${services}`)],
      ['spaced', new RegExp(`^service file ${services}:5: invalid connection option "host "`)],
      ['bare', new RegExp(`^service file ${services}:7: syntax error: no "=" in "host"`)],
      ['nested', new RegExp(`^service file ${services}:9: nested service specifications not supported`)],
      ['typo', new RegExp(`^service file ${services}:11: invalid connection option "dbnmae"\\n\\(did you mean "dbname"\\?\\)`)],
      ['absent', /^\[cluster\] database: definition of service "absent" not found/],
    ];
    for (const [service, pattern] of inFile) refused(service, pattern, { PGSERVICEFILE: services });
    refused('', /^\$PGSERVICE: definition of service "absent" not found/, { PGSERVICEFILE: services, PGSERVICE: 'absent' });
    refused('hg', /cannot read service file .*nowhere\.conf \(No such file or directory\)/, { PGSERVICEFILE: join(dir.path, 'nowhere.conf') });
    const err = (() => {
      try {
        config('open', { PGSERVICEFILE: services });
      } catch (e) {
        return e as HgreloadError;
      }
      return undefined;
    })();
    assert.deepEqual({ file: err?.file, line: err?.line }, { file: services, line: 3 });
  });

  describe('against a real server', () => {
    let server: Postgres;
    let db: string;
    before(async () => {
      server = await Postgres.create();
      db = await server.freshDatabase();
    });
    after(async () => {
      await server?.close();
    });

    const whoAmI = async (config: pg.ClientConfig) => {
      const client = new pg.Client(config);
      await client.connect();
      try {
        return (await client.query("SELECT current_user AS role, current_database() AS db, current_setting('application_name') AS app")).rows[0];
      } finally {
        await client.end();
      }
    };
    const expected = () => ({ role: 'postgres', db, app: 'hgreload' });

    it('connects with the libpq form the harness hands psql', async () => {
      assert.deepEqual(await whoAmI(config(server.conninfo(db))), expected());
    });

    it('connects with a URI whose host is the percent-encoded socket folder', async () => {
      assert.deepEqual(await whoAmI(config(`postgresql://postgres@${encodeURIComponent(server.socketDir)}/${db}?application_name=hg%20web`)), { ...expected(), app: 'hg web' });
    });

    it('connects through a service in the file PGSERVICEFILE names', async () => {
      const services = file('real.conf', `[hgreload]\nhost=${server.socketDir}\nuser=postgres\ndbname=${db}\n`);
      assert.deepEqual(await whoAmI(config('hgreload', { PGSERVICEFILE: services })), expected());
    });
  });
});
