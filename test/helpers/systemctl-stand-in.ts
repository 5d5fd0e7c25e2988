/**
 * `systemctl` for a test that follows a README's service steps without
 * systemd: the command line goes to the test's service manager
 * (service-manager.ts) over the socket in $SERVICE_MANAGER_SOCKET, which does
 * the work; this prints its answer and exits with its status.
 */
import { createConnection } from 'node:net';

function main(socketPath: string | undefined): void {
  if (socketPath === undefined) {
    process.stderr.write('systemctl stand-in: SERVICE_MANAGER_SOCKET is not set (this is not the real systemctl)\n');
    process.exitCode = 1;
    return;
  }
  let answer = '';
  const socket = createConnection(socketPath, () => socket.write(`${JSON.stringify(process.argv.slice(2))}\n`));
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (answer += chunk));
  socket.on('end', () => {
    const { status, out } = JSON.parse(answer) as { status: number; out: string };
    process.stdout.write(out);
    process.exitCode = status;
  });
  socket.on('error', (err) => {
    process.stderr.write(`systemctl stand-in: ${err.message}\n`);
    process.exitCode = 1;
  });
}

main(process.env.SERVICE_MANAGER_SOCKET);
