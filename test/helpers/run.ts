/** Running the built CLI and Mercurial's own hgwebdir from tests. */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project folder (tests run from dist/test/...). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(PROJECT_ROOT, 'dist/src/cli/bin.js');
export const ORACLE = join(PROJECT_ROOT, 'test/oracle/hgwebdir_repos.py');
/** Debian's python, which imports the `mercurial` module of Debian's package. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: Record<string, string | undefined>;
  /** Run as this user (the tests run as root; permission cases need someone else). */
  readonly user?: string;
  /** Run the world-readable copy even as root: what it installs (the hook program's path) must be readable by every pusher. */
  readonly readable?: boolean;
  /**
   * With `user`: the user's supplementary groups from /etc/group, as a login
   * (sshd, su) gives them, instead of none.
   */
  readonly initGroups?: boolean;
  /** The umask to run with (e.g. 0o002 for a pusher in a shared group); the caller's when unset. */
  readonly umask?: number;
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const groups = new Map<string, string>();
function groupOf(user: string): string {
  let group = groups.get(user);
  if (group === undefined) {
    group = spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim();
    groups.set(user, group);
  }
  return group;
}

let copyForOthers: { dir: string; cli: string; oracle: string } | undefined;
/**
 * The CLI and the oracle where any user can run them. The checkout may sit in a
 * folder only root can enter (a fresh `mktemp -d` clone is 0700), so tests that
 * run as another user run a world-readable copy, made once and removed at exit.
 * The copy is a whole installable package (the files package.json ships, with
 * node_modules): the CLI reads its templates from hooks/, and the deployment
 * test installs it with npm as the README says.
 */
export function readableCopy(): { dir: string; cli: string; oracle: string } {
  if (copyForOthers === undefined) {
    const dir = makeTempDir('hgreload-copy-');
    process.on('exit', dir.remove);
    for (const part of ['package.json', 'dist/src', 'hooks', 'systemd', 'node_modules', 'test/oracle']) {
      cpSync(join(PROJECT_ROOT, part), join(dir.path, part), { recursive: true });
    }
    spawnSync('chmod', ['-R', 'a+rX', dir.path]);
    copyForOthers = { dir: dir.path, cli: join(dir.path, 'dist/src/cli/bin.js'), oracle: join(dir.path, 'test/oracle/hgwebdir_repos.py') };
  }
  return copyForOthers;
}

/**
 * `argv` run with `umask` set: through sh, which sets it and then execs the
 * program (same pid; the arguments are passed as arguments, never as shell text).
 */
export function withUmask(umask: number, argv: readonly string[]): string[] {
  return ['/bin/sh', '-c', 'umask "$1" && shift && exec "$@"', 'sh', `0${umask.toString(8).padStart(3, '0')}`, ...argv];
}

/** The program, arguments and environment that run `argv` with `options` (setpriv for `user`). */
export function commandLine(argv: readonly string[], options: RunOptions): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } {
  const asOther = (a: string): string => (a === CLI ? readableCopy().cli : a === ORACLE ? readableCopy().oracle : a);
  const masked = options.umask === undefined ? argv : withUmask(options.umask, argv);
  const groups = options.initGroups === true ? '--init-groups' : '--clear-groups';
  const [cmd, ...args] =
    options.user === undefined
      ? options.readable === true
        ? masked.map(asOther)
        : masked
      : ['setpriv', `--reuid=${options.user}`, `--regid=${groupOf(options.user)}`, groups, '--', ...masked.map(asOther)];
  return { cmd: cmd!, args, env: { ...process.env, ...options.env } };
}

/** Runs any program with `options` (another user, a umask, an environment), waiting for it. */
export function runProgram(argv: readonly string[], options: RunOptions = {}): RunResult {
  return run(argv, options);
}

function run(argv: readonly string[], options: RunOptions): RunResult {
  const { cmd, args, env } = commandLine(argv, options);
  const r = spawnSync(cmd, args, { cwd: options.cwd, env, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runCli(args: readonly string[], options: RunOptions = {}): RunResult {
  // HGRELOAD_CONFIG unset: a settings file on the test machine must not leak in.
  return run([process.execPath, CLI, ...args], { ...options, env: { HGRELOAD_CONFIG: undefined, ...options.env } });
}

/**
 * runCli without blocking: what the test also waits on (log lines, a web
 * server's answers, other daemons' statuses) goes on while the CLI runs.
 */
export function runCliAsync(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { cmd, args: cmdArgs, env } = commandLine([process.execPath, CLI, ...args], { ...options, env: { HGRELOAD_CONFIG: undefined, ...options.env } });
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export type OracleAnswer = { repos: Array<{ name: string; path: string }> } | { error: string; message: string };

/** What Mercurial's hgwebdir serves for `config`, run in `cwd`. */
export function runOracle(config: string, options: RunOptions = {}): OracleAnswer {
  const r = run([SYSTEM_PYTHON, ORACLE, config], options);
  if (r.status !== 0) throw new Error(`oracle failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as OracleAnswer;
}

/** A fresh temp folder, removed with everything in it by the returned function. */
export function makeTempDir(prefix = 'hgreload-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  // Other users (permission tests) must be able to reach what is inside.
  chmodSync(path, 0o755);
  return {
    path,
    remove: () => {
      spawnSync('chmod', ['-R', 'u+rwx', path]);
      rmSync(path, { recursive: true, force: true });
    },
  };
}
