/** `command`: run an argv (no shell) with a timeout; its exit status and stderr say how it went. */
import { spawn } from 'node:child_process';
import { HgreloadError } from '../errors.js';

export interface CommandOptions {
  readonly timeoutMs: number;
  readonly spawnFn?: typeof spawn;
}

const STDERR_LIMIT = 4096;

export function runCommand(argv: readonly string[], options: CommandOptions): Promise<string> {
  const spawnFn = options.spawnFn ?? spawn;
  const shown = argv.join(' ');
  return new Promise((resolve, reject) => {
    let stderr = '';
    let timedOut = false;
    const child = spawnFn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], shell: false });
    child.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_LIMIT) stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new HgreloadError('reload', `cannot run ${shown} (${err.message})`, { hint: 'check "command" in [reload]', cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tail = stderr.trim() === '' ? '' : `: ${stderr.trim().slice(0, STDERR_LIMIT)}`;
      if (timedOut) {
        reject(new HgreloadError('reload', `${shown} did not finish within ${options.timeoutMs} ms and was killed${tail}`));
      } else if (code === 0) {
        resolve(`ran ${shown}${tail === '' ? '' : ` (stderr${tail})`}`);
      } else {
        reject(new HgreloadError('reload', `${shown} failed with ${signal === null ? `exit status ${code}` : signal}${tail}`));
      }
    });
  });
}
