/**
 * Turns the global options into what every command works from: the settings
 * and the hgweb.config to use.
 */
import { HgreloadError } from '../errors.js';
import { physicalAbsolute } from '../config/paths.js';
import { loadSettings, type Settings } from '../config/settings.js';
import type { CliIo } from './io.js';

export interface GlobalOptions {
  readonly config?: string;
  readonly webConf?: string;
  readonly logLevel?: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface CommandContext {
  readonly io: CliIo;
  readonly settings: Settings;
  readonly logLevel: string;
  /** Reads the settings again, with the same -c and -w (the daemon's SIGHUP). */
  readonly reloadSettings: () => Settings;
}

export function commandContext(options: GlobalOptions, io: CliIo): CommandContext {
  const logLevel = options.logLevel ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new HgreloadError('usage', `unknown log level "${logLevel}"`, { hint: `use one of ${LOG_LEVELS.join(', ')}` });
  }
  const reloadSettings = (): Settings => {
    const loaded = loadSettings({ explicitFile: options.config ?? io.env.HGRELOAD_CONFIG, cwd: io.cwd });
    return options.webConf === undefined ? loaded : Object.freeze({ ...loaded, webconf: physicalAbsolute(options.webConf, io.cwd) });
  };
  return { io, settings: reloadSettings(), logLevel, reloadSettings };
}

/** The hgweb.config path, or a usage error saying how to give one. */
export function requireWebConf(ctx: CommandContext): string {
  if (ctx.settings.webconf !== undefined) return ctx.settings.webconf;
  throw new HgreloadError('usage', 'no hgweb.config given', {
    hint: 'pass -w/--web-conf FILE, or set "webconf" in the settings file (-c/--config)',
  });
}
