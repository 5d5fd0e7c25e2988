/** The tests' own PostgreSQL does what the cluster tests count on: no TCP, not root, survives stop and kill. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { credentialsOf, idsOf } from '../helpers/users.js';
import { Postgres } from '../helpers/postgres.js';

describe('the tests’ PostgreSQL', () => {
  let server: Postgres;
  before(async () => {
    server = await Postgres.create();
  });
  after(async () => {
    await server?.close();
  });

  it('listens on its Unix socket only, and runs as the postgres account', async () => {
    const client = await server.connect();
    try {
      const { rows } = await client.query("SELECT current_setting('listen_addresses') AS tcp, current_setting('unix_socket_directories') AS sockets, pg_backend_pid() AS pid");
      assert.deepEqual({ tcp: rows[0].tcp, sockets: rows[0].sockets }, { tcp: '', sockets: server.socketDir });
      // The backend serving this connection, while it still does.
      assert.equal(credentialsOf(rows[0].pid).uids[0], idsOf('postgres').uid);
    } finally {
      await client.end();
    }
  });

  it('keeps what was committed across a stop and a kill', async () => {
    await server.query('CREATE TABLE kept (n int)');
    await server.query('INSERT INTO kept VALUES (1)');
    await server.stop();
    await assert.rejects(server.query('SELECT 1'), /ENOENT|ECONNREFUSED/);
    await server.start();
    await server.query('INSERT INTO kept VALUES (2)');
    await server.kill();
    await server.start();
    assert.deepEqual((await server.query('SELECT n FROM kept ORDER BY n')).rows, [{ n: 1 }, { n: 2 }]);
  });
});
