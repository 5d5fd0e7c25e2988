/**
 * A daemon in the test's own process, with its edges handed in: a temp
 * folder, a log the test reads (a Recorder), no cron schedule. Every daemon
 * made is closed, and the folder removed, after the suite.
 */
import { after } from 'node:test';
import type { Settings } from '../../src/config/settings.js';
import { Daemon, type DaemonDeps } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/daemon/logger.js';
import type { LogLine } from './daemon-process.js';
import { Recorder } from './recorder.js';
import { makeTempDir } from './run.js';

export const NO_SCHEDULE = { validate: () => true, schedule: () => ({ stop: () => undefined }) };

export function inProcessDaemons(prefix: string) {
  const dir = makeTempDir(prefix);
  const log = new Recorder<LogLine>();
  const logger = createLogger('debug', { write: (s: string) => log.push(JSON.parse(s) as LogLine) });
  const made: Daemon[] = [];
  after(async () => {
    for (const d of made) await d.close();
    dir.remove();
  });
  return {
    base: dir.path,
    log,
    logger,
    /** A daemon on `settings`, working in the temp folder, logging to `log`; `deps` override. */
    daemon(settings: Settings, deps: Partial<DaemonDeps> = {}): Daemon {
      const d = new Daemon(settings, { logger, cwd: dir.path, scheduler: NO_SCHEDULE, ...deps });
      made.push(d);
      return d;
    },
  };
}
