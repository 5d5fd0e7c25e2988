/**
 * hgreload's own settings file (INI, read with `ini`), parsed once into a
 * frozen, fully defaulted value. Unknown sections and keys are errors that
 * suggest the nearest known name: a typo must not silently fall back to a default.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { parse as parseIni } from 'ini';
import { HgreloadError, errnoCode, strerror } from '../errors.js';
import { nearest } from '../util/nearest.js';
import { physicalAbsolute } from './paths.js';

export const RELOAD_METHODS = ['touch', 'signal', 'command', 'publish'] as const;
export type ReloadMethod = (typeof RELOAD_METHODS)[number];

export interface Settings {
  /** The settings file these came from, or undefined when none was read. */
  readonly file: string | undefined;
  /** The hgweb.config (absolute), when the settings or the command line name one. */
  readonly webconf: string | undefined;
  readonly reload: {
    readonly method: ReloadMethod;
    readonly wsgi: string | undefined;
    readonly pidfile: string | undefined;
    readonly signal: string;
    readonly command: string | undefined;
    readonly state: string;
    readonly debounce: number;
  };
  /** Cron expressions: the lost-change check (folder stamps), and the walk of every root (see daemon/rescans.ts). */
  readonly rescan: { readonly schedule: string; readonly full: string };
  readonly hooks: { readonly auto: boolean };
  /**
   * Polling the folders' change stamps, beside inotify: `auto` for folders on
   * network and FUSE file systems (where inotify does not see other hosts),
   * `always` for every folder, `never`.
   */
  readonly watch: { readonly poll: PollMode; readonly pollInterval: number };
  /**
   * `publish` for several front ends: the list goes to `folder` on the shared
   * store (which every front end mounts) instead of the local state folder;
   * the cluster's leader ([cluster] database) is its one publisher.
   */
  readonly shared: { readonly folder: string | undefined };
  /**
   * The file the daemon keeps its metrics in (Prometheus' text format), for
   * node_exporter's textfile collector: the unit has no network to serve them.
   * No default: no file unless one is named.
   */
  readonly metrics: { readonly file: string | undefined };
  /**
   * Several hosts share changes through PostgreSQL: `database` is a libpq
   * connection string (key=value or a postgresql:// URI) or a service name,
   * never with a password (that stays in a file only the daemon's user can
   * read); `name` is this daemon's in the cluster (the host name by default);
   * a leader silent for `lease` ms loses leadership; while the database is
   * reachable, folders are polled every `pollInterval` ms (other hosts' changes
   * come as events), and every `[watch] poll_interval` ms when it is not.
   */
  readonly cluster: { readonly database: string | undefined; readonly name: string; readonly lease: number; readonly pollInterval: number };
}

export const POLL_MODES = ['auto', 'always', 'never'] as const;
export type PollMode = (typeof POLL_MODES)[number];

export const DEFAULT_SETTINGS_FILE = '/etc/hgreload/hgreload.ini';

const KNOWN: Readonly<Record<string, readonly string[]>> = {
  '': ['webconf'],
  reload: ['method', 'wsgi', 'pidfile', 'signal', 'command', 'state', 'debounce'],
  rescan: ['schedule', 'full'],
  hooks: ['auto'],
  watch: ['poll', 'poll_interval'],
  shared: ['folder'],
  metrics: ['file'],
  cluster: ['database', 'name', 'lease', 'poll_interval'],
};

/** Settings an earlier hgreload knew: what became of them. */
const RETIRED: Readonly<Record<string, { readonly message: string; readonly hint: string }>> = {
  'shared.lease': {
    message: '"lease" in [shared] is gone: a lock file on the shared store is not a lock, and [shared] folder\'s publisher is now the leader elected through [cluster] database',
    hint: 'remove it, set [cluster] database on every host, and [cluster] lease for how long a silent leader keeps its place',
  },
};

type Raw = Record<string, unknown>;

export interface SettingsSource {
  /** -c/--config, then $HGRELOAD_CONFIG; a file named there must exist. */
  readonly explicitFile: string | undefined;
  readonly cwd: string;
  readonly readFile?: (path: string) => string;
}

/** Reads the settings file (the default one only if it exists) and validates it. */
export function loadSettings(source: SettingsSource): Settings {
  const read = source.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const file = physicalAbsolute(source.explicitFile ?? DEFAULT_SETTINGS_FILE, source.cwd);
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    if (source.explicitFile === undefined && errnoCode(err) === 'ENOENT') return parseSettings('', undefined);
    throw new HgreloadError('settings', `cannot read settings file ${file} (${strerror(err)})`, {
      file,
      hint: 'name an existing file with -c/--config or $HGRELOAD_CONFIG',
      cause: err,
    });
  }
  return parseSettings(text, file);
}

