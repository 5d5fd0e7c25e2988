/** The daemon's side of the control channel (see control-protocol.ts). */
import { chmod, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { HgreloadError, errnoCode, strerror } from '../errors.js';
import { CONTROL_COMMANDS, type ControlRequest, type ControlResponse } from './control-protocol.js';

export type ControlHandler = (request: ControlRequest) => ControlResponse | Promise<ControlResponse>;

const MAX_REQUEST_BYTES = 64 * 1024;
/**
 * Whoever may use the socket (the web server's user, so any CGI it runs) must
 * not be able to hold the daemon's connections open: a client that has not sent
 * its line within this time is cut off, and past MAX_CONNECTIONS new ones are refused.
 */
export const IDLE_TIMEOUT_MS = 5000;
const MAX_CONNECTIONS = 64;

export class ControlServer {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  /**
   * Listens on `path`. A socket file left by a daemon that died is removed
   * first; one that still answers means another daemon runs, which is an error.
   */
  static async listen(path: string, handler: ControlHandler, idleTimeoutMs = IDLE_TIMEOUT_MS): Promise<ControlServer> {
    if (await answers(path)) {
      throw new HgreloadError('control', `another hgreload daemon is running: ${path} answers`, {
        hint: 'stop it first (systemctl stop hgreload), or give this one its own state folder',
      });
    }
    await rm(path, { force: true });
    const server = createServer((socket) => serve(socket, handler, idleTimeoutMs));
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    }).catch((err: unknown) => {
      throw new HgreloadError('control', `cannot listen on ${path} (${strerror(err)})`, {
        hint: 'the state folder ("state" in [reload]) must be writable by the daemon\'s user',
        cause: err,
      });
    });
    // The daemon's user and group only: the hook's pushers reach it through the group.
    await chmod(path, 0o660);
    return new ControlServer(server, path);
  }

  /** Idempotent: stops listening and removes the socket file. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => this.server.close(() => resolve())).then(() => rm(this.path, { force: true }));
    return this.closing;
  }
}

function serve(socket: Socket, handler: ControlHandler, idleTimeoutMs: number): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.setTimeout(idleTimeoutMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_REQUEST_BYTES) return void socket.destroy();
    const end = buffered.indexOf('\n');
    if (end < 0) return;
    socket.pause();
    // One request per connection: once the answer is flushed the connection is done, whatever the client does.
    void answer(buffered.slice(0, end), handler).then((response) => socket.end(`${JSON.stringify(response)}\n`, () => socket.destroy()));
  });
}

async function answer(line: string, handler: ControlHandler): Promise<ControlResponse> {
  let request: ControlRequest;
  try {
    request = JSON.parse(line) as ControlRequest;
  } catch {
    return { ok: false, error: 'not a JSON request' };
  }
  const command: unknown = (request as { command?: unknown } | null)?.command;
  if (typeof command !== 'string' || !CONTROL_COMMANDS.has(command)) return { ok: false, error: `unknown command ${JSON.stringify(command)}` };
  try {
    return await handler(request);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (err) => resolve(errnoCode(err) === 'EACCES'));
  });
}
