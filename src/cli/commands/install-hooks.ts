import { resolve } from 'node:path';
import type { Command, OptionValues } from 'commander';
import { loadServed } from '../../discovery/load-served.js';
import { installInto } from '../../hooks/install-hooks.js';
import type { RepoOutcome } from '../../hooks/repo-hgrc.js';
import { requireWebConf, type CommandContext } from '../context.js';
import type { Runner } from '../runner.js';

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
Adds "changegroup.hgreload = python:<state>/hgreload_hook.py:changegroup" to
[hooks]; every other byte of each file stays as it was. Running it again
changes nothing; --uninstall takes away exactly what it added. A file that
Mercurial cannot parse, or a symlinked hgrc that leads outside its repository,
is skipped with the reason. Files keep their owner and mode; a new hgrc is
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
  const targets = repos.length > 0 ? repos.map((r) => resolve(ctx.io.cwd, r)) : await servedRepositories(ctx);
  const reports = await installInto(targets, ctx.settings, { uninstall, dryRun });

  const counts = new Map<RepoOutcome, number>();
  for (const r of reports) {
    counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
    const line = `${r.outcome.padEnd(9)} ${r.repo}${r.reason === undefined ? '' : `: ${r.reason}`}\n`;
    (r.outcome === 'failed' ? ctx.io.stderr : ctx.io.stdout)(line);
    if (dryRun && r.diff !== undefined) ctx.io.stdout(Buffer.from(`--- ${r.hgrc}\n+++ ${r.hgrc}\n${r.diff}`, 'latin1'));
  }
  const order: RepoOutcome[] = ['added', 'updated', 'removed', 'unchanged', 'skipped', 'failed'];
  const summary = order.filter((o) => counts.has(o)).map((o) => `${counts.get(o)} ${o}`);
  ctx.io.stdout(`${dryRun ? 'dry run: ' : ''}${summary.length === 0 ? 'no repositories' : summary.join(', ')}\n`);
  return counts.has('failed') ? 1 : 0;
}

/** Every folder hgweb serves (one repository served under two names is edited once). */
async function servedRepositories(ctx: CommandContext): Promise<string[]> {
  const state = await loadServed(requireWebConf(ctx), { cwd: ctx.io.cwd });
  for (const { error } of state.errors) ctx.io.stderr(`hgreload: ${error.format()}\n`);
  return state.repos.map((r) => resolve(ctx.io.cwd, r.path));
}
