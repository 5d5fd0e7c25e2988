/**
 * doctor on `[cluster] database`: the setting reads, PostgreSQL answers and
 * is new enough, and hgreload's schema is at a version this hgreload can use,
 * with the privileges its daemon needs. doctor connects as whoever runs it,
 * with that user's environment, ~/.pgpass and ~/.pg_service.conf: the
 * findings name that OS user, and say so when the daemon runs as another.
 */
import { userInfo } from 'node:os';
import type pg from 'pg';
import { clientConfig } from '../cluster/conninfo.js';
import { SCHEMA_VERSION } from '../cluster/schema.js';
import { HgreloadError } from '../errors.js';
import { fail, info, ok, type Finding } from './finding.js';

export interface ClusterInput {
  readonly database: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The daemon's OS user, as doctor learnt it. */
  readonly daemon: { readonly name: string; readonly uid: number };
  /** Where ~/.pg_service.conf and ~/.postgresql are: doctor's own home unless told. */
  readonly home?: string;
}

/** Unless the setting sets connect_timeout: doctor should not hang on a host that drops packets. */
const CONNECT_TIMEOUT = 5000;
/** The daemon sets idle_session_timeout, which PostgreSQL 14 brought. */
const OLDEST_SERVER = 140000;
/** The tables in schema hgreload that the daemon reads and writes at run time (see cluster/schema.ts). */
const TABLES = ['events', 'daemons', 'leadership'];

export async function clusterChecks(input: ClusterInput): Promise<Finding[]> {
  let config: pg.ClientConfig;
  try {
    config = clientConfig(input.database, input.env, input.home);
  } catch (err) {
    if (err instanceof HgreloadError) return [fail('cluster setting', err.message, err.hint ?? 'correct [cluster] database')];
    throw err;
  }
  const me = userInfo();
  const others =
    me.uid === input.daemon.uid
      ? ''
      : `; the daemon runs as ${input.daemon.name}, whose environment, ~/.pgpass and ~/.pg_service.conf may differ, and whose role is ${input.daemon.name} where no user is named: run doctor as ${input.daemon.name} to check those`;
  const as = `as role ${config.user} (OS user ${me.username}${others})`;
  const server = address(config);

  // Loaded here, not with the module: every command of the CLI imports doctor's, the daemon too.
  const { Client } = (await import('pg')).default;
  const client = new Client({ ...config, connectionTimeoutMillis: config.connectionTimeoutMillis || CONNECT_TIMEOUT });
  // A connection lost during the checks fails the query under way; the event itself adds nothing.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    const ssl = /does not support SSL/.test(String(err)) ? '; the server offers no TLS: set sslmode=disable (or allow) if that is what you want' : '';
    return [
      fail(
        'cluster connect',
        `cannot connect to ${server}, database ${config.database}, ${as}: ${err instanceof Error ? err.message : String(err)}`,
        `check that PostgreSQL is up and listens there (systemctl status postgresql), that its pg_hba.conf lets role ${config.user} in from this host, and that a password it asks for is in ~/.pgpass of OS user ${me.username} (mode 0600)${ssl}`,
      ),
    ];
  }
  const findings = [ok('cluster connect', `connected to ${server}, database ${config.database}, ${as}`)];
  try {
    const { rows } = await client.query<{ num: string; version: string }>("SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version");
    findings.push(serverVersion(Number(rows[0]!.num), rows[0]!.version));
    findings.push(...(await schema(client, config.user!)));
  } catch (err) {
    findings.push(fail('cluster connect', `the checks stopped part way: ${err instanceof Error ? err.message : String(err)}`, 'run doctor again; if it happens again, see the PostgreSQL server log'));
  } finally {
    await client.end();
  }
  return findings;
}

export function serverVersion(num: number, version: string): Finding {
  if (num >= OLDEST_SERVER) return ok('cluster server', `PostgreSQL ${version}`);
  return fail('cluster server', `PostgreSQL ${version} is older than 14: the daemon sets idle_session_timeout, which 14 brought`, 'upgrade the server to PostgreSQL 14 or later');
}

/** Where pg connects, as a person would name it: the socket file, or host:port. */
function address(config: pg.ClientConfig): string {
  if (config.host!.startsWith('/')) return `socket ${config.host}/.s.PGSQL.${config.port}`;
  return config.host!.includes(':') ? `[${config.host}]:${config.port}` : `${config.host}:${config.port}`;
}

/**
 * What the catalog says, which any role may read: a lookup by name
 * (to_regclass, has_table_privilege('hgreload.events', ...)) needs USAGE on
 * the schema, the very thing a role may lack.
 */
interface State {
  readonly database: string;
  readonly schema: boolean;
  /** The oid of each table and sequence in schema hgreload, by name. */
  readonly relations: ReadonlyMap<string, string>;
}

