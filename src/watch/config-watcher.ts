/**
 * Watches hgweb.config and its %include files, including includes that do not
 * exist yet (Mercurial skips them; creating one changes the served list).
 * chokidar earns its place here: editors save by writing a new file and
 * renaming it over the old one, and chokidar follows a watched file through
 * that and through its creation and removal. There are only a few such files,
 * so its memory cost (see tree-watcher.ts) does not matter.
 */
import { watch, type FSWatcher } from 'chokidar';

export interface ConfigWatcherOptions {
  readonly onChange: (file: string) => void;
  readonly onError: (err: Error) => void;
  readonly watchFn?: typeof watch;
}

export class ConfigWatcher {
  private readonly watcher: FSWatcher;
  private files = new Set<string>();
  private readonly ready: Promise<void>;
  private closing: Promise<void> | undefined;

  constructor(options: ConfigWatcherOptions) {
    this.watcher = (options.watchFn ?? watch)([], { ignoreInitial: true, persistent: true, atomic: true });
    this.ready = new Promise((resolve) => this.watcher.once('ready', () => resolve()));
    for (const event of ['add', 'change', 'unlink'] as const) this.watcher.on(event, (path: string) => options.onChange(path));
    this.watcher.on('error', (err) => options.onError(err as Error));
  }

  /** Watches exactly `files` from now on; resolves once chokidar has set up the watches it started with. */
  async set(files: Iterable<string>): Promise<void> {
    const wanted = new Set(files);
    const removed = [...this.files].filter((f) => !wanted.has(f));
    const added = [...wanted].filter((f) => !this.files.has(f));
    if (removed.length > 0) this.watcher.unwatch(removed);
    if (added.length > 0) this.watcher.add(added);
    this.files = wanted;
    await this.ready;
  }

  get count(): number {
    return this.files.size;
  }

  /** Idempotent: a second call returns the same promise. */
  close(): Promise<void> {
    this.closing ??= this.watcher.close();
    return this.closing;
  }
}
