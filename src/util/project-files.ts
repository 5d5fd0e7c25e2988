import { fileURLToPath } from 'node:url';

/** A file shipped with hgreload (such as hooks/hgweb_wsgi.py), found from the built code in dist/src/util/. */
export function projectFile(relative: string): string {
  return fileURLToPath(new URL(`../../../${relative}`, import.meta.url));
}
