import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { migrate, SCHEMA_VERSION } from '../../src/cluster/schema.js';
import { HgreloadError } from '../../src/errors.js';
import { Postgres } from '../helpers/postgres.js';

describe('the PostgreSQL schema', () => {
  let server: Postgres;
  const clients: pg.Client[] = [];
  /** A client of a new empty database: each test starts from nothing. */
  const freshClient = async (): Promise<pg.Client> => {
    const client = await server.connect(await server.freshDatabase());
    clients.push(client);
    return client;
  };
  const another = async (like: pg.Client): Promise<pg.Client> => {
    const client = await server.connect(like.database!);
    clients.push(client);
    return client;
  };

  before(async () => {
    server = await Postgres.create();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await server?.close();
  });

  /** Every column of every table in the schema, and the rows that migrations write. */
  const snapshot = async (client: pg.Client) => ({
    columns: (
      await client.query(
        `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
          WHERE table_schema = 'hgreload' ORDER BY table_name, ordinal_position`,
      )
    ).rows,
    versions: (await client.query('SELECT version, applied FROM hgreload.schema_version ORDER BY version')).rows,
    leadership: (await client.query('SELECT * FROM hgreload.leadership')).rows,
  });

  it('creates the schema, its version and the tables on an empty database', async () => {
    const client = await freshClient();
    assert.deepEqual(await migrate(client), { from: 0, to: SCHEMA_VERSION });
    const { columns, versions, leadership } = await snapshot(client);
    const tables = new Map<string, string[]>();
    for (const c of columns) tables.set(c.table_name, [...(tables.get(c.table_name) ?? []), c.column_name]);
    assert.deepEqual(Object.fromEntries(tables), {
      daemons: ['name', 'last_seq', 'seen', 'hook'],
      events: ['seq', 'root', 'folder', 'kind', 'host', 'at'],
      leadership: ['single', 'epoch', 'holder', 'since'],
      schema_version: ['version', 'applied'],
    });
    assert.deepEqual(versions.map((v) => v.version), Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    assert.deepEqual(leadership, [{ single: true, epoch: '0', holder: null, since: null }]);
    // An event gets its sequence number and time from the table.
    const event = await client.query("INSERT INTO hgreload.events (root, folder, kind, host) VALUES ('/srv/hg', '/srv/hg/a', 'added', 'web1') RETURNING seq, at");
    assert.equal(event.rows[0].seq, '1');
    assert.ok(event.rows[0].at instanceof Date);
  });

  it('changes nothing the second time', async () => {
    const client = await freshClient();
    await migrate(client);
    const first = await snapshot(client);
    assert.deepEqual(await migrate(client), { from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    assert.deepEqual(await snapshot(client), first);
  });

  it('lets two daemons migrate at once: one creates the schema, the other finds it done', async () => {
    const holder = await freshClient();
    const [a, b] = [await another(holder), await another(holder)];
    // Both must really wait on the lock together, not merely run one after the other by chance.
    await holder.query("SELECT pg_advisory_lock(hashtextextended('hgreload.migrate', 0))");
    const both = Promise.all([migrate(a), migrate(b)]);
    const deadline = Date.now() + 10_000;
    while ((await holder.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rows[0].n < 2) {
      assert.ok(Date.now() < deadline, 'the two migrations never both waited for the lock');
      await new Promise((r) => setTimeout(r, 20));
    }
    await holder.query("SELECT pg_advisory_unlock(hashtextextended('hgreload.migrate', 0))");
    const outcomes = (await both).map((m) => m.from).sort();
    assert.deepEqual(outcomes, [0, SCHEMA_VERSION]);
    assert.deepEqual((await snapshot(holder)).versions.map((v) => v.version), Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('refuses a schema newer than this hgreload knows, and leaves it as it was', async () => {
    const client = await freshClient();
    await migrate(client);
    await client.query('INSERT INTO hgreload.schema_version (version) VALUES ($1)', [SCHEMA_VERSION + 1]);
    const before = await snapshot(client);
    await assert.rejects(
      migrate(client),
      (err: unknown) =>
        err instanceof HgreloadError &&
        err.code === 'cluster-schema' &&
        err.message.includes(`at version ${SCHEMA_VERSION + 1}, newer than this hgreload knows (${SCHEMA_VERSION})`) &&
        /upgrade hgreload on this host/.test(err.hint ?? ''),
    );
    assert.deepEqual(await snapshot(client), before);
    // The failed migration ended its transaction: the connection goes on working.
    assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
  });

  it('says which privilege is missing when the role may not create the schema', async () => {
    const owner = await freshClient();
    await owner.query('CREATE ROLE hgreload_reader LOGIN');
    const reader = await server.connect(owner.database!);
    clients.push(reader);
    await reader.query('SET ROLE hgreload_reader');
    await assert.rejects(migrate(reader), (err: unknown) => err instanceof HgreloadError && err.code === 'cluster-database' && /GRANT CREATE ON DATABASE/.test(err.hint ?? ''));
  });

  it('needs no CREATE once the schema is current: a role granted only the use of its tables starts', async () => {
    const owner = await freshClient();
    await migrate(owner);
    await owner.query('CREATE ROLE hgreload_user LOGIN');
    await owner.query('GRANT USAGE ON SCHEMA hgreload TO hgreload_user; GRANT SELECT ON hgreload.schema_version TO hgreload_user');
    const user = await another(owner);
    await user.query('SET ROLE hgreload_user');
    assert.deepEqual(await migrate(user), { from: SCHEMA_VERSION, to: SCHEMA_VERSION });
  });
});
