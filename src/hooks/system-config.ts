/**
 * The system-wide Mercurial configuration, as every Mercurial on this host
 * reads it (mercurial/rcutil.py): `$HGRCPATH` when set (files, and folders of
 * `*.rc` files), else `/etc/mercurial/hgrc` and `/etc/mercurial/hgrc.d/*.rc`,
 * whatever their owner (only repositories' and users' files must be trusted).
 */
import { readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { readMercurialConfig, type ConfigValue } from '../config/hgrc-reader.js';
import { HOOK_NAME } from './hgrc-edit.js';

/** Where `install-hooks --system` writes: a file of its own, read by every Mercurial here. */
export const SYSTEM_HOOK_FILE = '/etc/mercurial/hgrc.d/hgreload.rc';

export function systemRcFiles(env: Readonly<Record<string, string | undefined>>): string[] {
  const entries = env.HGRCPATH !== undefined ? env.HGRCPATH.split(delimiter).filter((p) => p !== '') : ['/etc/mercurial/hgrc', '/etc/mercurial/hgrc.d'];
  const files: string[] = [];
  for (const entry of entries) {
    try {
      if (statSync(entry).isDirectory()) {
        files.push(...readdirSync(entry).filter((f) => f.endsWith('.rc')).sort().map((f) => join(entry, f)));
      } else {
        files.push(entry);
      }
    } catch {
      // absent: nothing to read
    }
  }
  return files;
}

/** The hgreload hook line in force for every repository of the host (the last file to set it wins), or undefined. */
export function systemHook(env: Readonly<Record<string, string | undefined>>): ConfigValue | undefined {
  let found: ConfigValue | undefined;
  for (const file of systemRcFiles(env)) {
    try {
      found = readMercurialConfig(file).config.get('hooks', HOOK_NAME) ?? found;
    } catch {
      // Mercurial warns about such a file and goes on.
    }
  }
  return found;
}
