/** Running the built CLI and Mercurial's own hgwebdir from tests. */
import { spawnSync } from 'node:child_process';
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

let copyForOthers: { cli: string; oracle: string } | undefined;
/**
 * The CLI and the oracle where any user can run them. The checkout may sit in a
 * folder only root can enter (a fresh `mktemp -d` clone is 0700), so tests that
 * run as another user run a world-readable copy, made once and removed at exit.
 */
function readableCopy(): { cli: string; oracle: string } {
  if (copyForOthers === undefined) {
    const dir = makeTempDir('hgreload-copy-');
    process.on('exit', dir.remove);
    for (const part of ['package.json', 'dist/src', 'node_modules', 'hooks', 'test/oracle']) {
      cpSync(join(PROJECT_ROOT, part), join(dir.path, part), { recursive: true });
    }
    spawnSync('chmod', ['-R', 'a+rX', dir.path]);
    copyForOthers = { cli: join(dir.path, 'dist/src/cli/bin.js'), oracle: join(dir.path, 'test/oracle/hgwebdir_repos.py') };
  }
  return copyForOthers;
}

/** The program, arguments and environment that run `argv` with `options` (setpriv for `user`). */
export function commandLine(argv: readonly string[], options: RunOptions): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } {
  const asOther = (a: string): string => (a === CLI ? readableCopy().cli : a === ORACLE ? readableCopy().oracle : a);
  const [cmd, ...args] =
    options.user === undefined
      ? options.readable === true
        ? argv.map(asOther)
        : argv
      : ['setpriv', `--reuid=${options.user}`, `--regid=${groupOf(options.user)}`, '--clear-groups', '--', ...argv.map(asOther)];
  return { cmd: cmd!, args, env: { ...process.env, ...options.env } };
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
