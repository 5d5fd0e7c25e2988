/**
 * Three hgweb front ends over one store, their daemons sharing changes
 * through one PostgreSQL ([cluster]): bindfs (FUSE) mounts the store three
 * times, as hosts A's, B's and C's mounts, and each host runs its own daemon
 * and its own gunicorn. The kernel tells a host only of changes made through
 * its own mount; with the database up, the others learn of them from that
 * host's event row (their poll is a minute apart), and one daemon, the
 * leader, installs the hooks. The steps run in order on one store: a change
 * through one mount reaches every front end, the leader killed and then
 * paused is replaced (fencing: the paused one's writes are refused once it
 * resumes), the database stopped (every daemon polls) and started again
 * (every daemon catches up). Times measured are printed as diagnostics; the
 * bounds asserted are generous, for a loaded 2-core machine.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { isReload, type DaemonProcess, type LogLine } from '../helpers/daemon-process.js';
import { host, mountStore, needFrontEndTools, unmountStore, type Host } from '../helpers/front-ends.js';
import { Postgres } from '../helpers/postgres.js';
import { makeTempDir } from '../helpers/run.js';
import { hgInit, indexUntil, statusUntil } from '../helpers/web-site.js';

/** [watch] poll_interval: how often a daemon polls while the database is unreachable. */
const POLL_MS = 500;
/** [cluster] poll_interval: while the database is reachable, a poll never delivers a change within a test. */
const DB_POLL_MS = 60_000;
/** [cluster] lease: a leader silent this long loses leadership. */
const LEASE_MS = 1500;
/** How soon another front end shows a change that travelled through the database (a loaded 2-core machine). */
const SPREAD_BOUND_MS = 2000;
/** How soon a standby leads once the leader was killed (its session ends with it), before the margin. */
const FAILOVER_MS = 2000;
/** Allowed beyond a target for a loaded machine. */
const MARGIN_MS = 1000;
/** How often the index is asked while timing: a figure is late by at most this and one request. */
const ASK_EVERY_MS = 20;
/** How often the daemons' statuses are asked while waiting for a state (each ask is a CLI run). */
const STATUS_EVERY_MS = 100;

type Status = DaemonStatus;
type ClusterStatus = NonNullable<DaemonStatus['cluster']>;

const daemonOf = (h: Host): DaemonProcess => h.site.daemon!;
const reasonsOf = (l: LogLine): string[] => (l.reasons as string[] | undefined) ?? [];
const added = (name: string) => (l: LogLine) => ((l.added as string[] | undefined) ?? []).includes(name);
const removed = (name: string) => (l: LogLine) => ((l.removed as string[] | undefined) ?? []).includes(name);
const isLeading = (l: LogLine): boolean => l.msg.startsWith('cluster: leading');
/** A hook put into a repository's hgrc: `hook installed: HGRC`, or today's `hook added: HGRC` / `hook updated: HGRC` / `hook added again (...)`. */
const isHookInstall = (l: LogLine): boolean => /^hook (installed|added|updated)\b/.test(l.msg);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The last lines of each daemon's output, for a failure's message. */
const tails = (of: readonly Host[]): string => of.map((h) => `--- ${h.name}'s daemon, last lines:\n${daemonOf(h).output.slice(-8).join('\n')}`).join('\n');

/** Asks the daemons of `of` for their status (all at once, STATUS_EVERY_MS apart) until `done` holds for them. */
async function statusesUntil(of: readonly Host[], done: (statuses: Status[]) => boolean, what: string, timeoutMs = 20_000): Promise<Status[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = (await Promise.all(of.map((h) => h.site.status()))) as Status[];
    if (done(statuses)) return statuses;
    if (Date.now() > deadline) {
      const seen = of.map((h, i) => `${h.name}: ${JSON.stringify(statuses[i]!.cluster)}`).join('\n');
      throw new Error(`within ${timeoutMs} ms, never ${what}; the last cluster statuses:\n${seen}\n${tails(of)}`);
    }
    await delay(STATUS_EVERY_MS);
  }
}

