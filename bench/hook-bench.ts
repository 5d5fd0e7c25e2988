/**
 * What the changegroup hook adds to a push: `hg push` of one new changeset
 * into a repository with the hook and into one without, taking turns, with
 * the daemon running (so the hook does its real work: a rescan request on the
 * socket, which the daemon counts: the bench fails unless every push arrived).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DaemonStatus } from '../src/daemon/daemon.js';
import { HOOK_NAME } from '../src/hooks/hgrc-edit.js';
import { DaemonProcess } from '../test/helpers/daemon-process.js';
import { CLI, runCli } from '../test/helpers/run.js';
import { hgInit } from '../test/helpers/web-site.js';
import { median } from './timing.js';
import { buildTree } from './tree.js';

export interface HookResult {
  readonly pushes: number;
  readonly withHookMs: number[];
  readonly withoutHookMs: number[];
}

const env = { ...process.env, HGRCPATH: '' };
const hg = (args: string[]): void => {
  const r = spawnSync('hg', args, { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`hg ${args.join(' ')}: ${r.stderr}`);
};

export async function benchHook(dir: string, pushes: number): Promise<HookResult> {
  process.stderr.write(`hook: ${pushes} pushes with the hook and ${pushes} without\n`);
  for (const name of ['hooked', 'plain']) {
    hgInit(join(dir, 'repos', name));
    hg(['clone', '-q', join(dir, 'repos', name), join(dir, `clone-${name}`)]);
  }
  writeFileSync(join(dir, 'hgweb.config'), `[paths]\n/ = ${dir}/repos/*\n`);
  const ini = join(dir, 'hgreload.ini');
  writeFileSync(ini, 'webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 50\n');
  const installed = runCli(['-c', ini, 'install-hooks', join(dir, 'repos/hooked')]);
  if (installed.status !== 0 || !/^added /m.test(installed.stdout)) throw new Error(`hook bench: install-hooks failed: ${installed.stdout}${installed.stderr}`);
  const daemon = new DaemonProcess(['-c', ini]);
  await daemon.waitFor((l) => l.msg === 'ready', 'ready');
  const times: Record<string, number[]> = { hooked: [], plain: [] };
  try {
    for (let i = 0; i < pushes + 1; i++) {
      for (const name of ['hooked', 'plain']) {
        const clone = join(dir, `clone-${name}`);
        writeFileSync(join(clone, 'f'), `${i}\n`);
        hg(['-R', clone, 'commit', '-q', '-A', '-m', `change ${i}`, '-u', 'bench']);
        const t0 = performance.now();
        hg(['-R', clone, 'push', '-q']);
        // The first round warms the page cache and Python's bytecode; it is not counted.
        if (i > 0) times[name]!.push(performance.now() - t0);
      }
    }
    // Each timed push must have reached the daemon, or the figure is that of a hook that did nothing.
    const status = JSON.parse(runCli(['-c', ini, 'status', '--json']).stdout) as DaemonStatus;
    const rescans = status.requests.rescan ?? 0;
    if (rescans !== pushes + 1) throw new Error(`hook bench: the daemon heard of ${rescans} pushes; ${pushes + 1} were made with the hook`);
  } finally {
    await daemon.stop();
  }
  return { pushes, withHookMs: times.hooked!, withoutHookMs: times.plain! };
}

export function hookMarkdown(r: HookResult): string {
  const withHook = median(r.withHookMs);
  const without = median(r.withoutHookMs);
  return [
    `The changegroup hook on a local \`hg push\` of one changeset, ${r.pushes} pushes each, taking turns, daemon running:`,
    '',
    '| push | median | added by the hook |',
    '|---|---:|---:|',
    `| without the hook | ${Math.round(without)} ms | |`,
    `| with the hook | ${Math.round(withHook)} ms | ${(withHook - without).toFixed(1)} ms |`,
  ].join('\n');
}

export interface InstallResult {
  readonly repos: number;
  readonly firstMs: number;
  readonly againMs: number;
  readonly uninstallMs: number;
  readonly systemMs: number;
  readonly systemUninstallMs: number;
}

/**
 * `install-hooks` over a whole host of stand-in repositories: the first run,
 * again (nothing to change), uninstall, and the system-wide hook (into a temp
 * file by --system-file). Each timed run's answer is checked: every hgrc holds
 * the line after installing, none after uninstalling, and the system file
 * holds it.
 */
export async function benchInstallHooks(dir: string, size: number): Promise<InstallResult> {
  process.stderr.write(`install-hooks: ${size.toLocaleString('en-US')} stand-in repositories\n`);
  const tree = await buildTree(dir, size, { workingSubfolder: false });
  const ini = join(dir, 'hgreload.ini');
  writeFileSync(ini, `webconf = ${tree.config}\n[reload]\nmethod = publish\nstate = ${join(dir, 'state')}\n`);
  const systemFile = join(dir, 'hgreload.rc');
  const timed = (args: string[], expect: RegExp): number => {
    const t0 = performance.now();
    // A line per repository on stdout: more than spawnSync's default buffer.
    const r = spawnSync(process.execPath, [CLI, '-c', ini, 'install-hooks', ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const ms = performance.now() - t0;
    if (r.status !== 0 || !expect.test(r.stdout)) throw new Error(`install-hooks ${args.join(' ')}: status ${r.status}, ${r.stdout.slice(-300)}${r.stderr.slice(-300)}`);
    return ms;
  };
  const hooked = (): number =>
    tree.names.filter((name) => {
      const hgrc = join(tree.root, name, '.hg/hgrc');
      return existsSync(hgrc) && readFileSync(hgrc, 'latin1').includes(`${HOOK_NAME} = `);
    }).length;
  const check = (what: string, want: number): void => {
    const got = hooked();
    if (got !== want) throw new Error(`install-hooks bench: after ${what}, ${got} of ${size} hgrc files hold the hook; ${want} should`);
  };
  const firstMs = timed([], new RegExp(`^${size} added `, 'm'));
  check('the first run', size);
  const againMs = timed([], new RegExp(`^${size} unchanged `, 'm'));
  check('the run again', size);
  const uninstallMs = timed(['--uninstall'], new RegExp(`^${size} removed `, 'm'));
  check('uninstall', 0);
  const systemMs = timed(['--system', '--system-file', systemFile], /^added /m);
  if (!readFileSync(systemFile, 'latin1').includes(`${HOOK_NAME} = `)) throw new Error('install-hooks bench: the system file holds no hook');
  const systemUninstallMs = timed(['--system', '--system-file', systemFile, '--uninstall'], /^removed /m);
  if (existsSync(systemFile)) throw new Error('install-hooks bench: the system file outlived --system --uninstall');
  rmSync(dir, { recursive: true, force: true });
  return { repos: size, firstMs, againMs, uninstallMs, systemMs, systemUninstallMs };
}

export function installMarkdown(r: InstallResult): string {
  const s = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);
  return [
    `\`hgreload install-hooks\` on ${r.repos.toLocaleString('en-US')} stand-in repositories (one run each, the CLI's whole time, Node's start and the walk of the roots included; each checked: every hgrc holds the hook after installing, none after uninstalling):`,
    '',
    '| per repository: first run | again (nothing to change) | --uninstall | --system (one file) | --system --uninstall |',
    '|---:|---:|---:|---:|---:|',
    `| ${s(r.firstMs)} | ${s(r.againMs)} | ${s(r.uninstallMs)} | ${s(r.systemMs)} | ${s(r.systemUninstallMs)} |`,
  ].join('\n');
}
