/**
 * What the changegroup hook adds to a push: `hg push` of one new changeset
 * into a repository with the hook and into one without, taking turns, with
 * the daemon running (so the hook does its real work: a rescan request on the
 * socket, which the daemon counts: the bench fails unless every push arrived).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DaemonStatus } from '../src/daemon/daemon.js';
import { DaemonProcess } from '../test/helpers/daemon-process.js';
import { runCli } from '../test/helpers/run.js';
import { hgInit } from '../test/helpers/web-site.js';
import { median } from './timing.js';

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
