/**
 * Which repositories hgweb serves for an hgweb.config: mercurial/hgweb/hgwebdir_mod.py
 * `refresh`, `findrepos`, `urlrepos` and `cleannames`, over our port of the walk.
 */
import { HgreloadError, errnoCode, strerror } from '../errors.js';
import type { MercurialConfig } from '../config/hgrc-reader.js';
import { parseList } from '../config/parse-list.js';
import { abspath, normpath, physicalAbsolute, split, stripSlashes } from '../config/paths.js';
import { walkFsFor, type WalkFs } from './dir-reader.js';
import { MountTable } from './mount-table.js';
import { WalkFailure, walkRepos, type WalkOptions } from './walk-repos.js';
import { append } from '../util/append.js';

export interface ServedRepo {
  readonly name: string;
  readonly path: string;
}

/** One place repositories come from, in hgweb's order. */
export type Root =
  /** `[paths]` entry not ending in `*` or `**`: served as written, repository or not. */
  | { readonly kind: 'plain'; readonly prefix: string; readonly path: string; readonly source: string }
  /** `[paths]` entry ending in `/*` (recurse false) or `/**`; `folder` is absolute and normalised. */
  | { readonly kind: 'walk'; readonly prefix: string; readonly folder: string; readonly recurse: boolean; readonly source: string }
  /** `[collections]` entry: walked as written (relative to the working folder) and named by cutting `prefix`. */
  | { readonly kind: 'collection'; readonly prefix: string; readonly folder: string; readonly source: string };

/** The section hgweb reads [paths] of hgweb.config into, so that global [paths] stay out. */
export const HGWEB_PATHS_SECTION = 'hgweb-paths';
export const HGWEB_REMAP: Readonly<Record<string, string>> = { paths: HGWEB_PATHS_SECTION };

/** The roots an hgweb.config names, in hgweb's order. `cwd` stands for the hgweb process's working folder. */
export function configuredRoots(config: MercurialConfig, cwd: string): Root[] {
  const roots: Root[] = [];
  for (const [key, { value, source }] of config.items(HGWEB_PATHS_SECTION)) {
    const prefix = stripSlashes(key);
    for (const path of parseList(value)) {
      const [head, tail] = split(path);
      if (tail === '*' || tail === '**') {
        roots.push({ kind: 'walk', prefix, folder: normpath(abspath(head, cwd)), recurse: tail === '**', source });
      } else {
        roots.push({ kind: 'plain', prefix, path, source });
      }
    }
  }
  for (const [prefix, { value, source }] of config.items('collections')) {
    roots.push({ kind: 'collection', prefix, folder: value, source });
  }
  return roots;
}

export interface DiscoverOptions {
  readonly cwd: string;
  /** File system access; by default chosen per root for its file system (see walkFsFor). */
  readonly fs?: WalkFs;
  readonly mounts?: MountTable;
  /** A walk of every root in the background: see WalkOptions.hold. */
  readonly hold?: () => Promise<void> | undefined;
}

/** A root whose walk fails: hgweb then fails every request. */
export interface RootError {
  readonly root: WalkedRoot;
  readonly error: HgreloadError;
}

/** What one root gives: its repositories and watched folders, or why its walk failed. */
export type RootResult =
  | {
      readonly root: Root;
      readonly repos: readonly ServedRepo[];
      readonly folders: readonly string[];
      /** The walk followed a symlink to a folder (see WalkResult.links). */
      readonly links: boolean;
      /** The top, resolved as the walk began ('' for a plain entry). */
      readonly canonical: string;
    }
  | RootError;

export interface Discovery {
  /** Each root's part, in hgweb's order. */
  readonly results: RootResult[];
  /** What hgweb serves; with `errors`, what it would serve once they are fixed. */
  readonly repos: readonly ServedRepo[];
  readonly errors: RootError[];
  /** Resolved folders where a new repository would appear (see WalkResult), each once. */
  readonly folders: readonly string[];
}

