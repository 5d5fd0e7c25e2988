/**
 * A real Debian 12 booted under real systemd, for tests that must see what
 * systemd itself does with a unit (its sandbox, its journal, reload and stop),
 * which the stand-in service manager (service-manager.ts) only imitates.
 *
 * - The root folder is made once by scripts/nspawn-root.sh (debootstrap from
 *   the Debian archive apt's sources name, this machine's Node copied in) and
 *   cached in .cache/nspawn/bookworm-HASH/; later runs take it as it is.
 * - Each container boots that folder with `systemd-nspawn --volatile=overlay`:
 *   the folder is the lower layer of an overlay whose upper layer is a tmpfs,
 *   so whatever the test does inside is gone when the container stops, and
 *   the cache is never written. `--private-network`: the container has a
 *   loopback of its own, so its Apache and sshd meet no port of the host's.
 * - Commands run inside through `nsenter -a` into the namespaces of the
 *   container's init (the nspawn process's child), with a clean environment.
 * - `stop()` powers it off, then SIGTERMs nspawn, then SIGKILLs it and the
 *   container's init, each after a bounded wait; nspawn also gets SIGTERM
 *   should the test process die first (setpriv --pdeathsig).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { makeTempDir, PROJECT_ROOT } from './run.js';

export const ROOT_SCRIPT = join(PROJECT_ROOT, 'scripts/nspawn-root.sh');
export const NSPAWN_CACHE = join(PROJECT_ROOT, '.cache/nspawn');
/** The PATH of commands run inside (Debian's root PATH). */
const INSIDE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A reason a container cannot run on this machine: the test skips, naming it. */
export class CannotRun extends Error {}

function onPath(program: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', program], { stdio: 'ignore' }).status === 0;
}

/** Why no container can boot here, checked before anything is prepared; undefined when it can. */
export function nspawnUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: debootstrap and systemd-nspawn need root';
  const tools: Array<[string, string]> = [
    ['systemd-nspawn', 'systemd-container'],
    ['debootstrap', 'debootstrap'],
    ['nsenter', 'util-linux'],
    ['setpriv', 'util-linux'],
  ];
  for (const [tool, pkg] of tools) if (!onPath(tool)) return `${tool} is not installed (Debian package ${pkg})`;
  let cgroups: string[] = [];
  try {
    cgroups = readdirSync('/sys/fs/cgroup');
  } catch {
    // no such folder
  }
  if (cgroups.length === 0) return 'no cgroup file system on /sys/fs/cgroup: systemd cannot run as a container\'s init here';
  return undefined;
}

export interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a host program, its output collected; `timeoutMs` kills its process group. */
function runHost(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs: number; stdin?: Readable | string; onStderr?: (text: string) => void }): Promise<RunResult> {
  const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  return collect(child, options);
}

