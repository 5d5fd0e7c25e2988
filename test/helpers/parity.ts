/**
 * The parity check: Mercurial's own hgwebdir (the oracle) and `hgreload list
 * --json` are run on the same hgweb.config, in the same working folder and as
 * the same user, and must give the same list (order and duplicates included)
 * or fail alike.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after } from 'node:test';
import { CLI, commandLine, makeTempDir, ORACLE, SYSTEM_PYTHON, type OracleAnswer, type RunOptions, type RunResult } from './run.js';
import { TreeBuilder } from './tree.js';

export interface ServedRepo {
  readonly name: string;
  readonly path: string;
}

/**
 * What the case is about, checked on the oracle's answer before the two are
 * compared: a tree that does not produce the situation a test names (a
 * permission that root bypasses, a symlink that did not resolve) would make
 * the comparison pass without testing anything.
 */
export interface CaseExpectations {
  /** hgweb fails (true) or serves a list (false). */
  readonly fails?: boolean;
  /** Names hgweb must serve. */
  readonly serves?: readonly string[];
  /** Names hgweb must not serve. */
  readonly omits?: readonly string[];
  /**
   * When hgweb fails: the path hgreload's stderr must name. By default the file
   * Python's error names, or else the config file (Mercurial's config errors
   * carry their location apart from the message, where the oracle cannot show it).
   */
  readonly failingPath?: string;
}

export interface ParityOptions extends RunOptions {
  readonly expect?: CaseExpectations;
}

export type ParityOutcome = { readonly repos: ServedRepo[] } | { readonly error: string; readonly message: string };

// Mercurial's config failures (hgweb would not start): hgreload reports them as
// bad configuration, exit status 2. Every other failure is the walk's (exit 1).
const CONFIG_ERRORS: ReadonlySet<string> = new Set(['ConfigError', 'Abort', 'ParseError']);

/** Runs both sides and asserts they agree. Returns the oracle's answer. */
export async function assertParity(configFile: string, options: ParityOptions = {}): Promise<ParityOutcome> {
  const { expect = {}, ...run } = options;
  // Both at once: a python start costs ~150 ms and a node start ~100 ms, for every case.
  const [oracleRun, cli] = await Promise.all([
    runAsync([SYSTEM_PYTHON, ORACLE, configFile], run),
    // HGRELOAD_CONFIG unset, as runCli does: a settings file on the test machine must not leak in.
    runAsync([process.execPath, CLI, 'list', '--json', '-w', configFile], { ...run, env: { HGRELOAD_CONFIG: undefined, ...run.env } }),
  ]);
  if (oracleRun.status !== 0) throw new Error(`oracle failed (${oracleRun.status}): ${oracleRun.stderr}`);
  const oracle = JSON.parse(oracleRun.stdout) as OracleAnswer;
  const context = describeCase(configFile, run);

  if (expect.fails !== undefined) {
    assert.equal('error' in oracle, expect.fails, `${context}\nthe case is not what it claims: the oracle answered ${JSON.stringify(oracle)}`);
  }

  if ('error' in oracle) {
    const expectedStatus = CONFIG_ERRORS.has(oracle.error) ? 2 : 1;
    const cliSays = `hgreload exited ${cli.status}\nstdout: ${cli.stdout}\nstderr: ${cli.stderr}`;
    assert.equal(
      cli.status,
      expectedStatus,
      `${context}\nhgweb fails with ${oracle.error}: ${oracle.message}\nso hgreload must exit ${expectedStatus}; ${cliSays}`,
    );
    // The administrator must learn which path broke hgweb: the one Python names,
    // or for a config error the config file itself.
    const failing = expect.failingPath ?? failingPath(oracle.message) ?? configFile;
    assert.ok(cli.stderr.includes(failing), `${context}\nhgweb fails at ${JSON.stringify(failing)} (${oracle.message}), which hgreload's stderr does not name; ${cliSays}`);
    return oracle;
  }

  const names = oracle.repos.map((r) => r.name);
  for (const name of expect.serves ?? []) {
    assert.ok(names.includes(name), `${context}\nthe case is not what it claims: hgweb does not serve ${JSON.stringify(name)}: ${JSON.stringify(names)}`);
  }
  for (const name of expect.omits ?? []) {
    assert.ok(!names.includes(name), `${context}\nthe case is not what it claims: hgweb serves ${JSON.stringify(name)}`);
  }

  assert.equal(cli.status, 0, `${context}\nhgweb serves ${JSON.stringify(oracle.repos)}\nbut hgreload exited ${cli.status}: ${cli.stderr}`);
  let listed: ServedRepo[];
  try {
    listed = JSON.parse(cli.stdout) as ServedRepo[];
  } catch {
    assert.fail(`${context}\nhgreload's output is not JSON: ${cli.stdout}`);
  }
  assert.deepEqual(listed, oracle.repos, `${context}\n${diffLists(oracle.repos, listed)}`);
  return oracle;
}

