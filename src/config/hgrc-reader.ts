/**
 * Reads a Mercurial config file with its `%include`s into a layered config,
 * the way `ui.readconfig` does (mercurial/config.py `read`/`parse`).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { HgreloadError, errnoCode, strerror } from '../errors.js';
import { expandpath, homeFromPasswd, type ExpandContext } from './expand-path.js';
import { classifyLines } from './hgrc-lines.js';
import { dirname, join, normpath } from './paths.js';

export interface ConfigValue {
  readonly value: string;
  /** FILE:LINE of the line that set it (the last continuation line for a continued value). */
  readonly source: string;
}

/**
 * Sections of name -> value. As in Mercurial's sortdict, setting a name again
 * moves it to the end of its section, which decides hgweb's order of [paths].
 */
export class MercurialConfig {
  private readonly data = new Map<string, Map<string, ConfigValue>>();

  set(section: string, name: string, value: string, source: string): void {
    let items = this.data.get(section);
    if (items === undefined) this.data.set(section, (items = new Map()));
    items.delete(name);
    items.set(name, { value, source });
  }

  get(section: string, name: string): ConfigValue | undefined {
    return this.data.get(section)?.get(name);
  }

  unset(section: string, name: string): void {
    this.data.get(section)?.delete(name);
  }

  /** Items of a section in Mercurial's order. */
  items(section: string): Array<[string, ConfigValue]> {
    return [...(this.data.get(section) ?? [])];
  }

  sections(): string[] {
    return [...this.data.keys()].sort();
  }
}

export interface ReadDeps {
  readonly readFile: (path: string) => Buffer;
  readonly expand: ExpandContext;
}

export const defaultReadDeps: ReadDeps = {
  readFile: (path) => readFileSync(path),
  expand: {
    env: process.env,
    homedir,
    userHome: (user) => {
      try {
        return homeFromPasswd(readFileSync('/etc/passwd', 'utf8'), user);
      } catch {
        return undefined; // no passwd file: Python's expanduser leaves "~user" as it is
      }
    },
  },
};

export interface ReadOptions {
  /** Section renames applied to this file and its includes (hgweb reads [paths] as [hgweb-paths]). */
  readonly remap?: Readonly<Record<string, string>>;
  readonly deps?: ReadDeps;
}

export interface ConfigFileRef {
  readonly path: string;
  /** false for an `%include` whose file does not exist (Mercurial skips it; a watcher waits for it). */
  readonly exists: boolean;
}

export interface ReadResult {
  readonly config: MercurialConfig;
  /** The file itself and every include it named, in reading order. */
  readonly files: readonly ConfigFileRef[];
}

// Mercurial has no guard and dies with a RecursionError; we name the loop instead.
const MAX_INCLUDE_DEPTH = 50;

/**
 * Reads `path`. The top file must exist and be readable: hgweb aborts on a
 * missing one and silently serves nothing from an unreadable one, both of which
 * an administrator needs to hear about.
 */
export function readMercurialConfig(path: string, options: ReadOptions = {}): ReadResult {
  const deps = options.deps ?? defaultReadDeps;
  const remap = options.remap ?? {};
  const config = new MercurialConfig();
  const files: ConfigFileRef[] = [];

  let top: Buffer;
  try {
    top = deps.readFile(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new HgreloadError('config-missing', `config file ${path} not found!`, {
        file: path,
        hint: 'hgweb refuses to start without it: check the path given with --web-conf or "webconf"',
        cause: err,
      });
    }
    throw new HgreloadError('config-unreadable', `cannot read ${path} (${strerror(err)})`, {
      file: path,
      hint: 'hgweb silently serves nothing from a config file it cannot read',
      cause: err,
    });
  }
  files.push({ path, exists: true });

  const parse = (src: string, data: Buffer, depth: number): void => {
    let section = remap[''] ?? '';
    let item: string | undefined;
    for (const line of classifyLines(data.toString('utf8'))) {
      const where = `${src}:${line.number}`;
      switch (line.kind) {
        case 'comment':
          break;
        case 'continuation': {
          const previous = config.get(section, item!)?.value ?? '';
          config.set(section, item!, `${previous}\n${line.value!}`, where);
          break;
        }
        case 'include': {
          const expanded = expandpath(line.name!, deps.expand);
          const target = normpath(join(dirname(src), expanded));
          if (depth >= MAX_INCLUDE_DEPTH) {
            throw new HgreloadError('include', `parse error at ${where}: %include nested too deeply (a loop?) at ${target}`, {
              file: src,
              line: line.number,
            });
          }
          let included: Buffer | undefined;
          try {
            included = deps.readFile(target);
          } catch (err) {
            if (errnoCode(err) !== 'ENOENT') {
              throw new HgreloadError('include', `parse error at ${where}: cannot include ${expanded} (${strerror(err)})`, {
                file: src,
                line: line.number,
                cause: err,
              });
            }
          }
          files.push({ path: target, exists: included !== undefined });
          if (included !== undefined) parse(target, included, depth + 1);
          break;
        }
        case 'section':
          section = remap[line.name!] ?? line.name!;
          break;
        case 'item':
          item = line.name!;
          config.set(section, item, line.value!, where);
          break;
        case 'unset':
          config.unset(section, line.name!);
          break;
        case 'error':
          throw new HgreloadError('parse', `parse error at ${where}: ${line.message!}`, {
            file: src,
            line: line.number,
            hint: 'Mercurial rejects this line too, so hgweb would fail on this file',
          });
      }
    }
  };
  parse(path, top, 0);
  return { config, files };
}