/** A status without `cluster` (null: no [cluster] database; absent: a daemon from before it) matches no condition below. */
const cluster = (s: Status): ClusterStatus => s.cluster ?? ({} as ClusterStatus);
const everyInMode = (mode: ClusterStatus['mode'], pollIntervalMs: number) => (statuses: Status[]) =>
  statuses.every((s) => cluster(s).mode === mode && cluster(s).pollIntervalMs === pollIntervalMs);
const oneLeading = (statuses: Status[]): boolean => statuses.filter((s) => cluster(s).leading).length === 1;

/** The first line matching `match` in any of `of`'s logs (from `marks` on): which host logged it, and the line. */
async function firstLogged(of: readonly Host[], marks: readonly number[], match: (l: LogLine) => boolean, what: string, timeoutMs = 15_000): Promise<{ host: Host; line: LogLine }> {
  try {
    return await Promise.any(of.map(async (h, i) => ({ host: h, line: await daemonOf(h).waitFor(match, what, { from: marks[i], timeoutMs }) })));
  } catch (err) {
    const why = err instanceof AggregateError ? err.errors.map((e: Error) => e.message).join('\n') : String(err);
    throw new Error(`no daemon of ${of.map((h) => h.name).join(', ')} logged ${what} within ${timeoutMs} ms:\n${why}`);
  }
}

interface Arrival {
  readonly host: Host;
  /** From the change's end to the first answer of this host's front end that shows it. */
  readonly ms: number;
  /** This host's daemon's reload line for the change. */
  readonly reload: LogLine;
}

/**
 * Makes `change`, then waits until every front end of `to` shows it
 * (`shown`, all at once, each asking ASK_EVERY_MS apart), and for each
 * daemon's reload line for it.
 */
async function spread(to: readonly Host[], change: () => void, shown: (h: Host) => Promise<unknown>, reloaded: (l: LogLine) => boolean, what: string): Promise<Arrival[]> {
  const marks = to.map((h) => daemonOf(h).mark);
  change();
  const changed = Date.now();
  const times = await Promise.all(
    to.map(async (h) => {
      await shown(h);
      return Date.now() - changed;
    }),
  );
  const reloads = await Promise.all(to.map((h, i) => daemonOf(h).waitFor((l) => isReload(l) && reloaded(l), `${h.name}'s reload for ${what}`, { from: marks[i] })));
  return to.map((h, i) => ({ host: h, ms: times[i]!, reload: reloads[i]! }));
}

const shows = (name: string) => (h: Host) => indexUntil(h.server.url, (i) => i.repos.includes(name), `${name} on ${h.name}`, h.site.seen, ASK_EVERY_MS);

/** Each front end's figure, their median and maximum, and what each daemon gave as reasons. */
function figures(what: string, arrivals: readonly Arrival[]): string {
  const ms = arrivals.map((a) => a.ms).sort((x, y) => x - y);
  const each = arrivals.map((a) => `${a.host.name.toUpperCase()} ${a.ms} ms (${JSON.stringify(reasonsOf(a.reload))})`).join(', ');
  return `${what}: shown after ${each}; median ${ms[Math.floor(ms.length / 2)]} ms, max ${ms.at(-1)} ms (from the change's end; bound ${SPREAD_BOUND_MS} ms)`;
}

function assertReasons(arrivals: readonly Arrival[], of: readonly Host[], prefix: string): void {
  for (const a of arrivals.filter((a) => of.includes(a.host))) {
    assert.ok(reasonsOf(a.reload).some((r) => r.startsWith(prefix)), `${a.host.name}'s reload came from "${prefix}…": ${JSON.stringify(reasonsOf(a.reload))}`);
  }
}

