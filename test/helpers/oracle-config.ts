/** Batched calls of Mercurial's own config reader and list parser (test/oracle/hgconfig.py). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT, SYSTEM_PYTHON } from './run.js';

export type ConfigRequest = { file: string; remap?: Record<string, string> } | { list: string };
export type ConfigAnswer =
  | { sections: Record<string, Array<[string, string]>> }
  | { error: string; location: string }
  | string[];

/** Asks Mercurial; strings are latin-1 on both sides, so compare bytes with bytes. */
export function askMercurial(requests: readonly ConfigRequest[]): ConfigAnswer[] {
  const r = spawnSync(SYSTEM_PYTHON, [join(PROJECT_ROOT, 'test/oracle/hgconfig.py')], {
    input: JSON.stringify(requests),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`hgconfig.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ConfigAnswer[];
}

/** A JavaScript string as the latin-1 spelling of its UTF-8 bytes, as the oracle answers. */
export const asBytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
