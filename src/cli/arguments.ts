/** Command options that several commands take, checked the same way. */
import { HgreloadError } from '../errors.js';
import { physicalAbsolute } from '../config/paths.js';
import type { CommandContext } from './context.js';

/** `--option`'s value as a whole number from 1 to `max`, or a usage error. */
export function positiveInteger(option: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  if (/^[1-9][0-9]*$/.test(value) && Number(value) <= max) return Number(value);
  const range = max === Number.MAX_SAFE_INTEGER ? 'a positive whole number' : `a whole number from 1 to ${max}`;
  throw new HgreloadError('usage', `--${option} must be ${range}, not "${value}"`, { hint: `e.g. --${option} 2` });
}

/** The WSGI script (`--script`, else "wsgi" in [reload]), absolute; a usage error when neither names one. */
export function requireScript(ctx: CommandContext, script: string | undefined): string {
  const given = script ?? ctx.settings.reload.wsgi;
  if (given !== undefined) return physicalAbsolute(given, ctx.io.cwd);
  throw new HgreloadError('usage', 'no WSGI script given', { hint: 'pass --script PATH, or set "wsgi" in [reload] of the settings file' });
}
