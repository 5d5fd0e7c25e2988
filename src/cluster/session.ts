/**
 * One connection to PostgreSQL that says, once, when it is lost: the server
 * went away, ended it (a timeout, pg_terminate_backend), or the network cut
 * it. pg reports that as 'error' or 'end', or as both, and a query on it
 * fails; each owner wants one notice to step down and reconnect on.
 */
import pg from 'pg';

export interface Session {
  readonly client: pg.Client;
  /** Whether the connection is lost (or was ended by its owner). */
  readonly lost: boolean;
  /** Ends it without a notice. */
  end(): Promise<void>;
}

/**
 * Connects; `onLost` is called once when the connection is lost after that.
 * A failed connect throws and calls nothing.
 */
export async function openSession(config: pg.ClientConfig, onLost: (err: Error | undefined) => void): Promise<Session> {
  const client = new pg.Client({ keepAlive: true, ...config });
  let lost = false;
  let ended = false;
  const lose = (err?: Error): void => {
    if (lost) return;
    lost = true;
    if (!ended) onLost(err);
  };
  client.on('error', (err) => lose(err));
  client.on('end', () => lose());
  try {
    await client.connect();
  } catch (err) {
    ended = true;
    lost = true;
    await client.end().catch(() => undefined);
    throw err;
  }
  return {
    client,
    get lost() {
      return lost;
    },
    async end() {
      ended = true;
      lost = true;
      await client.end().catch(() => undefined);
    },
  };
}

/** Cuts a connection that stopped answering: a half-open socket never errors by itself. */
export function cut(session: Session): void {
  (session.client as unknown as { connection: { stream: { destroy(err?: Error): void } } }).connection.stream.destroy(new Error('no answer from PostgreSQL'));
}