export function parseSettings(text: string, file: string | undefined): Settings {
  const raw = parseIni(text) as Raw;
  const where = (section: string, key?: string): string => {
    const line = findLine(text, section, key);
    return `${file ?? '<settings>'}${line === undefined ? '' : `:${line}`}`;
  };
  const fail = (section: string, key: string | undefined, message: string, hint?: string): never => {
    throw new HgreloadError('settings', `bad settings at ${where(section, key)}: ${message}`, {
      ...(file === undefined ? {} : { file }),
      ...(hint === undefined ? {} : { hint }),
    });
  };

  const sections: Record<string, Raw> = { '': {} };
  for (const [key, value] of Object.entries(raw)) {
    if (value !== null && typeof value === 'object') {
      if (!(key in KNOWN) || key === '') {
        const guess = nearest(key, Object.keys(KNOWN).filter(Boolean));
        fail(key, undefined, `unknown section [${key}]`, guess === undefined ? undefined : `did you mean [${guess}]?`);
      }
      sections[key] = value as Raw;
    } else {
      sections['']![key] = value;
    }
  }
  for (const [section, values] of Object.entries(sections)) {
    for (const key of Object.keys(values)) {
      const retired = RETIRED[`${section}.${key}`];
      if (retired !== undefined) fail(section, key, retired.message, retired.hint);
      if (!KNOWN[section]!.includes(key)) {
        const guess = nearest(key, KNOWN[section]!);
        const place = section === '' ? 'at the top' : `in [${section}]`;
        fail(section, key, `unknown setting "${key}" ${place}`, guess === undefined ? undefined : `did you mean "${guess}"?`);
      }
    }
  }

  // Without a file there is no text, so nothing relative to resolve.
  const base = file === undefined ? '/' : dirname(file);
  const str = (section: string, key: string): string | undefined => {
    const v = sections[section]?.[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') return fail(section, key, `"${key}" needs a value`);
    return v.trim();
  };
  const path = (section: string, key: string): string | undefined => {
    const v = str(section, key);
    return v === undefined ? undefined : physicalAbsolute(v, base);
  };

  const method = str('reload', 'method') ?? 'touch';
  if (!(RELOAD_METHODS as readonly string[]).includes(method)) {
    fail('reload', 'method', `unknown reload method "${method}"`, `use one of ${RELOAD_METHODS.join(', ')}`);
  }
  const debounceText = str('reload', 'debounce') ?? '500';
  const debounce = Number(debounceText);
  if (!/^\d+$/.test(debounceText) || debounce > 60_000) {
    fail('reload', 'debounce', `"debounce" must be a whole number of milliseconds up to 60000, not "${debounceText}"`);
  }
  const autoValue = sections.hooks?.auto;
  const auto = autoValue === undefined ? false : parseBool(autoValue);
  if (auto === undefined) fail('hooks', 'auto', `"auto" must be true or false, not "${String(autoValue)}"`);

  const poll = str('watch', 'poll') ?? 'auto';
  if (!(POLL_MODES as readonly string[]).includes(poll)) fail('watch', 'poll', `unknown poll mode "${poll}"`, `use one of ${POLL_MODES.join(', ')}`);
  const millis = (section: string, key: string, fallback: number, min: number, max: number): number => {
    const text = str(section, key) ?? String(fallback);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      fail(section, key, `"${key}" must be a whole number of milliseconds from ${min} to ${max}, not "${text}"`);
    }
    return value;
  };
  const pollInterval = millis('watch', 'poll_interval', 5000, 100, 3_600_000);


  const database = str('cluster', 'database');
  const sharedFolder = path('shared', 'folder');
  if (database !== undefined && holdsPassword(database)) {
    fail(
      'cluster',
      'database',
      '"database" holds a password, which must not sit in the settings file',
      "keep it in the daemon user's ~/.pgpass (or the file $PGPASSFILE names), or in a pg_service.conf only that user can read, and name the service here",
    );
  }

  return deepFreeze({
    file,
    webconf: path('', 'webconf'),
    reload: {
      method: method as ReloadMethod,
      wsgi: path('reload', 'wsgi'),
      pidfile: path('reload', 'pidfile'),
      signal: str('reload', 'signal') ?? 'SIGUSR1',
      command: str('reload', 'command'),
      state: path('reload', 'state') ?? '/var/lib/hgreload',
      debounce,
    },
    rescan: { schedule: str('rescan', 'schedule') ?? '*/10 * * * *', full: str('rescan', 'full') ?? '17 3 * * *' },
    hooks: { auto: auto! },
    watch: { poll: poll as PollMode, pollInterval },
    shared: { folder: sharedFolder },
    metrics: { file: path('metrics', 'file') },
    cluster: {
      database,
      name: str('cluster', 'name') ?? hostname(),
      lease: millis('cluster', 'lease', 10_000, 1000, 600_000),
      pollInterval: millis('cluster', 'poll_interval', 60_000, 100, 3_600_000),
    },
  });
}

/**
 * What the daemon needs beyond what the file says alone (the WSGI script of
 * a front end without a daemon reads [shared] folder with no database).
 */
export function checkDaemonSettings(settings: Settings): void {
  if (settings.shared.folder !== undefined && settings.cluster.database === undefined) {
    throw new HgreloadError('settings', `bad settings in ${settings.file ?? '<settings>'}: [shared] folder needs [cluster] database: the daemons that share the folder elect its one publisher through it`, {
      ...(settings.file === undefined ? {} : { file: settings.file }),
      hint: 'set [cluster] database (a PostgreSQL every host reaches) on every host whose daemon names this folder; or, for one front end, leave [shared] out and publish to the state folder',
    });
  }
}

/** libpq's `password=` keyword (spaces allowed around `=`, and as a URI parameter), or a URI's `user:password@`. */
function holdsPassword(conninfo: string): boolean {
  return /(^|[\s?&])password\s*=/i.test(conninfo) || /^postgres(ql)?:\/\/[^/@]*:[^/@]*@/i.test(conninfo);
}

function parseBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(s)) return true;
  if (['false', 'no', 'off', '0'].includes(s)) return false;
  return undefined;
}

/** The line of `key` in `[section]` (or of the section header), for error messages; `ini` keeps no positions. */
function findLine(text: string, section: string, key: string | undefined): number | undefined {
  let current = '';
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const header = /^\[(.*)\]$/.exec(line);
    if (header) {
      current = header[1]!.trim();
      if (key === undefined && current === section) return i + 1;
    } else if (key !== undefined && current === section && line.split('=')[0]!.trim() === key) {
      return i + 1;
    }
  }
  return undefined;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
