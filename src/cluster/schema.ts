/**
 * hgreload's own tables in PostgreSQL, in the schema `hgreload`, versioned so
 * that hosts upgraded one after another share one database: each daemon brings
 * the schema up to the version it knows when it starts, and refuses a newer
 * one (its writes could break what a newer hgreload relies on).
 */
import type { ClientBase } from 'pg';
import { HgreloadError } from '../errors.js';

/**
 * Migration N brings the schema from version N to N + 1. A released entry is
 * never edited: hosts that applied it would keep the old text.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE hgreload.events (
     seq bigserial PRIMARY KEY,
     root text NOT NULL,
     folder text NOT NULL,
     kind text NOT NULL,
     host text NOT NULL,
     at timestamptz NOT NULL DEFAULT now()
   );
   -- One row a daemon (named after its host unless told otherwise): the last event it applied,
   -- so that events every daemon has applied can be pruned, and when it was last heard of.
   CREATE TABLE hgreload.daemons (
     name text PRIMARY KEY,
     last_seq bigint NOT NULL DEFAULT 0,
     seen timestamptz NOT NULL DEFAULT now()
   );
   -- Exactly one row: each new leader takes the next epoch, and every write a leader makes checks
   -- its epoch against it in the same transaction, so a paused ex-leader's writes fail.
   CREATE TABLE hgreload.leadership (
     single boolean PRIMARY KEY DEFAULT true CHECK (single),
     epoch bigint NOT NULL DEFAULT 0,
     holder text,
     since timestamptz
   );
   INSERT INTO hgreload.leadership DEFAULT VALUES;`,
  // The hook line each daemon writes: the leader writes its own into repositories every host
  // serves, so a host whose line differs (another install path or state folder) is told.
  `ALTER TABLE hgreload.daemons ADD COLUMN hook text;`,
];

/** The version this hgreload brings the schema to. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export interface Migration {
  readonly from: number;
  readonly to: number;
}

/**
 * Applies the migrations the database lacks, all in one transaction, which
 * first takes an advisory lock: daemons starting at once wait for each other
 * and the later ones find nothing left to do. A failure leaves the schema as
 * it was.
 */
export async function migrate(client: ClientBase): Promise<Migration> {
  try {
    await client.query('BEGIN');
    // A transaction-level lock: it goes with COMMIT or ROLLBACK, and with a dead connection.
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('hgreload.migrate', 0))");
    // Read before anything is created: PostgreSQL checks CREATE before it sees that a schema or table
    // exists, and a role granted only the use of the tables must still start.
    const from = await schemaVersion(client);
    if (from > SCHEMA_VERSION) {
      throw new HgreloadError('cluster-schema', `the PostgreSQL schema "hgreload" is at version ${from}, newer than this hgreload knows (${SCHEMA_VERSION})`, {
        hint: 'upgrade hgreload on this host to the release the other hosts run: a schema is never taken back to an older version',
      });
    }
    if (from < SCHEMA_VERSION) {
      await client.query('CREATE SCHEMA IF NOT EXISTS hgreload');
      await client.query('CREATE TABLE IF NOT EXISTS hgreload.schema_version (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())');
    }
    for (let version = from; version < SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version]!);
      await client.query('INSERT INTO hgreload.schema_version (version) VALUES ($1)', [version + 1]);
    }
    await client.query('COMMIT');
    return { from, to: SCHEMA_VERSION };
  } catch (err) {
    await rollback(client);
    if (err instanceof HgreloadError) throw err;
    throw failure(err);
  }
}

/** The schema's version: 0 when there is none yet. */
async function schemaVersion(client: ClientBase): Promise<number> {
  const { rows } = await client.query<{ present: boolean }>("SELECT to_regclass('hgreload.schema_version') IS NOT NULL AS present");
  if (!rows[0]!.present) return 0;
  const version = await client.query<{ version: number }>('SELECT coalesce(max(version), 0) AS version FROM hgreload.schema_version');
  return version.rows[0]!.version;
}

async function rollback(client: ClientBase): Promise<void> {
  try {
    await client.query('ROLLBACK');
  } catch {
    // The connection is gone, and the transaction with it: the first error is the one to report.
  }
}

/** SQLSTATE 42501: the role may not create the schema or its tables. */
const INSUFFICIENT_PRIVILEGE = '42501';

function failure(err: unknown): HgreloadError {
  const denied = (err as { code?: unknown }).code === INSUFFICIENT_PRIVILEGE;
  return new HgreloadError('cluster-database', `cannot bring the PostgreSQL schema "hgreload" to version ${SCHEMA_VERSION}: ${err instanceof Error ? err.message : String(err)}`, {
    hint: denied
      ? "the first start needs CREATE on the database for hgreload's role (GRANT CREATE ON DATABASE ... TO ...), or the schema made beforehand by its owner"
      : 'check that PostgreSQL is up and that the [cluster] database settings name the right database',
    cause: err,
  });
}
