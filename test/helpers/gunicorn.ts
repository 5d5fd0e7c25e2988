/** gunicorn (Debian's package) serving a WSGI script, started and stopped by a test. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, getIndex } from './apache.js';

export class Gunicorn {
  private child: ChildProcess | undefined;
  private stderr = '';
  readonly pidfile: string;
  port = 0;

  /** `script` is copied to DIR/hgweb_app.py: gunicorn imports a module, not a file. */
  constructor(
    private readonly dir: string,
    private readonly script: string,
    private readonly workers = 2,
    private readonly threads = 4,
  ) {
    this.pidfile = join(dir, 'gunicorn.pid');
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    copyFileSync(this.script, join(this.dir, 'hgweb_app.py'));
    this.port = await freePort();
    this.child = spawn(
      'gunicorn',
      ['--chdir', this.dir, '--bind', `127.0.0.1:${this.port}`, '--workers', String(this.workers), '--threads', String(this.threads), '--pid', this.pidfile, 'hgweb_app:application'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HGRCPATH: '' } },
    );
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`gunicorn exited (${this.child.exitCode}): ${this.stderr}`);
      try {
        await getIndex(this.url, 2000);
        return;
      } catch {
        // gunicorn says nothing a test can wait on when it is ready, but an answer
        if (Date.now() > deadline) throw new Error(`gunicorn did not answer within 20 s: ${this.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** The worker processes' pids (children of the master). */
  workerPids(): number[] {
    const r = spawnSync('pgrep', ['-P', String(this.child!.pid)], { encoding: 'utf8' });
    return r.stdout.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
  }

  /**
   * The workers once there are as many as configured: after a graceful reload,
   * old workers finish their requests beside the new ones for a while.
   */
  async settledWorkerPids(): Promise<number[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const pids = this.workerPids();
      if (pids.length === this.workers) return pids;
      if (Date.now() > deadline) throw new Error(`gunicorn still has ${pids.length} workers after 30 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  log(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    if (this.child === undefined || this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}
