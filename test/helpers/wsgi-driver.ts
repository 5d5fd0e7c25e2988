/** Runs WSGI scripts in one Python through test/oracle/wsgi_driver.py and sends them requests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { requireMercurial, SYSTEM_MERCURIAL, type Mercurial } from './mercurials.js';
import { PROJECT_ROOT, SYSTEM_PYTHON } from './run.js';

export interface WsgiCounts {
  /** Mercurial's repository walks since the scripts were loaded. */
  readonly walks: number;
  /** hgwebdir's full refreshes since the scripts were loaded. */
  readonly refreshes: number;
  /** Reads of the published list since the scripts were loaded. */
  readonly reads: number;
}

export interface WsgiRequest {
  /** Which script, by its place in the driver's list (default the first). */
  readonly app?: number;
  readonly path: string;
}

export interface WsgiResult {
  readonly status: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface WsgiAnswer extends WsgiCounts, WsgiResult {
  /** The status of each thread's request, when several asked at once. */
  readonly statuses: string[];
  /** The repositories of an index in style=raw. */
  readonly repos: string[];
}

interface RawResult {
  readonly status: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The repository names of an index page in style=raw, which lists one "/name/" per line. */
export function reposOf(body: Buffer): string[] {
  return body
    .toString('utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => line.replace(/^\/+|\/+$/g, ''));
}

export class WsgiDriver {
  private readonly child: ChildProcess;
  private readonly answers: string[] = [];
  private waiting: { take: (line: string) => void; fail: (err: Error) => void } | undefined;
  private exited: Error | undefined;
  private sent = 0;
  private stderrWaiter: (() => void) | undefined;
  stderr = '';

  /** Loads every script in one interpreter (as mod_wsgi's WSGIApplicationGroup %{GLOBAL} does), on `mercurial`. */
  constructor(scripts: string | readonly string[], readonly mercurial: Mercurial = SYSTEM_MERCURIAL) {
    requireMercurial(mercurial);
    const args = [join(PROJECT_ROOT, 'test/oracle/wsgi_driver.py'), ...(typeof scripts === 'string' ? [scripts] : scripts)];
    this.child = spawn(SYSTEM_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...mercurial.env } });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.stderrWaiter?.();
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w.take(line);
      } else this.answers.push(line);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = new Error(`the WSGI driver ended (${signal ?? code}); stderr:\n${this.stderr}`);
      this.waiting?.fail(this.exited);
    });
  }

  /** `path` from `threads` threads at once; the answer is the first thread's, with every thread's status. */
  async get(path: string, threads = 1, app = 0): Promise<WsgiAnswer> {
    const { results, ...counts } = await this.run(Array<WsgiRequest>(threads).fill({ app, path }));
    const first = results[0]![0]!;
    return { ...counts, ...first, statuses: results.map((r) => r[0]!.status), repos: reposOf(first.body) };
  }

  /**
   * Each request in a thread of its own, all released at once, each made `repeat` times; results per thread.
   * With `watch`, `swapped` names the globals of hgwebdir's module that its refresh reads and that were
   * seen replaced meanwhile (empty without).
   */
  async run(requests: readonly WsgiRequest[], repeat = 1, watch = false): Promise<WsgiCounts & { results: WsgiResult[][]; swapped: string[]; stalled: string[] }> {
    const answer = await this.command<WsgiCounts & { results: RawResult[][]; swapped: string[]; stalled: string[] }>({ requests, repeat, watch });
    const results = answer.results.map((thread) => thread.map((r) => ({ ...r, body: Buffer.from(r.body, 'base64') })));
    return { walks: answer.walks, refreshes: answer.refreshes, reads: answer.reads, results, swapped: answer.swapped, stalled: answer.stalled };
  }

  /** The Mercurial the scripts run on, and where Python imported it from. */
  about(): Promise<{ version: string; module: string }> {
    return this.command({ about: true });
  }

  /**
   * The next `times` calls of Python's open() ('open') or os.open() ('os.open') on `path` fail
   * with `errno`, or (with `renames`) first rename those files into place and then go on, or
   * (with `hold`) wait until that many more requests were answered (`stalled` names one that
   * waited 10 s in vain), or (with `request`) first make that request of app 0 in the same thread,
   * and then go on: what another request does at that point of this one, in an order no thread
   * timing decides.
   */
  async fault(
    fault: { path: string; call: 'open' | 'os.open'; times?: number } & (
      | { errno: number }
      | { renames: ReadonlyArray<readonly [string, string]> }
      | { hold: number }
      | { request: string }
    ),
  ): Promise<void> {
    await this.command({ fault: { times: 1, ...fault } });
  }

  /** The names of script `app`'s instance attributes. */
  async attributes(app: number): Promise<string[]> {
    return (await this.command<{ attributes: string[] }>({ attributes: app })).attributes;
  }

  /** Resolves once the answer and everything the command wrote to stderr have arrived. */
  private async command<T>(cmd: object): Promise<T> {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    const marker = `#answered ${++this.sent}\n`;
    const answer = await this.nextAnswer(JSON.stringify(cmd));
    await new Promise<void>((resolve) => {
      this.stderrWaiter = () => {
        if (this.stderr.includes(marker)) resolve();
      };
      this.stderrWaiter();
    });
    return JSON.parse(answer) as T;
  }

  private nextAnswer(what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const queued = this.answers.shift();
      if (queued !== undefined) return resolve(queued);
      if (this.exited) return reject(this.exited);
      const timer = setTimeout(() => reject(new Error(`no answer to ${what}; stderr:\n${this.stderr}`)), 60_000);
      this.waiting = {
        take: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        fail: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill();
  }
}
