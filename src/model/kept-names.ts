/**
 * The names a root's model knows in its large watched folders, kept between
 * polls as tables in the addon: a change that only a poll finds in a folder
 * of 20,000 names then costs the folder's read, not 20,000 names gathered,
 * joined and handed over (3 ms of the main thread, and the garbage).
 *
 * A table is right only if every change of the model that can add or take
 * away one of its names says so (touch), or drops it (forget). The model
 * says which names; a touched name's presence is asked again (knows) when the
 * table is next used, so a name touched for nothing costs a lookup.
 */
import type { NameTable } from '../native/listing.js';

/** Names joined for one comparison, or a kept table. */
export type Known = readonly string[] | NameTable;

/** A folder's table, and what changed since it was last brought up to date. */
interface Kept {
  readonly table: NameTable;
  readonly touched: Set<string>;
  /** Comparisons reading the table: it must not change meanwhile (the addon reads it on another thread). */
  reading: number;
}

export class KeptNames {
  private readonly kept = new Map<string, Kept>();

  /** `make`: a table of these names, or undefined where one is not worth keeping (or cannot be made). */
  constructor(private readonly make: ((names: readonly string[]) => NameTable | undefined) | undefined) {}

  /**
   * `compare` run with `folder`'s known names: its table, brought up to
   * date; or, where there is none to use (too few names, none made, one read
   * by another comparison), the names `known` gathers. `knows` says whether
   * the model knows a name there now.
   */
  async compare<T>(folder: string, known: () => string[], knows: (name: string) => boolean, compare: (known: Known) => Promise<T>): Promise<T> {
    let kept = this.kept.get(folder);
    if (kept !== undefined && kept.reading > 0) return compare(known());
    if (kept !== undefined && !brought(kept, knows)) {
      this.kept.delete(folder);
      kept = undefined;
    }
    if (kept === undefined) {
      const names = known();
      const table = this.make?.(names);
      if (table === undefined) return compare(names);
      kept = { table, touched: new Set(), reading: 0 };
      this.kept.set(folder, kept);
    }
    kept.reading++;
    try {
      return await compare(kept.table);
    } finally {
      kept.reading--;
    }
  }

  /** Whether no table is kept (nothing to touch). */
  get none(): boolean {
    return this.kept.size === 0;
  }

  /** `name` may have come or gone in `folder`. */
  touch(folder: string, name: string): void {
    this.kept.get(folder)?.touched.add(name);
  }

  /** `folder` is no longer watched, or is another folder now. */
  forget(folder: string): void {
    this.kept.delete(folder);
  }

  /** The names of `folder`'s table as it stands, for tests: undefined where none is kept. */
  tableOf(folder: string, knows: (name: string) => boolean): string[] | undefined {
    const kept = this.kept.get(folder);
    return kept === undefined || kept.reading > 0 || !brought(kept, knows) ? undefined : kept.table.names();
  }

  /** The folders with a table. */
  folders(): string[] {
    return [...this.kept.keys()];
  }
}

/** Applies the touched names to the table; false where it cannot hold one (drop it). */
function brought(kept: Kept, knows: (name: string) => boolean): boolean {
  for (const name of kept.touched) if (!kept.table.set(name, knows(name))) return false;
  kept.touched.clear();
  return true;
}
