/**
 * The control channel between `hgreload status`/`touch` (and the hook) and the
 * running daemon: a unix socket in the state folder, readable and writable by
 * the daemon's user and group only; one JSON line each way per connection.
 */
import { join } from 'node:path';

export const SOCKET_NAME = 'control.sock';

export function socketPath(stateDir: string): string {
  return join(stateDir, SOCKET_NAME);
}

/**
 * `touch` (a person typing `hgreload touch`) reloads hgweb even when the list
 * is the same; `rescan` (the hook, after a push) only looks again, and reloads
 * only when what hgweb serves changed.
 */
export type ControlRequest =
  | { readonly command: 'status' }
  | { readonly command: 'touch'; readonly reason?: string }
  | { readonly command: 'rescan'; readonly reason?: string; readonly path?: string };

export const CONTROL_COMMANDS: ReadonlySet<string> = new Set(['status', 'touch', 'rescan']);

export type ControlResponse = { readonly ok: true; readonly [key: string]: unknown } | { readonly ok: false; readonly error: string };