/** The repositories of every root, walked in parallel and listed in hgweb's order. */
export async function discover(roots: readonly Root[], options: DiscoverOptions): Promise<Discovery> {
  const mounts = options.mounts ?? MountTable.fromSystem();
  const results = await Promise.all(
    roots.map(async (root): Promise<RootResult> => {
      if (root.kind === 'plain') return { root, repos: [{ name: root.prefix, path: root.path }], folders: [], links: false, canonical: '' };
      try {
        const found = await walkRepos(root.folder, recurses(root), walkOptions(root, options, mounts));
        return { root, repos: nameRepos(root, found.repos), folders: found.folders, links: found.links, canonical: found.canonical };
      } catch (err) {
        if (err instanceof WalkFailure) return { root, error: walkError(root, err) };
        throw err;
      }
    }),
  );
  return combine(results);
}

export type WalkedRoot = Exclude<Root, { kind: 'plain' }>;

/** Whether the walk goes on into repositories' working folders (`**`). */
export function recurses(root: WalkedRoot): boolean {
  return root.kind === 'walk' && root.recurse;
}

/** How a root's folders are read: walks open their folder as written, relative to the working folder (a collection's value is not normalised). */
export function walkOptions(root: WalkedRoot, options: DiscoverOptions, mounts: MountTable): WalkOptions {
  const resolve = (path: string) => physicalAbsolute(path, options.cwd);
  return { fs: options.fs ?? walkFsFor(resolve(root.folder)), mounts, resolve, ...(options.hold === undefined ? {} : { hold: options.hold }) };
}

/** hgweb's names for the repositories a root's walk found (walk paths, as walkRepos gives them). */
export function nameRepos(root: WalkedRoot, paths: readonly string[]): ServedRepo[] {
  return root.kind === 'walk' ? urlRepos(root.prefix, root.folder, paths) : collectionRepos(root.prefix, paths);
}

/** The served list, errors and watched folders of per-root results, in hgweb's order. */
export function combine(results: RootResult[]): Discovery {
  const good = results.filter((r) => !('error' in r));
  // One root (the usual hgweb.config): its own lists, held as they are rather than copied (100,000
  // entries each); its folders are each once already, as a walk meets a folder once (checked: a
  // Set made and dropped here costs less than a copy kept).
  const only = good.length === 1 && !('error' in good[0]!) ? good[0] : undefined;
  if (only !== undefined && new Set(only.folders).size === only.folders.length) {
    return { results, repos: only.repos, errors: results.filter((r): r is RootError => 'error' in r), folders: only.folders };
  }
  const repos: ServedRepo[] = [];
  const errors: RootError[] = [];
  const folders = new Set<string>();
  for (const r of results) {
    if ('error' in r) {
      errors.push(r);
    } else {
      append(repos, r.repos);
      for (const f of r.folders) folders.add(f);
    }
  }
  return { results, repos, errors, folders: [...folders] };
}

function urlRepos(prefix: string, head: string, paths: readonly string[]): ServedRepo[] {
  // Under a prefix of only slashes (`/ = ...`) the name is the path's own tail, held as a slice of it: no string of its own.
  const bare = stripSlashes(prefix) === '';
  return paths.map((p) => {
    const path = normpath(p);
    const tail = stripSlashes(path.slice(head.length), 'left');
    return { name: bare ? stripSlashes(tail) : stripSlashes(`${prefix}/${tail}`), path };
  });
}

function collectionRepos(prefix: string, paths: readonly string[]): ServedRepo[] {
  return paths.map((p) => {
    const path = normpath(p);
    const name = path.startsWith(prefix) ? path.slice(prefix.length) : path;
    return { name: stripSlashes(name, 'left'), path };
  });
}

function walkError(root: WalkedRoot, failure: WalkFailure): HgreloadError {
  const what = root.kind === 'walk' ? 'root' : 'collection';
  const at = `${root.source}: ${what} ${root.folder}`;
  const consequence = 'hgweb fails every request until this is fixed';
  if (failure.path === root.folder && errnoCode(failure.error) === 'ENOENT') {
    return new HgreloadError('root-missing', `${at} does not exist`, {
      hint: `${consequence}: create the folder or correct the entry`,
      cause: failure.error,
    });
  }
  return new HgreloadError('walk', `${at}: cannot read ${failure.path} (${strerror(failure.error)})`, {
    file: root.source,
    hint: `hgweb's walk stops here too, so ${consequence}`,
    cause: failure.error,
  });
}
