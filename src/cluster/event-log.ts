/**
 * The events table: what daemons write when their list changes, and read to
 * follow each other's changes, in the order of a sequence number.
 *
 * A reader goes on from the last number it applied, so an event must never
 * become visible after one with a greater number: two writers whose
 * transactions commit out of their numbers' order would have the reader skip
 * the first. Writers therefore take a transaction-level advisory lock before
 * they draw numbers, and release it only once committed (visible).
 */
import type { ClientBase } from 'pg';

export const CHANNEL = 'hgreload_events';
const APPEND_LOCK = "hashtextextended('hgreload.events', 0)";

/** What changed, in a root, as the sender's model saw it. */
export type EventKind = 'repository added' | 'repository removed' | 'folder added' | 'folder removed';

export interface NewEvent {
  /** The root's key (see RootPaths): the same on every host that serves the same hgweb.config. */
  readonly root: string;
  /** The entry that changed, relative to the root's folder ('' for the folder itself). */
  readonly folder: string;
  readonly kind: EventKind;
}

export interface ClusterEvent extends NewEvent {
  readonly seq: number;
  readonly host: string;
}

/** Appends `events` as written by `host`, and notifies the listeners, in one transaction; returns their numbers. */
export async function appendEvents(client: ClientBase, host: string, events: readonly NewEvent[]): Promise<number[]> {
  return transaction(client, async () => {
    await client.query(`SELECT pg_advisory_xact_lock(${APPEND_LOCK})`);
    const { rows } = await client.query<{ seq: string }>(
      `INSERT INTO hgreload.events (root, folder, kind, host)
         SELECT root, folder, kind, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS e(root, folder, kind)
       RETURNING seq`,
      [events.map((e) => e.root), events.map((e) => e.folder), events.map((e) => e.kind), host],
    );
    await client.query(`NOTIFY ${CHANNEL}`);
    return rows.map((r) => Number(r.seq));
  });
}

/** Events after `seq`, in order, at most `limit`. */
export async function eventsAfter(client: ClientBase, seq: number, limit: number): Promise<ClusterEvent[]> {
  const { rows } = await client.query<{ seq: string; root: string; folder: string; kind: EventKind; host: string }>(
    'SELECT seq, root, folder, kind, host FROM hgreload.events WHERE seq > $1 ORDER BY seq LIMIT $2',
    [seq, limit],
  );
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

/**
 * The greatest number given so far (0 for none), even if its event was
 * pruned; read under the writers' lock, so that no number drawn is still to
 * be committed.
 */
export function lastEvent(client: ClientBase): Promise<number> {
  return transaction(client, async () => {
    await client.query(`SELECT pg_advisory_xact_lock(${APPEND_LOCK})`);
    const { rows } = await client.query<{ seq: string }>("SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('hgreload.events', 'seq')), 0) AS seq");
    return Number(rows[0]!.seq);
  });
}

/** `work` between BEGIN and COMMIT; ROLLBACK when it throws (the first error is the one to report). */
async function transaction<T>(client: ClientBase, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Says that daemon `name` is alive and has applied every event up to `seq`;
 * returns who leads, as the leadership row says.
 */
export async function heartbeat(client: ClientBase, name: string, seq: number): Promise<{ leader: string | null; epoch: number }> {
  const { rows } = await client.query<{ holder: string | null; epoch: string }>(
    `WITH beat AS (
       INSERT INTO hgreload.daemons (name, last_seq, seen) VALUES ($1, $2, now())
       ON CONFLICT (name) DO UPDATE SET last_seq = excluded.last_seq, seen = now()
     )
     SELECT holder, epoch FROM hgreload.leadership`,
    [name, seq],
  );
  return { leader: rows[0]?.holder ?? null, epoch: Number(rows[0]?.epoch ?? 0) };
}

/**
 * Records the hook line daemon `name` writes; returns the other daemons heard
 * of within `recentMs` whose line differs.
 */
export async function sameHook(client: ClientBase, name: string, hook: string, recentMs: number): Promise<{ name: string; hook: string }[]> {
  await client.query('UPDATE hgreload.daemons SET hook = $2 WHERE name = $1', [name, hook]);
  const { rows } = await client.query<{ name: string; hook: string }>(
    `SELECT name, hook FROM hgreload.daemons
      WHERE name <> $1 AND hook IS DISTINCT FROM $2 AND hook IS NOT NULL AND seen > now() - make_interval(secs => $3::double precision / 1000)
      ORDER BY name`,
    [name, hook, recentMs],
  );
  return rows;
}

/**
 * Removes the events that every daemon heard of within `recentMs` has applied.
 * A daemon silent for longer has lost its connection, and walks every root
 * when it is back: it needs none of them.
 */
export async function prune(client: ClientBase, recentMs: number): Promise<number> {
  const { rowCount } = await client.query(
    `DELETE FROM hgreload.events
      WHERE seq <= (SELECT coalesce(min(last_seq), 0) FROM hgreload.daemons WHERE seen > now() - make_interval(secs => $1::double precision / 1000))`,
    [recentMs],
  );
  return rowCount ?? 0;
}
