/**
 * The built CLI's `daemon` in a child process, driven as an administrator
 * would: its JSON log lines are read as they come, and tests wait for the line
 * they expect (with a bounded timeout), never for a fixed time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Recorder } from './recorder.js';
import { CLI, commandLine } from './run.js';

export type LogLine = Record<string, unknown> & { msg: string; level: string };

export class DaemonProcess {
  readonly output: string[] = [];
  private readonly log = new Recorder<LogLine>(() => `daemon output:\n${this.output.join('\n')}`);
  readonly lines: readonly LogLine[] = this.log.items;
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private readonly closed: Promise<string>;

  /**
   * Runs `hgreload ARGS daemon`, or with `script` set, `node SCRIPT ARGS` (a
   * script that ends up running the daemon, such as the demo), or with
   * `command` set, exactly that program, arguments and environment (the
   * deployment test's service manager builds them from the systemd unit).
   * `onLine` sees every line of output as it comes (that test keeps a journal).
   */
  constructor(
    args: readonly string[],
    options: {
      cwd?: string;
      env?: Record<string, string | undefined>;
      script?: string;
      user?: string;
      command?: { readonly cmd: string; readonly args: readonly string[]; readonly env: NodeJS.ProcessEnv };
      onLine?: (line: string) => void;
    } = {},
  ) {
    const argv = options.script === undefined ? [CLI, ...args, 'daemon'] : [options.script, ...args];
    const { cmd, args: cmdArgs, env } =
      options.command ??
      commandLine([process.execPath, ...argv], {
        ...(options.user === undefined ? {} : { user: options.user }),
        env: { HGRELOAD_CONFIG: undefined, ...options.env },
      });
    this.child = spawn(cmd, cmdArgs, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.output.push(line);
        options.onLine?.(line);
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          return; // not a log line (stderr text); kept in output for the failure report
        }
        this.log.push(parsed);
      });
    }
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
    // 'close': its output is read to the end too.
    this.closed = once(this.child, 'close').then(([code, signal]) => `the daemon ended (${String(signal ?? code)})`);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The pid of the process started (setpriv execs the daemon, so it is the daemon's too). */
  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first log line (from index `from` on) that matches; rejects after `timeoutMs`, or when the daemon has ended without it. */
  waitFor(match: (line: LogLine) => boolean, what: string, options?: { from?: number; timeoutMs?: number }): Promise<LogLine> {
    return this.log.waitFor(match, what, { ...options, hopeless: this.closed });
  }

  /** The index the next log line will have: pass it as `from` to wait only for what comes after. */
  get mark(): number {
    return this.log.mark;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM, then the exit status. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** A reload log line. */
export const isReload = (line: LogLine): boolean => line.msg.startsWith('reloaded');

/**
 * The daemon publishing for `base`/hgweb.config (written from `paths`, the
 * lines of its [paths], unless undefined: the test wrote it), into
 * `base`/state with a 30 ms debounce; resolves once it is ready.
 */
export async function publishingDaemon(base: string, paths: string | undefined, { debug = false } = {}): Promise<DaemonProcess> {
  if (paths !== undefined) writeFileSync(join(base, 'hgweb.config'), `[paths]\n${paths}\n`);
  writeFileSync(join(base, 'hgreload.ini'), 'webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 30\n');
  const daemon = new DaemonProcess([...(debug ? ['--log-level', 'debug'] : []), '-c', join(base, 'hgreload.ini')]);
  await daemon.waitFor((l) => l.msg === 'ready', 'ready');
  return daemon;
}