async function schema(client: pg.Client, role: string): Promise<Finding[]> {
  const head = await client.query<{ database: string; schema: boolean }>("SELECT current_database() AS database, EXISTS (SELECT FROM pg_namespace WHERE nspname = 'hgreload') AS schema");
  const relations = await client.query<{ name: string; oid: string }>(
    "SELECT c.relname AS name, c.oid::text AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'hgreload'",
  );
  const state: State = { ...head.rows[0]!, relations: new Map(relations.rows.map((r) => [r.name, r.oid])) };
  const findings: Finding[] = [];
  let version: number | undefined;
  if (!state.relations.has('schema_version')) {
    findings.push(info('cluster schema', `no hgreload schema in database ${state.database} yet: the daemon creates it on its first start`));
  } else {
    try {
      version = (await client.query<{ version: number }>('SELECT coalesce(max(version), 0) AS version FROM hgreload.schema_version')).rows[0]!.version;
      findings.push(schemaVersion(version));
    } catch (err) {
      // Most likely no SELECT on the table, which the grants finding names with its GRANT.
      findings.push(fail('cluster schema', `cannot read hgreload.schema_version: ${err instanceof Error ? err.message : String(err)}`, 'see the cluster grants finding'));
    }
  }
  findings.push(await privileges(client, role, state, version));
  return findings;
}

function schemaVersion(version: number): Finding {
  if (version > SCHEMA_VERSION) {
    return fail('cluster schema', `schema "hgreload" is at version ${version}, newer than this hgreload knows (${SCHEMA_VERSION}): its daemon refuses to start`, 'upgrade hgreload on this host to the release the other hosts run');
  }
  if (version < SCHEMA_VERSION) return info('cluster schema', `schema "hgreload" is at version ${version}: the daemon brings it to ${SCHEMA_VERSION} when it starts`);
  return ok('cluster schema', `schema "hgreload" is at version ${version}, this hgreload's`);
}

interface Needed {
  readonly privilege: string;
  /** The object as GRANT names it: DATABASE x, SCHEMA hgreload, TABLE hgreload.events. */
  readonly on: string;
  /** The SQL expression that is true when the role has it. */
  readonly test: string;
}

/**
 * What the daemon's start and its work need: CREATE only while there is
 * something to create (migrate() reads the version first); once the schema
 * exists, what the daemon did not create itself it may only use if granted.
 * `version` undefined: no schema_version table, or one this role may not read.
 */
async function privileges(client: pg.Client, role: string, state: State, version: number | undefined): Promise<Finding> {
  const creates = version === undefined || version < SCHEMA_VERSION;
  const needed: Needed[] = [];
  if (!state.schema) needed.push({ privilege: 'CREATE', on: `DATABASE ${ident(state.database)}`, test: "has_database_privilege(current_database(), 'CREATE')" });
  else {
    for (const privilege of creates ? ['USAGE', 'CREATE'] : ['USAGE']) needed.push({ privilege, on: 'SCHEMA hgreload', test: `has_schema_privilege('hgreload', '${privilege}')` });
  }
  const table = (name: string, privileges: readonly string[]) => {
    const oid = state.relations.get(name);
    if (oid !== undefined) for (const privilege of privileges) needed.push({ privilege, on: `TABLE hgreload.${name}`, test: `has_table_privilege(${oid}::oid, '${privilege}')` });
  };
  table('schema_version', version !== undefined && version < SCHEMA_VERSION ? ['SELECT', 'INSERT'] : ['SELECT']);
  for (const name of TABLES) table(name, ['SELECT', 'INSERT', 'UPDATE', 'DELETE']);
  if (state.relations.has('events')) {
    // The sequence behind events.seq, found as pg_get_serial_sequence() finds it, without a lookup by name.
    const { rows } = await client.query<{ name: string; oid: string }>(
      `SELECT s.relname AS name, s.oid::text AS oid FROM pg_depend d
         JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
         JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1::oid AND a.attname = 'seq'`,
      [state.relations.get('events')],
    );
    for (const s of rows) needed.push({ privilege: 'USAGE', on: `SEQUENCE hgreload.${ident(s.name)}`, test: `has_sequence_privilege(${s.oid}::oid, 'USAGE')` });
  }
  const { rows } = await client.query<Record<string, boolean>>(`SELECT ${needed.map((n, i) => `${n.test} AS p${i}`).join(', ')}`);
  const missing = needed.filter((_, i) => !rows[0]![`p${i}`]);
  if (missing.length === 0) return ok('cluster grants', `role ${role} has what the daemon needs: ${summary(needed)}`);
  const grants = [...new Set(missing.map((n) => n.on))].map((on) => `GRANT ${missing.filter((n) => n.on === on).map((n) => n.privilege).join(', ')} ON ${on} TO ${ident(role)};`);
  const cannot = state.schema ? 'cannot start or do its work' : 'cannot create its schema';
  return fail('cluster grants', `role ${role} lacks ${summary(missing)}: the daemon ${cannot}`, `as the owner of the database and of schema "hgreload" (or a superuser), run: ${grants.join(' ')}`);
}

/** "CREATE on database hg, USAGE/CREATE on schema hgreload, ..." */
function summary(needed: readonly Needed[]): string {
  return [...new Set(needed.map((n) => n.on))]
    .map((on) => {
      const [kind, ...name] = on.split(' ');
      return `${needed.filter((n) => n.on === on).map((n) => n.privilege).join('/')} on ${kind!.toLowerCase()} ${name.join(' ')}`;
    })
    .join(', ');
}

/** An SQL identifier, quoted when PostgreSQL would fold or refuse it bare. */
function ident(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}