describe('three hgweb front ends (gunicorn) over one store mounted three times (bindfs), their daemons sharing changes through PostgreSQL', () => {
  const dir = makeTempDir('hgreload-cluster-fronts-');
  const store = join(dir.path, 'store');
  let server: Postgres | undefined;
  let database = '';
  let hosts: Host[] = [];
  let a: Host, b: Host, c: Host;
  /** Daemons a step SIGSTOPped: the after hook continues them before stopping them. */
  const stopped = new Set<number>();
  /** The leader the SIGSTOP step paused, and where its log stood when it was continued: it must never install a hook from there on. */
  let resumed: { readonly host: Host; readonly daemon: DaemonProcess; readonly from: number } | undefined;
  /** Set by the first step that fails: the steps after it, which build on it, are skipped. */
  let broken: string | undefined;

  const sql = async <R extends Record<string, unknown>>(text: string): Promise<R[]> => (await server!.query<R>(text, [], database)).rows;
  const statuses = (): Promise<Status[]> => statusesUntil(hosts, () => true, 'an answer');
  const leaderAmong = (of: readonly Host[], s: readonly Status[]): Host => {
    const leading = of.filter((_, i) => cluster(s[i]!).leading);
    assert.equal(leading.length, 1, `exactly one leader: ${JSON.stringify(s.map((x) => x.cluster))}`);
    return leading[0]!;
  };

  /** A step, skipped once one before it failed. */
  const step = (name: string, body: (t: TestContext) => Promise<void>) =>
    it(name, async (t) => {
      if (broken !== undefined) return t.skip(`a step before failed: ${broken}`);
      try {
        await body(t);
      } catch (err) {
        broken = name;
        throw err;
      }
    });

  before(async () => {
    needFrontEndTools();
    server = await Postgres.create();
    database = await server.freshDatabase();
    mkdirSync(join(store, 'repos'), { recursive: true });
    const settings = (name: string) =>
      `[cluster]\ndatabase = ${server!.conninfo(database)}\nname = ${name}\nlease = ${LEASE_MS}\npoll_interval = ${DB_POLL_MS}\n[hooks]\nauto = true\n`;
    hosts = ['a', 'b', 'c'].map((name) => host(dir.path, name, POLL_MS, settings(name)));
    [a, b, c] = hosts as [Host, Host, Host];
    for (const h of hosts) mountStore(store, h.mount);
    // One after the other: A's site makes `first` through its mount, B's and C's find it there.
    for (const h of hosts) await h.site.start();
    for (const h of hosts) await indexUntil(h.server.url, (i) => i.repos.includes('first'), `first on ${h.name}`, h.site.seen);
    await statusesUntil(hosts, (s) => everyInMode('database', DB_POLL_MS)(s) && oneLeading(s), "every daemon in mode 'database' (polling a minute apart), exactly one leading");
  });

  after(async () => {
    // A paused daemon would never act on SIGTERM: continue it first.
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // it is gone already
      }
    }
    await Promise.allSettled(hosts.map((h) => h.site.stop()));
    for (const h of hosts) unmountStore(h.mount);
    await server?.close();
    dir.remove();
  });

  step("a repository made through A (hg init) shows on every front end; B's and C's daemons learnt of it from the database", async (t) => {
    const arrivals = await spread(hosts, () => hgInit(join(a.mount, 'repos/made-on-a')), shows('made-on-a'), added('made-on-a'), 'made-on-a');
    t.diagnostic(figures('made through A', arrivals));
    assertReasons(arrivals, [b, c], 'cluster: ');
    for (const { host: h, ms } of arrivals) assert.ok(ms < SPREAD_BOUND_MS, `${h.name}: ${figures('made through A', arrivals)}`);
  });

  step('a repository removed through B (rm -rf) answers 404 on every front end and leaves every index', async (t) => {
    const gone = async (h: Host) => {
      await statusUntil(h.server.url, '/made-on-a/', 404, `made-on-a removed, on ${h.name}`, ASK_EVERY_MS);
      await indexUntil(h.server.url, (i) => i.status === 200 && !i.repos.includes('made-on-a'), `made-on-a left out on ${h.name}`, h.site.seen, ASK_EVERY_MS);
    };
    const arrivals = await spread(hosts, () => rmSync(join(b.mount, 'repos/made-on-a'), { recursive: true }), gone, removed('made-on-a'), 'made-on-a removed');
    t.diagnostic(figures('removed through B (404 and left out of the index)', arrivals));
  });

  step('the leader SIGKILLed: another daemon leads with a greater epoch; the killed one, started again, comes back as a standby and catches up', async (t) => {
    const before = await statuses();
    const leader = leaderAmong(hosts, before);
    const epoch = cluster(before[hosts.indexOf(leader)]!).epoch ?? 0;
    const others = hosts.filter((h) => h !== leader);
    const marks = others.map((h) => daemonOf(h).mark);
    const killedAt = Date.now();
    daemonOf(leader).signal('SIGKILL');
    await daemonOf(leader).exited;
    const { host: next, line } = await firstLogged(others, marks, (l) => isLeading(l) && Number(l.epoch) > epoch, `"cluster: leading" with an epoch above ${epoch}`);
    const failoverMs = Date.parse(line.time as string) - killedAt;
    t.diagnostic(`${leader.name} (epoch ${epoch}) SIGKILLed: ${next.name} leads with epoch ${String(line.epoch)} after ${failoverMs} ms (bound ${FAILOVER_MS + MARGIN_MS} ms)`);
    assert.ok(failoverMs < FAILOVER_MS + MARGIN_MS, `${next.name} led ${failoverMs} ms after the kill`);
    await statusesUntil(
      others,
      (s) => s.every((x, i) => cluster(x).leading === (others[i] === next) && cluster(x).leader === next.name) && cluster(s[others.indexOf(next)]!).epoch === Number(line.epoch),
      `${next.name} leading with epoch ${String(line.epoch)} and the other naming it the leader`,
    );

    await leader.site.startDaemon();
    await daemonOf(leader).waitFor((l) => l.msg.startsWith('cluster: standby') && l.leader === next.name, `"cluster: standby" naming ${next.name}`);
    const caughtUp = await statusesUntil(
      hosts,
      (s) => {
        const back = cluster(s[hosts.indexOf(leader)]!);
        const seqs = s.filter((_, i) => hosts[i] !== leader).map((x) => cluster(x).lastSeq);
        return back.mode === 'database' && !back.leading && back.leader === next.name && seqs.every((q) => q > 0) && back.lastSeq >= Math.max(...seqs);
      },
      `${leader.name}, started again, a standby whose lastSeq reached the others'`,
    );
    t.diagnostic(`lastSeq once ${leader.name} caught up: ${hosts.map((h, i) => `${h.name} ${cluster(caughtUp[i]!).lastSeq}`).join(', ')}`);
  });

  step("the leader SIGSTOPped: another leads after the lease; a repository made through the paused leader's mount meanwhile is served everywhere and hooked by the new leader, never by the old", async (t) => {
    const before = await statuses();
    const leader = leaderAmong(hosts, before);
    const epoch = cluster(before[hosts.indexOf(leader)]!).epoch ?? 0;
    const others = hosts.filter((h) => h !== leader);
    const marks = others.map((h) => daemonOf(h).mark);
    const paused = daemonOf(leader);
    stopped.add(paused.pid);
    const stoppedAt = Date.now();
    process.kill(paused.pid, 'SIGSTOP');
    // A lease is about time: the bound is the lease, then as long as after a kill.
    const bound = LEASE_MS + FAILOVER_MS + MARGIN_MS;
    const { host: next, line } = await firstLogged(others, marks, (l) => isLeading(l) && Number(l.epoch) > epoch, `"cluster: leading" with an epoch above ${epoch}`);
    const takeoverMs = Date.parse(line.time as string) - stoppedAt;
    const newEpoch = Number(line.epoch);
    t.diagnostic(`${leader.name} (epoch ${epoch}) SIGSTOPped: ${next.name} leads with epoch ${newEpoch} after ${takeoverMs} ms (lease ${LEASE_MS} ms, bound ${bound} ms)`);
    assert.ok(takeoverMs < bound, `${next.name} led ${takeoverMs} ms after the pause`);

    // The paused daemon's inotify queues this in the kernel; it acts on it once continued.
    const nextFrom = daemonOf(next).mark;
    hgInit(join(leader.mount, 'repos/made-while-paused'));
    const from = paused.mark;
    resumed = { host: leader, daemon: paused, from };
    process.kill(paused.pid, 'SIGCONT');
    stopped.delete(paused.pid);
    const resumedAt = Date.now();
    await Promise.all(hosts.map(shows('made-while-paused')));
    t.diagnostic(`made-while-paused shown on every front end ${Date.now() - resumedAt} ms after the SIGCONT`);

    const install = await daemonOf(next).waitFor(
      (l) => isHookInstall(l) && String(l.repo).endsWith('/repos/made-while-paused'),
      `the new leader ${next.name} installing the hook into made-while-paused`,
      { from: nextFrom },
    );
    t.diagnostic(`hook installed by ${next.name}: ${install.msg}`);
    const hgrc = readFileSync(join(store, 'repos/made-while-paused/.hg/hgrc'), 'utf8');
    assert.match(hgrc, /^\[hooks\]$/m, hgrc);
    assert.match(hgrc, /^changegroup\.hgreload\s*=/m, hgrc);

    const [old] = await statusesUntil([leader], (s) => cluster(s[0]!).mode === 'database' && !cluster(s[0]!).leading, `${leader.name}, continued, no longer leading`);
    t.diagnostic(`${leader.name} continued: ${JSON.stringify(old!.cluster)}; fenced lines: ${paused.lines.slice(from).filter((l) => l.msg.startsWith('cluster: fenced')).length}`);
    const installs = paused.lines.slice(from).filter(isHookInstall);
    assert.deepEqual(installs, [], `${leader.name} installed hooks after it was continued, no longer the leader`);
    const [row] = await sql<{ epoch: string; holder: string | null }>('SELECT epoch::text AS epoch, holder FROM hgreload.leadership');
    assert.equal(Number(row!.epoch), newEpoch, `the leadership row (holder ${row!.holder}) has the new leader's epoch`);
    const [now] = await statusesUntil([next], () => true, 'an answer');
    assert.equal(cluster(now!).epoch, newEpoch, `${next.name}'s status`);
  });

  let seqsBefore: string[] = [];
  step("PostgreSQL stopped: every front end keeps its list, every daemon polls, and a repository made through A reaches B and C by their polls", async (t) => {
    const lists = await Promise.all(hosts.map((h) => indexUntil(h.server.url, (i) => i.status === 200, `${h.name}'s index`, h.site.seen)));
    const list = lists[0]!.repos;
    for (const [i, l] of lists.entries()) assert.deepEqual(l.repos, list, `${hosts[i]!.name}'s list is A's`);
    // The leader prunes what every daemon has applied: those that some daemon has not must outlive the stop.
    seqsBefore = (
      await sql<{ seq: string }>('SELECT seq::text AS seq FROM hgreload.events WHERE seq > (SELECT min(last_seq) FROM hgreload.daemons) ORDER BY seq')
    ).map((r) => r.seq);
    const marks = hosts.map((h) => daemonOf(h).mark);

    await server!.stop();
    const stoppedAt = Date.now();
    await Promise.all(hosts.map((h, i) => daemonOf(h).waitFor((l) => l.msg.startsWith('cluster: database unreachable'), '"cluster: database unreachable"', { from: marks[i] })));
    await statusesUntil(hosts, everyInMode('polling', POLL_MS), `every daemon in mode 'polling', every ${POLL_MS} ms`);
    t.diagnostic(`every daemon polling ${Date.now() - stoppedAt} ms after the stop (${seqsBefore.length} events in the table before it)`);
    for (const h of hosts) {
      const answer = await indexUntil(h.server.url, () => true, `${h.name}'s index`, h.site.seen);
      assert.deepEqual({ status: answer.status, repos: answer.repos }, { status: 200, repos: list }, `${h.name}'s index, the database stopped`);
    }

    const arrivals = await spread(hosts, () => hgInit(join(a.mount, 'repos/made-during-outage')), shows('made-during-outage'), added('made-during-outage'), 'made-during-outage');
    t.diagnostic(figures('made through A, the database stopped', arrivals));
    assertReasons(arrivals, [b, c], 'poll: ');
    for (const { host: h, ms } of arrivals) assert.ok(ms < POLL_MS + SPREAD_BOUND_MS, `${h.name}: ${figures('made through A, the database stopped', arrivals)}`);
  });

  step('PostgreSQL started again: every daemon is back on it, loses no event, and a repository made through C reaches A and B through it', async (t) => {
    const marks = hosts.map((h) => daemonOf(h).mark);
    await server!.start();
    const startedAt = Date.now();
    await Promise.all(hosts.map((h, i) => daemonOf(h).waitFor((l) => l.msg.startsWith('cluster: database back'), '"cluster: database back"', { from: marks[i], timeoutMs: 20_000 })));
    await statusesUntil(hosts, (s) => everyInMode('database', DB_POLL_MS)(s) && oneLeading(s), "every daemon back in mode 'database', exactly one leading");
    t.diagnostic(`every daemon back on the database ${Date.now() - startedAt} ms after the start`);
    const seqsAfter = new Set((await sql<{ seq: string }>('SELECT seq::text AS seq FROM hgreload.events')).map((r) => r.seq));
    assert.deepEqual(
      seqsBefore.filter((s) => !seqsAfter.has(s)),
      [],
      `events of before the stop that some daemon had not applied, missing after the start (${seqsBefore.length} before, ${seqsAfter.size} now)`,
    );

    const arrivals = await spread(hosts, () => hgInit(join(c.mount, 'repos/made-after-outage')), shows('made-after-outage'), added('made-after-outage'), 'made-after-outage');
    t.diagnostic(figures('made through C, the database back', arrivals));
    assertReasons(arrivals, [a, b], 'cluster: ');
    for (const { host: h, ms } of arrivals) assert.ok(ms < SPREAD_BOUND_MS, `${h.name}: ${figures('made through C, the database back', arrivals)}`);

    const expected = ['first', 'made-after-outage', 'made-during-outage', 'made-while-paused'];
    for (const h of hosts) {
      const answer = await indexUntil(h.server.url, () => true, `${h.name}'s index`, h.site.seen);
      assert.deepEqual([...answer.repos].sort(), expected, `${h.name}'s list`);
    }

    const deadline = Date.now() + 15_000;
    let rows: Array<{ name: string; last_seq: string; max: string | null }> = [];
    for (;;) {
      // The last number given, even if the leader has pruned its event since.
      rows = await sql('SELECT d.name, d.last_seq::text AS last_seq, (SELECT last_value::text FROM hgreload.events_seq_seq) AS max FROM hgreload.daemons d ORDER BY d.name');
      const done = hosts.every((h) => rows.some((r) => r.name === h.name && r.max !== null && BigInt(r.last_seq) >= BigInt(r.max)));
      if (done) break;
      assert.ok(Date.now() < deadline, `daemons.last_seq never reached max(seq) within 15 s: ${JSON.stringify(rows)}\n${tails(hosts)}`);
      await delay(STATUS_EVERY_MS);
    }
    t.diagnostic(`daemons.last_seq: ${rows.map((r) => `${r.name} ${r.last_seq}`).join(', ')}; max(seq) ${rows[0]?.max}`);
  });

  it('no front end failed a request, and the paused leader installed no hook after it was continued, until it led again', () => {
    for (const h of hosts) {
      const { failed, log } = h.site.failures();
      assert.deepEqual(failed, [], `${failed.length} failed requests on ${h.name}; gunicorn log:\n${log}`);
    }
    if (resumed !== undefined) {
      // After the database's restart any daemon may win the lock again, with a new epoch: its hooks from then on are its due.
      const since = resumed.daemon.lines.slice(resumed.from);
      const ledAgain = since.findIndex((l) => l.msg.startsWith('cluster: leading'));
      const installs = (ledAgain === -1 ? since : since.slice(0, ledAgain)).filter(isHookInstall);
      assert.deepEqual(installs, [], `${resumed.host.name}, no longer the leader, installed hooks`);
    }
  });
});
