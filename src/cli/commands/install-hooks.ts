import { resolve } from 'node:path';
import type { Command, OptionValues } from 'commander';
import { loadServed } from '../../discovery/load-served.js';
import { installInto, rootFolders } from '../../hooks/install-hooks.js';
import type { RepoOutcome } from '../../hooks/repo-hgrc.js';
import { requireWebConf, type CommandContext } from '../context.js';
import type { Runner } from '../runner.js';
import { Progress } from '../progress.js';

export interface InstallHooksOptions extends OptionValues {
  readonly dryRun?: boolean;
  readonly uninstall?: boolean;
}

export function registerInstallHooks(program: Command, run: Runner): void {
  program
    .command('install-hooks')
    .description("add (or remove) hgreload's changegroup hook in every served repository's .hg/hgrc, or in the REPOs named")
    .argument('[REPO...]', 'repository folders (default: every repository hgweb serves)')
    .option('--dry-run', 'print the change each hgrc would get, write nothing')
    .option('--uninstall', 'remove the hook line (and the block hgreload added with it)')
    .addHelpText(
      'after',
      `
Adds "changegroup.hgreload = /usr/bin/python3 -IS <hgreload>/hooks/hgreload_hook.py
<state>/control.sock" to [hooks]: a shell hook from hgreload's own package that
asks the daemon for a rescan and can never fail a push. Every other byte of
each file stays as it was. Running it again changes nothing (and updates the
line an older hgreload wrote); --uninstall takes away exactly what it added. A
file that Mercurial cannot parse, a symlinked hgrc that leads outside its
repository, or a symlinked .hg that leads outside the served roots, is skipped
with the reason. Files keep their owner and mode; a new hgrc is
owned like the repository's .hg (Mercurial ignores hgrc files from owners it
does not trust).

Exit status: 0 every repository done or skipped; 1 some repository failed;
2 bad usage or configuration.`,
    )
    .action(run<InstallHooksOptions>(installHooks));
}

export async function installHooks(ctx: CommandContext, opts: InstallHooksOptions, repos: string[]): Promise<number> {
  const uninstall = opts.uninstall === true;
  const dryRun = opts.dryRun === true;
  const served = repos.length > 0 && ctx.settings.webconf === undefined ? undefined : await servedRepositories(ctx, repos.length === 0);
  const targets = repos.length > 0 ? repos.map((r) => resolve(ctx.io.cwd, r)) : (served?.repos ?? []);
  const progress = new Progress({ what: 'repositories', total: targets.length, write: ctx.io.stderr, terminal: ctx.io.terminal === true });
  const reports = await installInto(targets, ctx.settings, { uninstall, dryRun, within: served?.roots ?? [], onDone: () => progress.step() });
  const took = progress.finish();

  const counts = new Map<RepoOutcome, number>();
  for (const r of reports) {
    counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
    const line = `${r.outcome.padEnd(9)} ${r.repo}${r.reason === undefined ? '' : `: ${r.reason}`}\n`;
    (r.outcome === 'failed' ? ctx.io.stderr : ctx.io.stdout)(line);
    if (dryRun && r.diff !== undefined) ctx.io.stdout(Buffer.from(`--- ${r.hgrc}\n+++ ${r.hgrc}\n${r.diff}`, 'latin1'));
  }
  const order: RepoOutcome[] = ['added', 'updated', 'removed', 'unchanged', 'skipped', 'failed'];
  const summary = order.filter((o) => counts.has(o)).map((o) => `${counts.get(o)} ${o}`);
  ctx.io.stdout(`${dryRun ? 'dry run: ' : ''}${summary.length === 0 ? 'no repositories' : `${summary.join(', ')} (${took})`}\n`);
  return counts.has('failed') ? 1 : 0;
}

/** Every folder hgweb serves (one repository served under two names is edited once), and the roots they are served from. */
async function servedRepositories(ctx: CommandContext, reportErrors: boolean): Promise<{ repos: string[]; roots: string[] }> {
  const state = await loadServed(requireWebConf(ctx), { cwd: ctx.io.cwd });
  if (reportErrors) for (const { error } of state.errors) ctx.io.stderr(`hgreload: ${error.format()}\n`);
  return { repos: state.repos.map((r) => resolve(ctx.io.cwd, r.path)), roots: rootFolders(state.roots, ctx.io.cwd) };
}
