/**
 * Where each connection value came from (the setting, a service file's
 * line, an environment variable), so that an error about a value names the
 * place to correct it.
 */
import { HgreloadError, location } from '../errors.js';

export const SETTING = '[cluster] database';

export interface Sourced {
  readonly value: string;
  /** For messages: "[cluster] database", "service file FILE:LINE", "$PGPORT". */
  readonly from: string;
  readonly file?: string;
  readonly line?: number;
}

export function inSetting(value: string): Sourced {
  return { value, from: SETTING };
}

export function inServiceFile(value: string, file: string, line: number): Sourced {
  return { value, from: `service file ${location(file, line)}`, file, line };
}

export function inEnvironment(value: string, variable: string): Sourced {
  return { value, from: `$${variable}` };
}

export function sourceError(source: Pick<Sourced, 'from' | 'file' | 'line'>, message: string, hint?: string): HgreloadError {
  return new HgreloadError('cluster-settings', `${source.from}: ${message}`, {
    ...(source.file === undefined ? {} : { file: source.file }),
    ...(source.line === undefined ? {} : { line: source.line }),
    ...(hint === undefined ? {} : { hint }),
  });
}

export function settingError(message: string, hint?: string): HgreloadError {
  return sourceError({ from: SETTING }, message, hint);
}
