/**
 * The configured reload method, checked once when the settings are read: a
 * method whose own setting is missing is a configuration error at start, not a
 * failure at the first repository created.
 */
import { HgreloadError } from '../errors.js';
import type { Settings } from '../config/settings.js';
import type { ListChange } from '../model/served-list.js';
import { publishFolder, Publisher } from './publish.js';
import { runCommand } from './run-command.js';
import { checkSignalName, signalFromPidfile } from './send-signal.js';
import { splitArgv } from './split-argv.js';
import { touchScript } from './touch.js';

export interface Reloader {
  readonly method: Settings['reload']['method'];
  /**
   * Makes hgweb serve `change.after` (`whole`: as a whole, whatever hgweb was
   * last made to serve). Resolves to a line for the log, rejects with an
   * HgreloadError.
   */
  readonly reload: (change: ListChange, whole?: boolean) => Promise<string>;
}

/** Long enough for `apachectl -k graceful`, short enough that a hung command does not stall reloads for long. */
export const COMMAND_TIMEOUT_MS = 30_000;

export function createReloader(settings: Settings, commandTimeoutMs = COMMAND_TIMEOUT_MS): Reloader {
  const { method } = settings.reload;
  const need = (key: 'wsgi' | 'pidfile' | 'command', what: string): string => {
    const value = settings.reload[key];
    if (value === undefined) {
      throw new HgreloadError('settings', `reload method "${method}" needs "${key}" in [reload]${settings.file === undefined ? '' : ` of ${settings.file}`}`, {
        hint: `set ${key} = ${what}`,
      });
    }
    return value;
  };
  switch (method) {
    case 'touch': {
      const wsgi = need('wsgi', 'the hgweb WSGI script whose mtime mod_wsgi watches');
      return { method, reload: () => touchScript(wsgi) };
    }
    case 'signal': {
      const pidfile = need('pidfile', 'the web server\'s pidfile, e.g. /run/apache2/apache2.pid');
      const signal = checkSignalName(settings.reload.signal);
      return { method, reload: () => signalFromPidfile(pidfile, signal) };
    }
    case 'command': {
      const argv = splitArgv(need('command', 'a command line, run without a shell'));
      return { method, reload: () => runCommand(argv, { timeoutMs: commandTimeoutMs }) };
    }
    case 'publish': {
      const publisher = new Publisher(publishFolder(settings));
      return { method, reload: (change, whole) => publisher.publish(change, whole) };
    }
  }
}
