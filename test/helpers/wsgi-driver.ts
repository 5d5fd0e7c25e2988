/** Runs a WSGI script in Python through test/oracle/wsgi_driver.py and sends it requests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT, SYSTEM_PYTHON } from './run.js';

export interface WsgiAnswer {
  readonly status: string;
  readonly statuses: string[];
  readonly repos: string[];
  /** Mercurial's repository walks since the script was loaded. */
  readonly walks: number;
  /** hgwebdir's full refreshes since the script was loaded. */
  readonly refreshes: number;
  /** Reads of the published list since the script was loaded. */
  readonly reads: number;
}

export class WsgiDriver {
  private readonly child: ChildProcess;
  private readonly answers: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private sent = 0;
  private stderrWaiter: (() => void) | undefined;
  stderr = '';

  constructor(script: string) {
    this.child = spawn(SYSTEM_PYTHON, [join(PROJECT_ROOT, 'test/oracle/wsgi_driver.py'), script], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.stderrWaiter?.();
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(line);
      } else this.answers.push(line);
    });
  }

  /** Resolves once the answer and everything the request wrote to stderr have arrived. */
  async get(path: string, threads = 1): Promise<WsgiAnswer> {
    this.child.stdin!.write(`${JSON.stringify({ get: path, threads })}\n`);
    const marker = `#answered ${++this.sent}\n`;
    const answer = await this.nextAnswer(path);
    await new Promise<void>((resolve) => {
      this.stderrWaiter = () => {
        if (this.stderr.includes(marker)) resolve();
      };
      this.stderrWaiter();
    });
    return answer;
  }

  private nextAnswer(path: string): Promise<WsgiAnswer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer for ${path}; stderr:\n${this.stderr}`)), 20_000);
      const take = (line: string) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as WsgiAnswer);
      };
      const queued = this.answers.shift();
      if (queued !== undefined) take(queued);
      else this.waiting = take;
    });
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill();
  }
}
