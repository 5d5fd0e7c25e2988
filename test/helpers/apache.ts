/**
 * A real Apache with mod_wsgi in daemon mode, started by a test on a free
 * loopback port with its own config file in a temp folder, and stopped by it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export interface ApacheOptions {
  /** Folder for the config, logs, pidfile and sockets (readable by the server's user). */
  readonly dir: string;
  readonly wsgiScript?: string;
  /**
   * WSGIDaemonProcess name: unique per test, so that its processes can be found
   * by their title, and at most 10 characters: the title "(wsgi:NAME)" is cut
   * to the length of the original "/usr/sbin/apache2".
   */
  readonly group?: string;
  /**
   * A site of the test's own instead of the hgweb these options make (wsgiScript,
   * group...): its text for the port Apache listens on, saved in
   * DIR/sites-enabled/ (where `doctor --apache-root DIR` reads it) and included.
   */
  readonly site?: (port: number) => string;
  readonly processes?: number;
  readonly threads?: number;
  /** More modules to load, by name: 'auth_basic' loads mod_auth_basic.so. */
  readonly modules?: readonly string[];
  /** More WSGIDaemonProcess options, e.g. 'supplementary-groups=hg'. */
  readonly daemonOptions?: readonly string[];
  /** More lines at the end of the config (authentication, say). */
  readonly config?: readonly string[];
  /** More environment for Apache, which its mod_wsgi daemon processes (and so hgweb) inherit. */
  readonly env?: Readonly<Record<string, string>>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export class Apache {
  private child: ChildProcess | undefined;
  readonly pidfile: string;
  readonly errorLog: string;
  port = 0;

  constructor(private readonly options: ApacheOptions) {
    this.pidfile = join(options.dir, 'apache.pid');
    this.errorLog = join(options.dir, 'error.log');
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const { dir, wsgiScript, group, processes = 2, threads = 4, modules: more = [], daemonOptions = [], config = [] } = this.options;
    const hgwebLines = (): string[] => {
      if (wsgiScript === undefined || group === undefined) throw new Error('Apache: wsgiScript and group, or site');
      return [
        [`WSGIDaemonProcess ${group} processes=${processes} threads=${threads} display-name=%{GROUP} home=${dir}`, ...daemonOptions].join(' '),
        `WSGIProcessGroup ${group}`,
        'WSGIApplicationGroup %{GLOBAL}',
        // Naming both groups here makes mod_wsgi load the script when each daemon process starts
        // (as production setups do), so every process holds hgweb before the first request.
        `WSGIScriptAlias / ${wsgiScript} process-group=${group} application-group=%{GLOBAL}`,
        `<Directory ${dir}>`,
        '  Require all granted',
        '</Directory>',
      ];
    };
    this.port = await freePort();
    const run = join(dir, 'run');
    mkdirSync(run, { recursive: true, mode: 0o755 });
    const modules = '/usr/lib/apache2/modules';
    const asRoot = process.getuid?.() === 0;
    const conf = this.configFile;
    writeFileSync(
      conf,
      [
        `ServerRoot ${dir}`,
        'ServerName 127.0.0.1',
        `Listen 127.0.0.1:${this.port}`,
        `PidFile ${this.pidfile}`,
        `DefaultRuntimeDir ${run}`,
        `ErrorLog ${this.errorLog}`,
        'LogLevel warn',
        `LoadModule mpm_event_module ${modules}/mod_mpm_event.so`,
        `LoadModule authz_core_module ${modules}/mod_authz_core.so`,
        `LoadModule wsgi_module ${modules}/mod_wsgi.so`,
        ...more.map((name) => `LoadModule ${name}_module ${modules}/mod_${name}.so`),
        // As root (the tests' case) Apache's children, and so the mod_wsgi daemon processes, which
        // name no user= of their own, run as www-data, as Debian's apache2 does.
        ...(asRoot ? ['User www-data', 'Group www-data'] : []),
        `WSGISocketPrefix ${run}/wsgi`,
        ...(this.options.site === undefined ? hgwebLines() : [`Include ${this.writeSite(this.options.site)}`]),
        ...config,
        '',
      ].join('\n'),
    );
    this.child = spawn('/usr/sbin/apache2', ['-f', conf, '-DFOREGROUND'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...this.options.env } });
    let stderr = '';
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`apache2 exited (${this.child.exitCode}): ${stderr}`);
      try {
        await getIndex(this.url, 2000);
        return;
      } catch {
        // not listening yet: Apache has no readiness signal for a foreground start
        if (Date.now() > deadline) throw new Error(`apache2 did not answer within 20 s: ${stderr}\n${this.log()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** The site file, written for the port. */
  private writeSite(site: (port: number) => string): string {
    const file = join(this.options.dir, 'sites-enabled', 'hgweb.conf');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, site(this.port));
    return file;
  }

  /** The config file Apache runs with (`apache2 -t -f` checks it). */
  get configFile(): string {
    return join(this.options.dir, 'apache2.conf');
  }

  /** The pids of the mod_wsgi daemon processes (found by the title display-name gives them). */
  wsgiPids(): number[] {
    const r = spawnSync('pgrep', ['-f', `^\\(wsgi:${this.options.group}`], { encoding: 'utf8' });
    return r.stdout.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
  }

  log(): string {
    try {
      return readFileSync(this.errorLog, 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    if (this.child === undefined || this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}

export interface IndexAnswer {
  readonly status: number;
  readonly repos: string[];
  readonly ms: number;
}

/**
 * hgweb's index in the raw style (one "/name/" per line), on a new connection
 * each time: a kept-alive connection that a graceful restart closes would make
 * a client-side failure look like the server's.
 */
export async function getIndex(baseUrl: string, timeoutMs = 30_000): Promise<IndexAnswer> {
  const { status, body, ms } = await getPage(baseUrl, '/?style=raw', timeoutMs);
  const repos = status === 200 ? body.split('\n').map((l) => l.trim().replace(/^\/|\/$/g, '')).filter(Boolean) : [];
  return { status, repos, ms };
}

/** The status of a GET of `path` (a repository's page, say), on a new connection; the body is read and dropped. */
export async function getStatus(baseUrl: string, path: string, timeoutMs = 30_000): Promise<number> {
  return (await getPage(baseUrl, path, timeoutMs)).status;
}

export interface PageAnswer {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

/** A GET of `path`, on a new connection: its status, body and time. */
export function getPage(baseUrl: string, path: string, timeoutMs = 30_000): Promise<PageAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = httpGet(`${baseUrl}${path}`, { agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, ms: performance.now() - started }));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${baseUrl}${path} within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}