function collect(child: ChildProcess, options: { timeoutMs: number; stdin?: Readable | string; onStderr?: (text: string) => void }): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    options.onStderr?.(d);
  });
  child.stdin!.on('error', () => {
    // the program ended without reading all of its input: its status says why
  });
  if (typeof options.stdin === 'string') child.stdin!.end(options.stdin);
  else if (options.stdin !== undefined) options.stdin.pipe(child.stdin!);
  else child.stdin!.end();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, options.timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n(killed after ${options.timeoutMs} ms)`;
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** Environment for host programs that must not see what `npm test` sets (npm_config_*). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
}

/**
 * The root folder (scripts/nspawn-root.sh): made on the first run (a few minutes: debootstrap),
 * taken from the cache afterwards. Throws CannotRun when the script says this machine cannot
 * make it (exit 77: not root, debootstrap missing, Debian's archive out of reach).
 */
export async function prepareRoot(progress?: (text: string) => void): Promise<string> {
  const r = await runHost(ROOT_SCRIPT, [], { env: cleanEnv(), timeoutMs: 20 * 60_000, ...(progress ? { onStderr: progress } : {}) });
  const lastErr = r.stderr.trim().split('\n').at(-1) ?? '';
  if (r.status === 77) throw new CannotRun(lastErr.replace(/^nspawn-root: /, ''));
  if (r.status !== 0) throw new Error(`scripts/nspawn-root.sh failed (${r.status ?? r.signal}):\n${r.stderr}`);
  const root = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!existsSync(join(root, 'etc/hgreload-nspawn-root'))) throw new Error(`scripts/nspawn-root.sh printed ${root}, which is no prepared root`);
  return root;
}

/** The files of the checkout that make the package (package.json "files", with its manifest and lockfile). */
export const PACKAGE_PARTS = ['package.json', 'package-lock.json', 'README.md', 'dist/src', 'hooks', 'systemd'];

/**
 * An npm cache holding everything `npm install -g --install-links .` of this package needs, so
 * that the container, which has no network, installs with `--offline` (as the README says for a
 * host without one). Filled once on the host by that same install into a throwaway prefix, and
 * kept in .cache/nspawn/npm-HASH (HASH: package.json, package-lock.json and npm's version);
 * made in a .partial folder and renamed into place. Returns the folder holding `_cacache`.
 */
export async function prepareNpmCache(): Promise<string> {
  const npmVersion = spawnSync('npm', ['--version'], { encoding: 'utf8', env: cleanEnv() }).stdout.trim();
  const hash = createHash('sha256');
  for (const file of ['package.json', 'package-lock.json']) hash.update(readFileSync(join(PROJECT_ROOT, file)));
  hash.update(npmVersion);
  const name = `npm-${hash.digest('hex').slice(0, 12)}`;
  const dir = join(NSPAWN_CACHE, name);
  if (existsSync(join(dir, '_cacache'))) return dir;
  // A partial folder of this process's own (another run may be filling one at the same time);
  // those of runs that were interrupted are removed.
  for (const entry of existsSync(NSPAWN_CACHE) ? readdirSync(NSPAWN_CACHE) : []) {
    const pid = Number(/^npm-[0-9a-f]+\.partial-(\d+)$/.exec(entry)?.[1]);
    if (Number.isInteger(pid) && !existsSync(`/proc/${pid}`)) rmSync(join(NSPAWN_CACHE, entry), { recursive: true, force: true });
  }
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const work = makeTempDir('hgreload-npm-cache-');
  try {
    for (const part of PACKAGE_PARTS) cpSync(join(PROJECT_ROOT, part), join(work.path, 'package', part), { recursive: true });
    // Scripts off: `prepare` would build the copy with the devDependencies; dist/ is built already.
    // --prefix moves npm's global settings too (to PREFIX/etc/npmrc): the host's own (a proxy, a CA, a mirror) are kept.
    const globalconfig = spawnSync('npm', ['config', 'get', 'globalconfig'], { encoding: 'utf8', env: cleanEnv() }).stdout.trim();
    const args = ['install', '-g', '--prefix', join(work.path, 'prefix'), ...(globalconfig === '' ? [] : ['--globalconfig', globalconfig]), '--install-links', '--cache', partial, '--ignore-scripts', '--no-audit', '--no-fund', '--no-update-notifier', join(work.path, 'package')];
    const r = await runHost('npm', args, { env: cleanEnv(), timeoutMs: 5 * 60_000 });
    if (r.status !== 0) {
      const output = `${r.stdout}${r.stderr}`;
      if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH/.test(output)) throw new CannotRun(`the npm registry is out of reach, and no npm cache for this package.json is prepared: ${output.trim().split('\n').at(-1)}`);
      throw new Error(`npm ${args.join(' ')} failed (${r.status ?? r.signal}):\n${output}`);
    }
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw error;
  } finally {
    work.remove();
  }
  if (existsSync(join(dir, '_cacache'))) rmSync(partial, { recursive: true, force: true }); // another run was first
  else {
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
  }
  return dir;
}

/** A process's parent pid and name, from /proc/PID/stat (undefined once it is gone). */
function procStat(pid: number): { ppid: number; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(stat.slice(close + 2).split(' ')[1]) };
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): Array<{ pid: number; comm: string }> {
  const found: Array<{ pid: number; comm: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat?.ppid === pid) found.push({ pid: Number(entry), comm: stat.comm });
  }
  return found;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ExecOptions {
  /** Run as this user of the container (its groups from the container's /etc/group, its HOME), not root. */
  readonly user?: string;
  /** Standard input: a string, or a stream (a host tar's output, say). */
  readonly stdin?: string | Readable;
  /** More environment (besides PATH, HOME, LANG). */
  readonly env?: Readonly<Record<string, string>>;
  /** The folder to run in (default /). */
  readonly cwd?: string;
  /** Bound on the command (default 60 s): then its process group is killed. */
  readonly timeoutMs?: number;
}

export interface BootOptions {
  /** Bound on the boot, until systemd says running (default 90 s). */
  readonly timeoutMs?: number;
}

/** A booted container: its nspawn process, its init, and commands run inside. */
export class Container {
  /** What nspawn and the container's console printed (the boot messages). */
  console = '';
  initPid = 0;
  /** How long from spawning nspawn to `systemctl is-system-running` saying running. */
  bootMs = 0;
  private readonly nspawn: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly killOnExit = () => this.killNow();

  private constructor(
    readonly root: string,
    readonly machine: string,
  ) {
    const args = [
      '--pdeathsig', 'SIGTERM', '--',
      'systemd-nspawn',
      '--directory', root,
      '--boot',
      // No machined on the host to register with; the test process's own cgroup is kept.
      '--register=no', '--keep-unit',
      `--machine=${machine}`,
      '--private-network',
      '--volatile=overlay',
      // The console is this pipe: no getty on it, the boot messages readable on failure.
      '--console=pipe',
    ];
    this.nspawn = spawn('setpriv', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.nspawn.stdout!, this.nspawn.stderr!]) stream.setEncoding('utf8').on('data', (d: string) => (this.console += d));
    this.exited = once(this.nspawn, 'exit').then(() => undefined);
    process.on('exit', this.killOnExit);
  }

  /** True while nspawn runs. */
  get running(): boolean {
    return this.nspawn.exitCode === null && this.nspawn.signalCode === null;
  }

  /**
   * Boots `root` and waits until systemd inside says `running`. Throws CannotRun when nspawn
   * ends before the container's systemd started (this machine cannot run containers: no cgroup
   * support, say), and a plain Error when systemd started but the boot went wrong (`degraded`:
   * the failed units are named), having stopped the container.
   */
  static async boot(root: string, options: BootOptions = {}): Promise<Container> {
    const machine = `hgrl-${process.pid}-${randomBytes(3).toString('hex')}`;
    const box = new Container(root, machine);
    try {
      await box.waitForBoot(options.timeoutMs ?? 90_000);
    } catch (error) {
      await box.stop();
      throw error;
    }
    return box;
  }

  private async waitForBoot(timeoutMs: number): Promise<void> {
    const started = performance.now();
    const deadline = Date.now() + timeoutMs;
    // The container's init: nspawn's child, once it is systemd (before that it is nspawn's own fork).
    while (this.initPid === 0) {
      if (!this.running) throw new CannotRun(`systemd-nspawn could not boot a container here (exit ${this.nspawn.exitCode ?? this.nspawn.signalCode}): ${this.console.trim().split('\n').slice(-5).join(' / ')}`);
      if (Date.now() > deadline) throw new Error(`no systemd under systemd-nspawn (pid ${this.nspawn.pid}) within ${timeoutMs} ms:\n${this.console}`);
      this.initPid = childrenOf(this.nspawn.pid!).find((c) => c.comm === 'systemd')?.pid ?? 0;
      if (this.initPid === 0) await sleep(20);
    }
    let state = '';
    for (;;) {
      if (!this.running) throw new Error(`the container stopped while booting:\n${this.console}`);
      const r = await this.exec(['systemctl', 'is-system-running'], { timeoutMs: 10_000 });
      state = r.stdout.trim();
      if (state === 'running') break;
      if (state === 'degraded') {
        const failed = await this.exec(['systemctl', '--failed', '--no-legend', '--plain']);
        const journal = await this.exec(['journalctl', '-b', '-p', 'warning', '--no-pager', '-n', '50']);
        throw new Error(`the container booted degraded; failed units:\n${failed.stdout}\nwarnings in its journal:\n${journal.stdout}`);
      }
      if (state === 'maintenance' || state === 'stopping') throw new Error(`the container's systemd is ${state}:\n${this.console}`);
      if (Date.now() > deadline) {
        const jobs = await this.exec(['systemctl', 'list-jobs', '--no-legend']);
        throw new Error(`the container's systemd was still "${state}" after ${timeoutMs} ms; jobs:\n${jobs.stdout}\n${this.console}`);
      }
      await sleep(50);
    }
    this.bootMs = performance.now() - started;
  }

  /**
   * Runs `argv` inside (all of init's namespaces: mount, pid, network, ...), with a clean
   * environment, as root or `options.user`; resolves with its status and output.
   */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<RunResult> {
    const env = { PATH: INSIDE_PATH, HOME: '/root', LANG: 'C.UTF-8', ...options.env };
    // A user's HOME, USER and groups come from the container's own account files.
    const wrapper = [
      'u=$1; d=$2; shift 2',
      'if [ -n "$u" ]; then',
      '  HOME=$(getent passwd "$u" | cut -d: -f6) && USER=$u && LOGNAME=$u && export HOME USER LOGNAME || exit 125',
      '  cd "$d" && exec setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"',
      'fi',
      'cd "$d" && exec "$@"',
    ].join('\n');
    const args = [
      '-t', String(this.initPid), '-a', '--',
      'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      'sh', '-c', wrapper, 'sh', options.user ?? '', options.cwd ?? '/', ...argv,
    ];
    return runHost('nsenter', args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeoutMs: options.timeoutMs ?? 60_000, ...(options.stdin === undefined ? {} : { stdin: options.stdin }) });
  }

  /** `exec`, which must exit 0: else throws with the command and its output. */
  async must(argv: readonly string[], options: ExecOptions = {}): Promise<string> {
    const r = await this.exec(argv, options);
    if (r.status !== 0) throw new Error(`in the container, ${argv.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** A shell script run inside with `sh -e` (as root unless `options.user`): must exit 0. */
  sh(script: string, options: ExecOptions = {}): Promise<string> {
    return this.must(['sh', '-ec', script], options);
  }

  /** Writes `text` to `path` inside (as root, umask 022, its folder made if missing). */
  async write(path: string, text: string, mode = 0o644): Promise<void> {
    await this.must(['sh', '-ec', 'umask 022; mkdir -p "$(dirname "$1")"; cat > "$1"; chmod "$2" "$1"', 'sh', path, mode.toString(8)], { stdin: text });
  }

  /** Copies `parts` (files or folders) of the host folder `from` into `to` inside, owned by root. */
  async copyIn(from: string, parts: readonly string[], to: string): Promise<void> {
    const tar = spawn('tar', ['-C', from, '--owner=0', '--group=0', '-cf', '-', '--', ...parts], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tarErr = '';
    tar.stderr!.setEncoding('utf8').on('data', (d: string) => (tarErr += d));
    const tarDone = once(tar, 'exit');
    await this.must(['sh', '-ec', 'mkdir -p "$1" && tar -C "$1" -xf -', 'sh', to], { stdin: tar.stdout! });
    const [code] = await tarDone;
    if (code !== 0) throw new Error(`tar of ${parts.join(' ')} in ${from} failed (${code}): ${tarErr}`);
  }

  /**
   * Powers the container off and waits for nspawn to end; should it hang, SIGTERM to nspawn
   * (which asks the container to halt), then SIGKILL to nspawn and to the container's init.
   * Safe to call more than once, and on a container that never booted.
   */
  async stop(): Promise<void> {
    // Whether nspawn ended within `ms` (the timer cleared either way: it must not hold the test process).
    const ended = async (ms: number): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
      try {
        return await Promise.race([this.exited.then(() => true), timeout]);
      } finally {
        clearTimeout(timer);
      }
    };
    if (this.running && this.initPid !== 0) {
      await this.exec(['systemctl', 'poweroff', '--no-block'], { timeoutMs: 5_000 }).catch(() => undefined);
    }
    if (this.running && !(await ended(30_000))) {
      this.nspawn.kill('SIGTERM');
      if (!(await ended(10_000))) {
        this.killNow();
        await ended(10_000);
      }
    }
    process.removeListener('exit', this.killOnExit);
  }

  private killNow(): void {
    if (!this.running) return;
    for (const pid of [this.initPid, this.nspawn.pid]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
