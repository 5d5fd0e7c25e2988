/**
 * The daemon's log: JSON lines on stdout, for journald. The destination is an
 * argument so that tests read the lines; errors logged as `{ err }` keep their
 * code, hint and cause.
 */
import { format } from 'node:util';
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

/**
 * The same logger, telling `onError` the message of every line logged at
 * error or fatal level (the metrics' last error), whatever the level set: an
 * error happened even when the log is turned down. A Proxy, so that all the
 * rest (child loggers, levels) stays pino's own.
 */
export function tapErrors(logger: Logger, onError: (message: string) => void): Logger {
  return new Proxy(logger, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property !== 'error' && property !== 'fatal') return value.bind(target);
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        onError(messageOf(args));
        return result;
      };
    },
  });
}

/** The message of a pino call: `(msg, ...args)`, `(obj, msg, ...args)`, or an error alone. */
function messageOf(args: readonly unknown[]): string {
  const [first, ...rest] = args;
  if (typeof first === 'string') return format(first, ...rest);
  const [msg, ...more] = rest;
  if (typeof msg === 'string') return format(msg, ...more);
  if (first instanceof Error) return first.message;
  const err = (first as { err?: unknown } | null | undefined)?.err;
  return err instanceof Error ? err.message : '';
}
