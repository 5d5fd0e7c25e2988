// TEMPORARY stand-in until helper-conninfo lands (replaced at merge).
import type { ClientConfig } from 'pg';
export function clientConfig(setting: string): ClientConfig {
  if (/^postgres(ql)?:\/\//.test(setting)) return { connectionString: setting };
  const pairs = Object.fromEntries(setting.trim().split(/\s+/).map((kv) => kv.split('=') as [string, string]));
  return { host: pairs.host, user: pairs.user, database: pairs.dbname, application_name: 'hgreload' };
}
