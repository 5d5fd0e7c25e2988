/**
 * The daemon's log: JSON lines on stdout, for journald. The destination is an
 * argument so that tests read the lines; errors logged as `{ err }` keep their
 * code, hint and cause.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous: a line written just before a crash or an exit must not be lost.
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
