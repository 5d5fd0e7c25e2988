/**
 * doctor on [cluster] database, against the tests' own PostgreSQL: each
 * outcome made for real (no server, a fresh database, a migrated one, one
 * migrated by a newer hgreload, a role without the privileges), and the
 * GRANTs doctor prints shown to be enough for the daemon's start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { clientConfig } from '../../src/cluster/conninfo.js';
import { migrate, SCHEMA_VERSION } from '../../src/cluster/schema.js';
import { clusterChecks, serverVersion } from '../../src/doctor/cluster.js';
import type { Finding } from '../../src/doctor/finding.js';
import { Postgres } from '../helpers/postgres.js';
import { makeTempDir, runCli } from '../helpers/run.js';

describe('doctor: [cluster] database', () => {
  const dir = makeTempDir('hgreload-doctor-cluster-');
  const me = userInfo();
  let server: Postgres;
  before(async () => {
    server = await Postgres.create();
  });
  after(async () => {
    await server?.close();
    dir.remove();
  });

  /** The findings for a setting, doctor running as the daemon's user unless told otherwise. */
  const doctor = (database: string, daemon = { name: me.username, uid: me.uid }) => clusterChecks({ database, env: { PGSYSCONFDIR: dir.path }, daemon, home: dir.path });
  const byCheck = (findings: Finding[]) => Object.fromEntries(findings.map((f) => [f.check, f]));
  const levels = (findings: Finding[]) => findings.map((f) => `${f.check}: ${f.level}`);
  const as = (role: string, database: string) => `host=${server.socketDir} user=${role} dbname=${database}`;
  /** The daemon's start, as that role: what the grants finding promises. */
  const migrateAs = async (role: string, database: string) => {
    const client = new pg.Client(clientConfig(as(role, database), {}, dir.path));
    await client.connect();
    try {
      return await migrate(client);
    } finally {
      await client.end();
    }
  };

  it('a setting that does not read: its error and hint, nothing else tried', async () => {
    const findings = await doctor('hots=db');
    assert.deepEqual(findings, [{ check: 'cluster setting', level: 'fail', message: '[cluster] database: invalid connection option "hots"', fix: 'did you mean "host"?' }]);
  });

  it('no server at the socket: names the socket file and the error, and what to look at', async () => {
    const findings = await doctor(`host=${join(dir.path, 'nowhere')} user=postgres dbname=hg`);
    assert.deepEqual(levels(findings), ['cluster connect: fail']);
    const f = findings[0]!;
    assert.match(f.message, new RegExp(`^cannot connect to socket ${dir.path}/nowhere/\\.s\\.PGSQL\\.5432, database hg, as role postgres \\(OS user ${me.username}\\): .*ENOENT`));
    assert.match(f.fix!, /PostgreSQL is up.*pg_hba\.conf lets role postgres in.*~\/\.pgpass of OS user/);
  });

  it('a fresh database: the schema comes with the first start, which needs CREATE on the database', async () => {
    const db = await server.freshDatabase();
    const findings = byCheck(await doctor(as('postgres', db)));
    assert.equal(findings['cluster connect']!.level, 'ok');
    assert.match(findings['cluster connect']!.message, new RegExp(`^connected to socket ${server.socketDir}/\\.s\\.PGSQL\\.5432, database ${db}, as role postgres \\(OS user ${me.username}\\)$`));
    assert.equal(findings['cluster server']!.level, 'ok');
    assert.match(findings['cluster server']!.message, /^PostgreSQL \d+\.\d+/);
    assert.deepEqual(findings['cluster schema'], { check: 'cluster schema', level: 'info', message: `no hgreload schema in database ${db} yet: the daemon creates it on its first start` });
    assert.equal(findings['cluster grants']!.level, 'ok');

    // A role of its own has no CREATE on a database by default; doctor's GRANT is what the first start needs.
    await server.query('CREATE ROLE starter LOGIN');
    const denied = byCheck(await doctor(as('starter', db)))['cluster grants']!;
    assert.equal(denied.level, 'fail');
    assert.equal(denied.message, `role starter lacks CREATE on database ${db}: the daemon cannot create its schema`);
    await assert.rejects(migrateAs('starter', db), /permission denied/);
    await grant(denied, db);
    assert.equal(byCheck(await doctor(as('starter', db)))['cluster grants']!.level, 'ok');
    assert.deepEqual(await migrateAs('starter', db), { from: 0, to: SCHEMA_VERSION });
  });

  it('a migrated database: ok; at an older version: the daemon migrates it; at a newer one: upgrade hgreload', async () => {
    const db = await server.freshDatabase();
    await migrateAs('postgres', db);
    assert.deepEqual(levels(await doctor(as('postgres', db))), ['cluster connect: ok', 'cluster server: ok', 'cluster schema: ok', 'cluster grants: ok']);
    assert.equal(byCheck(await doctor(as('postgres', db)))['cluster schema']!.message, `schema "hgreload" is at version ${SCHEMA_VERSION}, this hgreload's`);

    await server.query('INSERT INTO hgreload.schema_version (version) VALUES ($1)', [SCHEMA_VERSION + 1], db);
    const newer = byCheck(await doctor(as('postgres', db)))['cluster schema']!;
    assert.equal(newer.level, 'fail');
    assert.match(newer.message, new RegExp(`at version ${SCHEMA_VERSION + 1}, newer than this hgreload knows \\(${SCHEMA_VERSION}\\)`));
    assert.match(newer.fix!, /upgrade hgreload on this host/);

    // Older: the version table of a schema before its first migration (what version 0 is).
    const old = await server.freshDatabase();
    await server.query('CREATE SCHEMA hgreload; CREATE TABLE hgreload.schema_version (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())', [], old);
    assert.deepEqual(byCheck(await doctor(as('postgres', old)))['cluster schema'], {
      check: 'cluster schema',
      level: 'info',
      message: `schema "hgreload" is at version 0: the daemon brings it to ${SCHEMA_VERSION} when it starts`,
    });
  });

  it('a role without privileges on a migrated schema: names each one missing, and its GRANTs let the daemon start', async () => {
    const db = await server.freshDatabase();
    await migrateAs('postgres', db);
    await server.query('CREATE ROLE worker LOGIN');
    const findings = byCheck(await doctor(as('worker', db)));
    assert.equal(findings['cluster connect']!.level, 'ok');
    assert.equal(findings['cluster schema']!.level, 'fail');
    assert.match(findings['cluster schema']!.message, /cannot read hgreload\.schema_version: permission denied/);
    const denied = findings['cluster grants']!;
    assert.equal(
      denied.message,
      // CREATE on the database is not asked: the schema is there. CREATE on it is, while the version cannot be read.
      'role worker lacks USAGE/CREATE on schema hgreload, SELECT on table hgreload.schema_version, ' +
        'SELECT/INSERT/UPDATE/DELETE on table hgreload.events, SELECT/INSERT/UPDATE/DELETE on table hgreload.daemons, ' +
        'SELECT/INSERT/UPDATE/DELETE on table hgreload.leadership, USAGE on sequence hgreload.events_seq_seq: the daemon cannot start or do its work',
    );
    await assert.rejects(migrateAs('worker', db), /permission denied/);
    await grant(denied, db);
    assert.deepEqual(levels(await doctor(as('worker', db))), ['cluster connect: ok', 'cluster server: ok', 'cluster schema: ok', 'cluster grants: ok']);
    assert.deepEqual(await migrateAs('worker', db), { from: SCHEMA_VERSION, to: SCHEMA_VERSION });
  });

  it('says when the daemon runs as another OS user, whose ~/.pgpass is not the one doctor read', async () => {
    const db = await server.freshDatabase();
    const f = byCheck(await doctor(as('postgres', db), { name: 'hgreload', uid: me.uid + 4242 }))['cluster connect']!;
    assert.match(f.message, new RegExp(`\\(OS user ${me.username}; the daemon runs as hgreload, whose environment, ~/\\.pgpass and ~/\\.pg_service\\.conf may differ, and whose role is hgreload where no user is named: run doctor as hgreload to check those\\)$`));
  });

  it('PostgreSQL before 14 fails: the daemon needs idle_session_timeout', () => {
    assert.deepEqual(serverVersion(130012, '13.12'), {
      check: 'cluster server',
      level: 'fail',
      message: 'PostgreSQL 13.12 is older than 14: the daemon sets idle_session_timeout, which 14 brought',
      fix: 'upgrade the server to PostgreSQL 14 or later',
    });
    assert.equal(serverVersion(140000, '14.0').level, 'ok');
  });

  it('hgreload doctor runs these checks when the settings name a database', async () => {
    const db = await server.freshDatabase();
    writeFileSync(join(dir.path, 'hgweb.config'), `[paths]\n/ = ${dir.path}/repos/*\n`);
    writeFileSync(join(dir.path, 'hgreload.ini'), `webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\n[cluster]\ndatabase = ${as('postgres', db)}\n`);
    const r = runCli(['-c', join(dir.path, 'hgreload.ini'), 'doctor', '--json', '--apache-root', join(dir.path, 'no-apache')]);
    const cluster = (JSON.parse(r.stdout) as Finding[]).filter((f) => f.check.startsWith('cluster '));
    assert.deepEqual(levels(cluster), ['cluster connect: ok', 'cluster server: ok', 'cluster schema: info', 'cluster grants: ok']);
  });

  /** Runs the statements of a grants finding's fix, as the owner would. */
  async function grant(finding: Finding, db: string): Promise<void> {
    const statements = /run: (.*)$/.exec(finding.fix!)![1]!;
    assert.match(statements, /^(GRANT [^;]+;\s*)+$/);
    await server.query(statements, [], db);
  }
});
