/**
 * One connection to PostgreSQL that says, once, when it is lost: the server
 * went away, ended it (a timeout, pg_terminate_backend), or the network cut
 * it. pg reports that as 'error' or 'end', or as both, and a query on it
 * fails; each owner wants one notice to step down and reconnect on.
 */
import type pg from 'pg';

export interface Session {
  readonly client: pg.Client;
  /** Whether the connection is lost (or was ended by its owner). */
  readonly lost: boolean;
  /** Ends it without a notice. */
  end(): Promise<void>;
}

/**
 * Connects; `onLost` is called once when the connection is lost after that.
 * A failed connect throws and calls nothing; so does one `abort` stops (a
 * daemon that stops does not wait out a connect timeout).
 */
export async function openSession(config: pg.ClientConfig, onLost: (err: Error | undefined) => void, abort?: AbortSignal): Promise<Session> {
  abort?.throwIfAborted();
  // Loaded here, not with the daemon: a daemon without [cluster] does not pay pg's 60 ms at every start.
  const { Client } = (await import('pg')).default;
  abort?.throwIfAborted();
  const client = new Client({ keepAlive: true, ...config });
  const stop = (): void => streamOf(client).destroy(new Error('stopped while connecting'));
  abort?.addEventListener('abort', stop, { once: true });
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
  } finally {
    abort?.removeEventListener('abort', stop);
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
  streamOf(session.client).destroy(new Error('no answer from PostgreSQL'));
}

/** pg keeps its socket to itself; cutting it is the one way to end a connection that does not answer. */
function streamOf(client: pg.Client): { destroy(err?: Error): void } {
  return (client as unknown as { connection: { stream: { destroy(err?: Error): void } } }).connection.stream;
}
