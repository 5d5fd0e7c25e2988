/** What `hgreload doctor` reports: one finding per check, with the fix when something is wrong. */
export type Level = 'ok' | 'info' | 'warn' | 'fail';

export interface Finding {
  readonly check: string;
  readonly level: Level;
  readonly message: string;
  readonly fix?: string;
}

export const ok = (check: string, message: string): Finding => ({ check, level: 'ok', message });
export const info = (check: string, message: string): Finding => ({ check, level: 'info', message });
export const warn = (check: string, message: string, fix: string): Finding => ({ check, level: 'warn', message, fix });
export const fail = (check: string, message: string, fix: string): Finding => ({ check, level: 'fail', message, fix });
