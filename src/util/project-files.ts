import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A file shipped with hgreload (such as hooks/hgweb_wsgi.py), found from the built code in dist/src/util/. */
export function projectFile(relative: string): string {
  return fileURLToPath(new URL(`../../../${relative}`, import.meta.url));
}

/** This hgreload's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(projectFile('package.json'), 'utf8')) as { version: string }).version;
}
