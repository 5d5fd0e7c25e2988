/**
 * `publish`: the served list for the WSGI script, as a snapshot and a journal.
 *
 * The snapshot (served.list) holds the whole list; the journal
 * (served.journal) the changes since, one line each, that a WSGI process
 * applies in time that follows the change, not the list: at 100,000
 * repositories re-reading the whole list cost a WSGI process 0.45 s per
 * change, holding every request of that process. Both files are replaced
 * atomically when a snapshot is written; the journal grows by appends of whole
 * lines, and a reader takes only complete lines. Each snapshot has a new
 * generation, which the journal's first line names: a journal of another
 * generation is not applied (the reader sees the new snapshot first).
 */
import { appendFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { HgreloadError, strerror } from '../errors.js';
import type { Settings } from '../config/settings.js';
import type { ServedRepo } from '../discovery/served-repos.js';
import type { ListChange, ServedList } from '../model/served-list.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { fsPath } from '../discovery/fs-names.js';

export const PUBLISHED_FILE = 'served.list';
/**
 * The snapshot of hgreload before format 3. Removed when a snapshot is
 * written, so that a WSGI script of that version says in the error log that it
 * cannot read its list (and `doctor` says to write the script again), rather
 * than serving that file's list for good.
 */
const FORMAT_2_FILE = 'served.json';
export const JOURNAL_FILE = 'served.journal';
/** The journal is folded into a new snapshot once it is this large, or half the snapshot's size if more. */
const JOURNAL_MIN_BYTES = 64 * 1024;

/** Where `publish` writes: the shared store's folder when front ends mount it ([shared] folder), else the state folder. */
export function publishFolder(settings: Settings): string {
  return settings.shared.folder ?? settings.reload.state;
}

/** The published snapshot, as the daemon writes it and the WSGI script reads it. */
export function publishedFile(settings: Settings): string {
  return join(publishFolder(settings), PUBLISHED_FILE);
}

/**
 * The snapshot's first line; `format` changes only when the WSGI side must
 * change with it (2: with a journal; 3: entries as bytes after this line).
 * Then, for each repository, its name and its path as the exact bytes of the
 * file system, each ended by a NUL, which no name or path can hold: a WSGI
 * process reads 100,000 entries with one split, where a JSON object per entry
 * took it 0.3-0.45 s. `repos` (their number) tells a file cut short.
 */
export interface PublishedHeader {
  readonly format: 3;
  readonly generation: string;
  readonly generated: string;
  readonly repos: number;
}

/**
 * A journal line. The first names the snapshot it follows; each after it is
 * one change: its number (1, 2, ... after that first line) and the length of
 * the list it applies to, so that a reader can check it holds that list,
 * then the splices, in order, as [at, how many removed, [[name, path], ...] inserted].
 */
export type JournalEntry =
  | { readonly generation: string }
  | { readonly n: number; readonly size: number; readonly splices: ReadonlyArray<readonly [number, number, ReadonlyArray<readonly [string, string]>]> };

/** Writes a snapshot of `repos` and an empty journal after it; returns the log line. */
export async function publishList(folder: string, repos: readonly ServedRepo[], now: Date = new Date()): Promise<string> {
  await writeSnapshot(folder, repos, now);
  return `published ${repos.length} repositories to ${join(folder, PUBLISHED_FILE)}`;
}

async function writeSnapshot(folder: string, repos: readonly ServedRepo[], now: Date): Promise<{ bytes: number }> {
  const generation = `${now.getTime().toString(36)}-${randomBytes(4).toString('hex')}`;
  const header: PublishedHeader = { format: 3, generation, generated: now.toISOString(), repos: repos.length };
  let bytes = 0;
  const counted = function* (): Iterable<Buffer> {
    for (const chunk of snapshotChunks(header, repos)) {
      bytes += chunk.length;
      yield chunk;
    }
  };
  // World-readable: the web server's user reads them. The snapshot first: a reader that sees the
  // new journal sees the new snapshot too.
  await guarded(join(folder, PUBLISHED_FILE), (path) => writeFileAtomic(path, counted(), { mode: 0o644 }));
  await guarded(join(folder, JOURNAL_FILE), (path) => writeFileAtomic(path, line({ generation }), { mode: 0o644 }));
  await rm(join(folder, FORMAT_2_FILE), { force: true });
  return { bytes };
}

/** Bytes of the snapshot made at a time: the whole list at 100,000 repositories was 10 MB kept until V8 next collected. */
const CHUNK_CHARS = 1 << 20;

/** The header line, then `name\0path\0` per repository, in bytes. */
export function snapshotBytes(header: PublishedHeader, repos: readonly ServedRepo[]): Buffer {
  return Buffer.concat([...snapshotChunks(header, repos)]);
}

/** snapshotBytes in pieces of about CHUNK_CHARS, in order. A field that holds a NUL is refused. */
function* snapshotChunks(header: PublishedHeader, repos: readonly ServedRepo[]): Iterable<Buffer> {
  yield Buffer.from(`${JSON.stringify(header)}\n`);
  // Runs of entries as one string, cut where a name's bytes are not UTF-8 (see fs-names.ts) or the run is long.
  let run = '';
  for (const { name, path } of repos) {
    for (const field of [name, path]) {
      if (field.includes('\0')) throw new HgreloadError('reload', `cannot publish ${JSON.stringify(field)}: it holds a NUL byte`);
      const bytes = fsPath(field);
      if (typeof bytes === 'string') run += `${bytes}\0`;
      else {
        yield Buffer.concat([Buffer.from(run), bytes, NUL]);
        run = '';
      }
    }
    if (run.length >= CHUNK_CHARS) {
      yield Buffer.from(run);
      run = '';
    }
  }
  yield Buffer.from(run);
}

const NUL = Buffer.of(0);

const line = (entry: JournalEntry): string => `${JSON.stringify(entry)}\n`;

async function guarded(path: string, write: (path: string) => Promise<void>): Promise<void> {
  try {
    await write(path);
  } catch (err) {
    if (err instanceof HgreloadError) throw err; // the list's own fault (a NUL in a name), said as it is
    throw new HgreloadError('reload', `cannot publish ${path} (${strerror(err)})`, {
      hint: 'the state folder ("state" in [reload]), or [shared] folder, must exist and be writable by the daemon\'s user',
      cause: err,
    });
  }
}

/**
 * The daemon's publisher: a change to the very list it last wrote goes to the
 * journal; anything else (its first publish, a failed write before, a forced
 * reload, a journal grown large) writes a snapshot.
 */
export class Publisher {
  /** The list the files hold, when this publisher wrote them (undefined: not known). */
  private holds: ServedList | undefined;
  /** The number of the journal's last line. */
  private lines = 0;
  private snapshotBytes = 0;
  private journalBytes = 0;

  constructor(private readonly folder: string) {}

  /** Makes the files hold `change.after`; `snapshot`: write it whole whatever it changed. */
  async publish(change: ListChange, snapshot = false): Promise<string> {
    const appendable = !snapshot && change.splices.length > 0 && change.before === this.holds;
    this.holds = undefined; // until this write is known to have landed
    if (appendable && this.journalBytes < Math.max(JOURNAL_MIN_BYTES, this.snapshotBytes / 2)) {
      const entry: JournalEntry = {
        n: this.lines + 1,
        size: change.before.repos.length,
        splices: change.splices.map((s) => [s.at, s.removed.length, s.inserted.map((r) => [r.name, r.path] as const)] as const),
      };
      const text = line(entry);
      await guarded(join(this.folder, JOURNAL_FILE), (path) => appendFile(path, text));
      this.lines++;
      this.journalBytes += text.length;
      this.holds = change.after;
      const added = change.splices.reduce((n, s) => n + s.inserted.length, 0);
      const removed = change.splices.reduce((n, s) => n + s.removed.length, 0);
      return `published a change (+${added} -${removed}) to ${join(this.folder, JOURNAL_FILE)}`;
    }
    const { repos } = change.after;
    const { bytes } = await writeSnapshot(this.folder, repos, new Date());
    this.snapshotBytes = bytes;
    this.journalBytes = 0;
    this.lines = 0;
    this.holds = change.after;
    return `published ${repos.length} repositories to ${join(this.folder, PUBLISHED_FILE)}`;
  }
}
