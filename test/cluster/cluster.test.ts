/**
 * Daemons' part in a cluster, against a real PostgreSQL: events from one
 * daemon reach the others in order and not itself; one leader at a time; a
 * leader that stops proving itself alive loses the lock to a standby after
 * the lease (the server ends its session); work fenced by an epoch that moved
 * is refused; a cut connection falls back and catches up; a stopped server is
 * survived.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { Cluster, type ClusterMode, type ClusterOptions } from '../../src/cluster/cluster.js';
import type { ClusterEvent } from '../../src/cluster/event-log.js';
import { realTimers, type Timers } from '../../src/daemon/coalescer.js';
import { createLogger } from '../../src/daemon/logger.js';
import type { LogLine } from '../helpers/daemon-process.js';
import { Postgres } from '../helpers/postgres.js';
import { Recorder } from '../helpers/recorder.js';

const LEASE_MS = 1000;

interface Member {
  readonly cluster: Cluster;
  readonly name: string;
  readonly events: Recorder<ClusterEvent>;
  readonly modes: Recorder<{ mode: ClusterMode; back: boolean }>;
  readonly leading: Recorder<boolean>;
  readonly log: Recorder<LogLine>;
}

describe('a cluster of daemons over one PostgreSQL', () => {
  let server: Postgres;
  let database: string;
  const members: Member[] = [];

  const member = async (name: string, timers: Timers = realTimers, more: Partial<ClusterOptions> = {}): Promise<Member> => {
    const events = new Recorder<ClusterEvent>();
    const modes = new Recorder<{ mode: ClusterMode; back: boolean }>();
    const leading = new Recorder<boolean>();
    const log = new Recorder<LogLine>();
    const cluster = new Cluster({
      config: server.clientConfig(database),
      name,
      leaseMs: LEASE_MS,
      hook: 'python3 /usr/share/hgreload/hooks/changegroup.py /var/lib/hgreload/control.sock',
      timers,
      log: createLogger('debug', { write: (s: string) => log.push(JSON.parse(s) as LogLine) }),
      onEvents: (list) => list.forEach(events.push),
      onMode: (mode, back) => modes.push({ mode, back }),
      onLeading: leading.push,
      ...more,
    });
    const m = { cluster, name, events, modes, leading, log };
    members.push(m);
    await cluster.start();
    return m;
  };
  const leaderOf = (...ms: Member[]): Member[] => ms.filter((m) => m.cluster.leading);
  /** Ends the server session of `name`'s `part` ('events' or 'leadership') as the server would. */
  const terminate = async (name: string, part: 'events' | 'leadership'): Promise<number> => {
    const { rows } = await server.query<{ ended: boolean }>(
      'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1',
      [`hgreload ${name} (${part})`],
      database,
    );
    return rows.filter((r) => r.ended).length;
  };

  before(async () => {
    server = await Postgres.create();
    database = await server.freshDatabase();
  });
  after(async () => {
    await Promise.all(members.map((m) => m.cluster.close()));
    await server?.close();
  });

  it("carries one daemon's events to the others, in order, and not back to itself", async () => {
    const a = await member('a');
    const b = await member('b');
    const c = await member('c');
    assert.deepEqual([a, b, c].map((m) => m.cluster.mode), ['database', 'database', 'database']);
    a.cluster.send([
      { root: 'walk:', folder: 'x', kind: 'repository added' },
      { root: 'walk:', folder: 'g/y', kind: 'folder added' },
    ]);
    b.cluster.send([{ root: 'walk:', folder: 'x', kind: 'repository removed' }]);
    for (const m of [b, c]) await m.events.waitFor((e) => e.folder === 'g/y', `a's events at ${m.name}`);
    await c.events.waitFor((e) => e.host === 'b', "b's event at c");
    await a.events.waitFor((e) => e.host === 'b', "b's event at a");
    assert.deepEqual(
      c.events.items.map((e) => `${e.host} ${e.kind} ${e.folder}`).filter((l) => l.startsWith('a ')),
      ['a repository added x', 'a folder added g/y'],
    );
    assert.ok(a.events.items.every((e) => e.host !== 'a') && b.events.items.every((e) => e.host !== 'b'), 'no daemon hears its own events');
    const seqs = c.events.items.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'in the order of their numbers');
    // A heartbeat later, each daemon's row says how far it has applied.
    const last = Math.max(...seqs);
    for (let i = 0; ; i++) {
      const { rows } = await server.query<{ name: string; last_seq: string }>('SELECT name, last_seq FROM hgreload.daemons ORDER BY name', [], database);
      if (rows.every((r) => Number(r.last_seq) >= last)) break;
      assert.ok(i < 100, `every daemon's last_seq reaches ${last}: ${JSON.stringify(rows)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('one leader at a time; a standby takes over the moment the leader stops, with the next epoch', async () => {
    const [a, b, c] = members as [Member, Member, Member];
    for (let i = 0; leaderOf(a, b, c).length === 0; i++) {
      assert.ok(i < 100, 'someone leads');
      await new Promise((r) => setTimeout(r, 50));
    }
    const [leader] = leaderOf(a, b, c);
    assert.equal(leaderOf(a, b, c).length, 1);
    const epoch = leader!.cluster.status().epoch!;
    const others = [a, b, c].filter((m) => m !== leader);
    const marks = others.map((m) => m.leading.mark);
    const stopped = Date.now();
    await leader!.cluster.close();
    const next = await Promise.any(others.map((m, i) => m.leading.waitFor((l) => l, `${m.name} leads`, { from: marks[i]! }).then(() => m)));
    const failover = Date.now() - stopped;
    assert.ok(next.cluster.status().epoch! > epoch, `epoch ${next.cluster.status().epoch} after ${epoch}`);
    assert.ok(failover < LEASE_MS, `took over in ${failover} ms`);
    const { rows } = await server.query('SELECT epoch, holder FROM hgreload.leadership', [], database);
    assert.deepEqual(rows, [{ epoch: String(next.cluster.status().epoch), holder: next.name }]);
  });

  it('work fenced by an epoch that moved on is refused, and its leader steps down', async () => {
    const [leader] = leaderOf(...members);
    assert.ok(leader !== undefined);
    const from = leader.log.mark;
    // As a successor would after this leader's session ended unseen: the row's epoch moves on.
    await server.query('UPDATE hgreload.leadership SET epoch = epoch + 1, holder = $1', ['successor'], database);
    const done = await leader.cluster.fenced('a test write', async (client) => client.query('SELECT 1'));
    assert.equal(done, undefined);
    assert.equal(leader.cluster.leading, false);
    await leader.log.waitFor((l) => l.msg.startsWith('cluster: fenced: a test write not done'), 'the fenced line', { from });
  });

  it('a leader that stops proving itself alive (its timers never fire) loses the lock after the lease', async () => {
    await Promise.all(members.splice(0).map((m) => m.cluster.close()));
    const frozen: Timers = { setTimeout: () => undefined, clearTimeout: () => undefined, now: () => Date.now() };
    const paused = await member('paused', frozen);
    for (let i = 0; !paused.cluster.leading; i++) {
      assert.ok(i < 100, 'the first daemon leads');
      await new Promise((r) => setTimeout(r, 50));
    }
    const standby = await member('standby');
    const started = Date.now();
    await standby.leading.waitFor((l) => l, 'the standby leads', { timeoutMs: 4 * LEASE_MS });
    const took = Date.now() - started;
    assert.ok(took >= LEASE_MS * 0.8, `not before the lease: ${took} ms`);
    // The paused one's writes as the leader are refused now.
    assert.equal(await paused.cluster.fenced('a late write', async () => 'written'), undefined);
  });

  it('a cut connection: polling, then back, with the events written meanwhile', async () => {
    const writer = members.find((m) => m.name === 'standby')!;
    const reader = await member('reader');
    const from = reader.modes.mark;
    assert.equal(await terminate('reader', 'events'), 1);
    await reader.modes.waitFor((m) => m.mode === 'polling', 'polling', { from });
    writer.cluster.send([{ root: 'walk:', folder: 'while-cut', kind: 'repository added' }]);
    await reader.modes.waitFor((m) => m.mode === 'database' && m.back, 'back', { from });
    await reader.events.waitFor((e) => e.folder === 'while-cut', 'the event written while cut');
  });

  it('a daemon whose hook line differs from the others says so when it connects', async () => {
    const odd = await member('odd', realTimers, { hook: 'python3 /opt/hgreload/hooks/changegroup.py /srv/state/control.sock' });
    const line = odd.log.items.find((l) => l.msg.includes('another hook line than this daemon'));
    assert.ok(line !== undefined, 'the warning');
    // Those alive now (the paused one connected moments ago); a, b and c, closed, are gone, not merely silent.
    assert.match(line.msg, /^cluster: (paused, )?reader, standby write another hook line than this daemon/);
    await odd.cluster.close();
    members.splice(members.indexOf(odd), 1);
  });

  it('a server that never answers does not hold the start: it goes on after a moment, and keeps trying', async () => {
    // Accepts the connection and says nothing, as a host behind a firewall that drops packets would.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const started = Date.now();
      const mute = await member('mute', realTimers, { config: { host: '127.0.0.1', port, user: 'x', database: 'x', connectionTimeoutMillis: 60_000 } });
      const took = Date.now() - started;
      assert.ok(took < 5000, `the start went on after ${took} ms`);
      assert.equal(mute.cluster.mode, 'connecting');
      await mute.cluster.close();
      members.splice(members.indexOf(mute), 1);
    } finally {
      silent.close();
    }
  });

  it('a stopped server: every daemon polls; started again, every one is back and hears new events', async () => {
    const live = members.filter((m) => m.name !== 'paused');
    const marks = live.map((m) => m.modes.mark);
    await server.stop();
    await Promise.all(live.map((m, i) => m.modes.waitFor((x) => x.mode === 'polling', `${m.name} polls`, { from: marks[i]! })));
    await server.start();
    await Promise.all(live.map((m, i) => m.modes.waitFor((x) => x.mode === 'database' && x.back, `${m.name} back`, { from: marks[i]!, timeoutMs: 20_000 })));
    const [writer, reader] = live as [Member, Member];
    writer.cluster.send([{ root: 'walk:', folder: 'after-restart', kind: 'repository added' }]);
    await reader.events.waitFor((e) => e.folder === 'after-restart', 'an event after the restart');
  });
});
