/**
 * bench/wsgi_take.py driven from a bench: the WSGI script `hgreload wsgi`
 * prints, loaded in a Python process of its own, timing how it takes what the
 * daemon published.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Recorder } from '../test/helpers/recorder.js';
import { PROJECT_ROOT, SYSTEM_PYTHON } from '../test/helpers/run.js';
import type { ServedRepo } from '../src/discovery/served-repos.js';

const TAKE_PROGRAM = join(PROJECT_ROOT, 'bench/wsgi_take.py');
/** A snapshot of a million read while another thread keeps making requests takes seconds. */
const ANSWER_TIMEOUT_MS = 300_000;

export interface SnapshotRead {
  /** The read, from its start until the new list was in use. */
  readonly ms: number;
  readonly repos: number;
  /** Requests another thread of the process made, one after another, while the read ran. */
  readonly requests: number;
  /** The slowest of them; undefined when the read ended before one could start. */
  readonly slowestMs: number | undefined;
  /** The longest time one of them did not run (its wall time less its thread's CPU time); undefined as slowestMs. */
  readonly waitedMs: number | undefined;
  /** The medians of the same two for such requests made just after the read. */
  readonly idleMs: number;
  readonly idleWaitedMs: number;
}

/** bench/wsgi_take.py in a process of its own: the site's WSGI application, taking the published list on request. */
export class WsgiTaker {
  private stderr = '';
  /** Its answers, one JSON text a line; null when it exited. */
  private readonly lines = new Recorder<string | null>(() => `wsgi_take.py's stderr:\n${this.stderr.slice(-2000)}`);
  private readonly child: ChildProcess;

  private constructor(script: string) {
    this.child = spawn(SYSTEM_PYTHON, [TAKE_PROGRAM, script], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HGRCPATH: '' } });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    createInterface({ input: this.child.stdout! }).on('line', this.lines.push);
    // Waiting for an answer that will never come fails at once.
    this.child.on('exit', () => this.lines.push(null));
  }

  /** Starts it; the count it loaded must be the site's. */
  static async start(script: string, expected: number): Promise<WsgiTaker> {
    const taker = new WsgiTaker(script);
    const { repos } = await taker.answer('the WSGI script loaded');
    if (repos !== expected) {
      await taker.stop();
      throw new Error(`the WSGI application loaded ${repos} repositories; the site serves ${expected}`);
    }
    return taker;
  }

  /** Takes what was published, with nothing else running in the process; `snapshot`: whether that was a new snapshot. */
  async take(): Promise<{ ms: number; repos: number; snapshot: boolean }> {
    const answer = this.answer('an answer to take');
    this.child.stdin!.write('take\n');
    const { ms, repos, snapshot } = await answer;
    if (typeof ms !== 'number') throw new Error(`wsgi_take.py answered take without a time`);
    return { ms, repos, snapshot: snapshot === true };
  }

  /** Takes a new snapshot in one thread while another makes requests (see wsgi_take.py); it must have been a new snapshot. */
  async read(): Promise<SnapshotRead> {
    const answer = this.answer('an answer to read');
    this.child.stdin!.write('read\n');
    const doc = await answer;
    const { ms, repos, snapshot, requests, slowest, waited, idle, idleWaited } = doc;
    if (typeof ms !== 'number' || snapshot !== true || typeof requests !== 'number' || typeof idle !== 'number' || typeof idleWaited !== 'number') {
      throw new Error(`wsgi_take.py answered read with ${JSON.stringify(doc)}: not the read of a new snapshot`);
    }
    const optional = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
    return { ms, repos, requests, slowestMs: optional(slowest), waitedMs: optional(waited), idleMs: idle, idleWaitedMs: idleWaited };
  }

  /**
   * Checks what the process serves against `published` (the daemon's list,
   * in order): every name looked up as a request looks it up, and the whole
   * list as an index page makes it (see wsgi_take.py); `file` holds the list
   * for it. Throws on any difference.
   */
  async check(published: readonly ServedRepo[], file: string): Promise<void> {
    writeFileSync(file, JSON.stringify(published.map((r) => [r.name, r.path])));
    const answer = this.answer('an answer to check');
    this.child.stdin!.write(`check ${file}\n`);
    const doc = await answer;
    if (doc.wrongCount !== 0 || doc.whole !== true || doc.repos !== published.length) {
      throw new Error(`the WSGI process does not serve what the daemon published (${published.length} repositories): ${JSON.stringify(doc)}`);
    }
  }

  /** The next line it writes (from now on), parsed. */
  private async answer(what: string): Promise<Record<string, unknown> & { repos: number }> {
    const line = await this.lines.waitFor(() => true, what, { from: this.lines.mark, timeoutMs: ANSWER_TIMEOUT_MS });
    if (line === null) throw new Error(`wsgi_take.py exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}:\n${this.stderr.slice(-2000)}`);
    const doc = JSON.parse(line) as Record<string, unknown>;
    if (typeof doc.repos !== 'number') throw new Error(`wsgi_take.py answered "${line}" for ${what}`);
    return doc as Record<string, unknown> & { repos: number };
  }

  /** It ends at the end of its input. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.stdin!.end();
    await exited;
  }
}
