/**
 * The hook module Mercurial runs on every push (hooks/hgreload_hook.py), with
 * its settings filled in, kept in the state folder where every pusher can read
 * it; each repository's hgrc names it as a `python:` hook.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HgreloadError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { projectFile } from '../util/project-files.js';

export const HOOK_TEMPLATE = 'hooks/hgreload_hook.py';
export const HOOK_FILE = 'hgreload_hook.py';

export function hookValue(stateDir: string): string {
  return `python:${join(stateDir, HOOK_FILE)}:changegroup`;
}

export function renderHook(socket: string, fallback: readonly string[]): string {
  const template = readFileSync(projectFile(HOOK_TEMPLATE), 'utf8');
  // JSON literals are Python literals for strings and lists of strings.
  const settings = [`SOCKET = ${JSON.stringify(socket)}`, `FALLBACK = ${JSON.stringify(fallback)}`];
  let replaced = 0;
  const script = template.replace(/^(SOCKET|FALLBACK) = .*$/gm, (line) => settings[replaced++] ?? line);
  if (replaced !== 2) throw new HgreloadError('internal', `${HOOK_TEMPLATE} has lost its settings block`);
  return script;
}

export async function writeHook(stateDir: string, socket: string, fallback: readonly string[]): Promise<string> {
  const path = join(stateDir, HOOK_FILE);
  await writeFileAtomic(path, renderHook(socket, fallback), { mode: 0o644 });
  return path;
}