/** run.ts's runner, but asynchronous, so that the oracle and the CLI of one case run side by side. */
function runAsync(argv: readonly string[], options: RunOptions): Promise<RunResult> {
  const { cmd, args, env } = commandLine(argv, options);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The file name in Python's OSError text: `[Errno 2] No such file or directory: b'/x'`. */
function failingPath(message: string): string | undefined {
  const m = /: b?'((?:[^'\\]|\\.)*)'$/.exec(message);
  return m?.[1];
}

function describeCase(configFile: string, run: RunOptions): string {
  let text: string;
  try {
    // Joined, not resolved: the kernel must see `link/..` in the path as hgweb's open does.
    text = readFileSync(configFile.startsWith('/') || run.cwd === undefined ? configFile : `${run.cwd}/${configFile}`, 'utf8');
  } catch {
    text = '(unreadable)';
  }
  const who = run.user === undefined ? '' : `, as ${run.user}`;
  // Show the bytes that matter to the parser (CR, BOM) instead of letting them garble the message.
  const shown = text.replace(/\uFEFF/g, '<BOM>').replace(/\r/g, '<CR>').replace(/\n$/, '');
  return `config ${configFile} (cwd ${run.cwd ?? process.cwd()}${who}):\n${shown.replace(/^/gm, '  | ')}`;
}

/** A line diff of two lists (hgweb's is `-`, hgreload's is `+`), so a failure shows what moved. */
export function diffLists(expected: readonly ServedRepo[], actual: readonly ServedRepo[]): string {
  const a = expected.map((r) => `${r.name}  ->  ${r.path}`);
  const b = actual.map((r) => `${r.name}  ->  ${r.path}`);
  // Longest common subsequence table, filled from the ends.
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out = ['--- hgweb (oracle)', '+++ hgreload list'];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i++]}`);
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      out.push(`+ ${b[j++]}`);
    } else {
      out.push(`- ${a[i++]}`);
    }
  }
  return out.join('\n');
}

export interface ParityTree {
  readonly tree: TreeBuilder;
  readonly base: string;
  /** Compares `/ = <base>/<root>/<star>` between hgweb and hgreload, run in the tree's base. */
  readonly walk: (name: string, root: string, star: '*' | '**', expect?: CaseExpectations, run?: RunOptions) => Promise<ParityOutcome>;
}

/**
 * One temp tree for a describe block: made now (so the block's `before` can fill
 * it) and removed after the block.
 */
export function parityTree(prefix: string): ParityTree {
  const temp = makeTempDir(prefix);
  after(() => temp.remove());
  const tree = new TreeBuilder(temp.path);
  const base = temp.path;
  return {
    tree,
    base,
    walk: (name, root, star, expect = {}, run = {}) =>
      assertParity(tree.config(`${name}.config`, ['[paths]', `/ = ${base}/${root}/${star}`]), { cwd: base, ...run, expect }),
  };
}
