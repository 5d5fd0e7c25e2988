/** hgweb.config in, served repositories out: the reading and walking that `list` and the daemon share. */
import { readMercurialConfig, type ConfigFileRef } from '../config/hgrc-reader.js';
import { configuredRoots, discover, HGWEB_REMAP, type Discovery, type DiscoverOptions, type Root } from './served-repos.js';

export interface ServedState extends Discovery {
  readonly roots: readonly Root[];
  /** hgweb.config and its includes (those missing too): what to watch for edits. */
  readonly configFiles: readonly ConfigFileRef[];
}

export async function loadServed(webconf: string, options: DiscoverOptions): Promise<ServedState> {
  const { config, files } = readMercurialConfig(webconf, { remap: HGWEB_REMAP });
  const roots = configuredRoots(config, options.cwd);
  return { roots, configFiles: files, ...(await discover(roots, options)) };
}
