/** The commands' side of the control channel (see control-protocol.ts). */
import { createConnection } from 'node:net';
import { HgreloadError, errnoCode, strerror } from '../errors.js';
import type { ControlRequest, ControlResponse } from './control-protocol.js';

/** undefined when no daemon listens on `path` (no socket, or a stale one). */
export function askDaemon(path: string, request: ControlRequest, timeoutMs = 5000): Promise<ControlResponse | undefined> {
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = createConnection(path);
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new HgreloadError('control', `the daemon at ${path} did not answer within ${timeoutMs} ms`, { hint: 'is it stuck? see its log (journalctl -u hgreload)' }));
    });
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => {
      try {
        resolve(JSON.parse(data) as ControlResponse);
      } catch {
        reject(new HgreloadError('control', `the daemon at ${path} gave an answer that is not JSON: ${data.slice(0, 200)}`));
      }
    });
    socket.on('error', (err) => {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ECONNREFUSED') return resolve(undefined);
      reject(
        new HgreloadError('control', `cannot reach the daemon at ${path} (${strerror(err)})`, {
          hint: code === 'EACCES' ? "only the daemon's user and group may use it: run as that user, or add yours to its group" : undefined,
          cause: err,
        }),
      );
    });
  });
}
