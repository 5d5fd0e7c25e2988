/**
 * hgreload's addon (src/native/*.c, built by `npm install`), or why it cannot
 * be used: where it was not built (no C compiler at install time), the
 * daemon watches through fs.watch and lists folders through Node's readdir.
 */
import { createRequire } from 'node:module';
import { constants } from 'node:os';

/** A path as fs-names.ts's fsPath gives it: the string, or its bytes where it is not UTF-8. */
export type FsPath = string | Buffer;

export interface AddonBinding {
  /** inotify.c */
  open(onEvents: (records: Buffer) => void): object | number;
  add(handle: object, paths: readonly FsPath[], mask: number, sinceMs?: number, changed?: Uint8Array): number[];
  remove(handle: object, wd: number): number;
  close(handle: object): void;
  /** listing.c */
  list(path: FsPath, reader?: object): [dirs: string[], links: string[], patchQueue: boolean] | number | null;
  read(path: FsPath): Promise<[dirs: string[], links: string[], patchQueue: boolean] | number | null>;
  differ(path: FsPath, known: string | object): Promise<string[] | number | null>;
  table(known: string): object;
  tableSet(table: object, name: string, present: boolean): void;
  tableNames(table: object): string[];
  reader(): object;
  ahead(reader: object, paths: FsPath[]): void;
  end(reader: object): void;
  /** stamps.c */
  changedSince(paths: FsPath[], sinceMs: number): number[];
  /** addon.c: gives the C heap's free memory back to the system (glibc); whether any went back. */
  trimHeap(): boolean;
}

/** Where `npm install` builds the addon, from dist/src/native/ or src/native/. */
const ADDON = '../../../src/native/build/Release/hgreload.node';

let binding: AddonBinding | Error | undefined;

export function nativeAddon(): AddonBinding | Error {
  if (binding === undefined) {
    const file = new URL(ADDON, import.meta.url).pathname;
    try {
      binding = createRequire(import.meta.url)(file) as AddonBinding;
    } catch (err) {
      // Node's message goes on with the require stack: the first line says what is wrong.
      const why = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' ? `no ${file}` : String((err as Error).message ?? err).split('\n', 1)[0]!;
      binding = new Error(why, { cause: err });
    }
  }
  return binding;
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** An error as Node's fs calls make them: `code` the errno's name. */
export function errnoError(errno: number, call: string, path?: FsPath): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errno) ?? `E${errno}`;
  const where = path === undefined ? '' : ` '${path.toString()}'`;
  return Object.assign(new Error(`${code}: ${call}${where}`), { code, errno: -errno, syscall: call });
}
