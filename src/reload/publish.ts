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
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
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
 * change with it (2: with a journal; 3: entries as bytes after this line; 4:
 * an index after them). Then, for each repository, its name and its path as
 * the exact bytes of the file system, each ended by a NUL, which no name or
 * path can hold. Then, from a multiple of 4 bytes, the index, as little-endian
 * uint32s:
 * - `repos + 1` offsets: where each entry starts in the file, then where the
 *   entries end;
 * - `slots` (a power of two over twice `repos`) of a hash table of the names:
 *   0 for an empty slot, else an entry's number plus one, each entry in list
 *   order at the first empty slot from its name's CRC-32 (the zlib one, which
 *   Python has too) masked to the table, on.
 * Last, the CRC-32 of every byte before it: a file cut short, damaged or read
 * torn does not match.
 *
 * With the index, a WSGI process finds a name by reading a few numbers and
 * bytes of the file, and taking a new snapshot is a read of it and a checksum,
 * both without Python's GIL: making a (name, path) pair per entry held the GIL
 * for 70-150 ms at 100,000, and every request thread of the process waited.
 */
export interface PublishedHeader {
  readonly format: 4;
  readonly generation: string;
  readonly generated: string;
  readonly repos: number;
  readonly slots: number;
}

/** What names a snapshot: its generation, and when it was made. */
export interface SnapshotStamp {
  readonly generation: string;
  readonly generated: string;
}

/**
 * A journal line. The first names the snapshot it follows; each after it is
 * one change: its number (1, 2, ... after that first line) and the length of
 * the list it applies to, so that a reader can check it holds that list,
 * then the splices, in order, as [at, [names removed], [[name, path], ...] inserted].
 * The names removed let a reader that keeps no list of its own (the WSGI
 * script reads the snapshot's index) know which names a change takes away.
 */
export type JournalEntry =
  | { readonly generation: string }
  | {
      readonly n: number;
      readonly size: number;
      readonly splices: ReadonlyArray<readonly [number, readonly string[], ReadonlyArray<readonly [string, string]>]>;
    };

/** Writes a snapshot of `repos` and an empty journal after it; returns the log line. */
export async function publishList(folder: string, repos: readonly ServedRepo[], now: Date = new Date()): Promise<string> {
  await writeSnapshot(folder, repos, now);
  return `published ${repos.length} repositories to ${join(folder, PUBLISHED_FILE)}`;
}

async function writeSnapshot(folder: string, repos: readonly ServedRepo[], now: Date): Promise<{ bytes: number }> {
  const stamp: SnapshotStamp = { generation: `${now.getTime().toString(36)}-${randomBytes(4).toString('hex')}`, generated: now.toISOString() };
  let bytes = 0;
  const counted = function* (): Iterable<Buffer> {
    for (const chunk of snapshotChunks(stamp, repos)) {
      bytes += chunk.length;
      yield chunk;
    }
  };
  // World-readable: the web server's user reads them. The snapshot first: a reader that sees the
  // new journal sees the new snapshot too.
  await guarded(join(folder, PUBLISHED_FILE), (path) => writeFileAtomic(path, counted(), { mode: 0o644 }));
  await guarded(join(folder, JOURNAL_FILE), (path) => writeFileAtomic(path, line({ generation: stamp.generation }), { mode: 0o644 }));
  await rm(join(folder, FORMAT_2_FILE), { force: true });
  return { bytes };
}

/** Bytes of the snapshot made at a time: the whole list at 100,000 repositories was 10 MB kept until V8 next collected. */
const CHUNK_CHARS = 1 << 20;

/** The snapshot of `repos` (see PublishedHeader), in bytes. */
export function snapshotBytes(stamp: SnapshotStamp, repos: readonly ServedRepo[]): Buffer {
  return Buffer.concat([...snapshotChunks(stamp, repos)]);
}

/** The hash table's size for `repos` entries: at most half full, so that a name is found in a probe or two. */
export function slotCount(repos: number): number {
  let slots = 2;
  while (slots < 2 * repos) slots *= 2;
  return slots;
}

/** snapshotBytes in pieces of about CHUNK_CHARS, in order. A field that holds a NUL is refused. */
function* snapshotChunks(stamp: SnapshotStamp, repos: readonly ServedRepo[]): Iterable<Buffer> {
  const header: PublishedHeader = { format: 4, ...stamp, repos: repos.length, slots: slotCount(repos.length) };
  const offsets = new Uint32Array(repos.length + 1);
  const hashes = new Uint32Array(repos.length);
  let crc = 0;
  let written = 0;
  const out = (chunk: Buffer): Buffer => {
    crc = crc32(chunk, crc);
    written += chunk.length;
    return chunk;
  };
  yield out(Buffer.from(`${JSON.stringify(header)}\n`));
  // Runs of entries as one string, cut where a name's bytes are not UTF-8 (see fs-names.ts) or the run is long.
  let run = '';
  let runBytes = 0;
  for (let i = 0; i < repos.length; i++) {
    const { name, path } = repos[i]!;
    offsets[i] = written + runBytes;
    for (const [f, field] of [name, path].entries()) {
      if (field.includes('\0')) throw new HgreloadError('reload', `cannot publish ${JSON.stringify(field)}: it holds a NUL byte`);
      const bytes = fsPath(field);
      if (f === 0) hashes[i] = crc32(bytes); // the name's
      if (typeof bytes === 'string') {
        run += `${bytes}\0`;
        runBytes += Buffer.byteLength(bytes) + 1;
      } else {
        yield out(Buffer.concat([Buffer.from(run), bytes, NUL]));
        run = '';
        runBytes = 0;
      }
    }
    if (run.length >= CHUNK_CHARS) {
      yield out(Buffer.from(run));
      run = '';
      runBytes = 0;
    }
  }
  yield out(Buffer.from(run));
  if (written > 0xffffffff) {
    throw new HgreloadError('reload', `cannot publish ${repos.length} repositories: their names and paths take ${written} bytes, more than the snapshot's 32-bit offsets reach`);
  }
  offsets[repos.length] = written;
  yield out(Buffer.alloc((4 - (written % 4)) % 4));
  yield out(littleEndian(offsets));
  yield out(littleEndian(hashTable(hashes, header.slots)));
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(crc);
  yield trailer;
}

/** Each entry (numbered from 1) at the first empty slot from its hash, in list order. */
function hashTable(hashes: Uint32Array, slots: number): Uint32Array {
  const table = new Uint32Array(slots);
  const mask = slots - 1;
  for (let i = 0; i < hashes.length; i++) {
    let at = hashes[i]! & mask;
    while (table[at] !== 0) at = (at + 1) & mask;
    table[at] = i + 1;
  }
  return table;
}

function littleEndian(numbers: Uint32Array): Buffer {
  const bytes = Buffer.from(numbers.buffer, numbers.byteOffset, numbers.byteLength);
  return endianness() === 'LE' ? bytes : Buffer.from(bytes).swap32();
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
        splices: change.splices.map((s) => [s.at, s.removed.map((r) => r.name), s.inserted.map((r) => [r.name, r.path] as const)] as const),
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
