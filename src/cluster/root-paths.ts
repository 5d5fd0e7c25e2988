/**
 * Where a change is, said so that every host can find it through its own
 * mount: hosts mount the shared store where they like, but they serve the
 * same hgweb.config, so a change is named by its root (the root's kind and
 * hgweb prefix) and its path below that root's folder.
 *
 * An event names the entry that changed: a repository added or removed, a
 * folder where repositories may appear added or removed. Removals below
 * another removal are left out: the receiving host looks at the outermost
 * one, and what was below it goes with it.
 */
import { join, sep } from 'node:path';
import { physicalAbsolute } from '../config/paths.js';
import type { Root, RootResult } from '../discovery/served-repos.js';
import type { ListChange } from '../model/served-list.js';
import { outermost } from '../util/outermost.js';
import type { EventKind, NewEvent } from './event-log.js';

/** The name of a root that every host serving the same hgweb.config gives it. */
export function rootKey(root: Root): string {
  return `${root.kind}:${root.prefix}`;
}

interface Place {
  readonly key: string;
  /** As the list's paths are written (walks join names to the root's folder as written). */
  readonly written: string;
  /** As folders to watch are written: resolved. */
  readonly resolved: string;
}

export class RootPaths {
  private readonly places: readonly Place[];

  constructor(
    results: readonly RootResult[],
    private readonly cwd: string,
  ) {
    this.places = results.map((r) => {
      const written = physicalAbsolute(r.root.kind === 'plain' ? r.root.path : r.root.folder, cwd);
      const resolved = 'canonical' in r && r.canonical !== '' ? r.canonical : written;
      return { key: rootKey(r.root), written, resolved };
    });
  }

  /** The events that tell another host of `change` and of the folders added and removed (resolved paths). */
  events(change: ListChange, folders: { readonly added: readonly string[]; readonly removed: readonly string[] }): NewEvent[] {
    const added: [string, EventKind][] = [];
    const removed: [string, EventKind][] = [];
    for (const splice of change.splices) {
      for (const repo of splice.removed) removed.push([physicalAbsolute(repo.path, this.cwd), 'repository removed']);
      for (const repo of splice.inserted) added.push([physicalAbsolute(repo.path, this.cwd), 'repository added']);
    }
    const events = new Map<string, NewEvent>();
    const add = (path: string, kind: EventKind, side: 'written' | 'resolved'): void => {
      const place = this.places.find((p) => within(p[side], path));
      if (place === undefined) return;
      const folder = path === place[side] ? '' : path.slice(place[side].length + 1);
      events.set(`${place.key}\0${folder}`, { root: place.key, folder, kind });
    };
    const gone = new Set(outermost([...removed.map(([p]) => p), ...folders.removed]));
    for (const [path, kind] of removed) if (gone.has(path)) add(path, kind, 'written');
    for (const path of folders.removed) if (gone.has(path)) add(path, 'folder removed', 'resolved');
    for (const [path, kind] of added) add(path, kind, 'written');
    for (const path of folders.added) add(path, 'folder added', 'resolved');
    return [...events.values()];
  }

  /** Where the entry an event names is on this host: undefined for a root this host does not serve. */
  path(event: Pick<NewEvent, 'root' | 'folder'>): string | undefined {
    const place = this.places.find((p) => p.key === event.root);
    if (place === undefined || event.folder.split('/').some((part) => part === '..' || part === '.')) return undefined;
    return event.folder === '' ? place.resolved : join(place.resolved, event.folder);
  }
}

function within(top: string, path: string): boolean {
  return path === top || path.startsWith(top.endsWith(sep) ? top : top + sep);
}
