import { resolve } from 'node:path';
import type { Command, OptionValues } from 'commander';
import { physicalAbsolute } from '../../config/paths.js';
import { socketPath } from '../../daemon/control-protocol.js';
import { HgreloadError } from '../../errors.js';
import { hookValue } from '../../hooks/hook-script.js';
import { SYSTEM_HOOK_FILE, systemHook } from '../../hooks/system-config.js';
import { editSystemHook } from '../../hooks/system-hook.js';
import { loadServed } from '../../discovery/load-served.js';
import { installInto, rootFolders } from '../../hooks/install-hooks.js';
import type { RepoOutcome } from '../../hooks/repo-hgrc.js';
import { requireWebConf, type CommandContext } from '../context.js';
import type { Runner } from '../runner.js';
import { Progress } from '../progress.js';

export interface InstallHooksOptions extends OptionValues {
  readonly dryRun?: boolean;
  readonly uninstall?: boolean;
  readonly system?: boolean;
  readonly systemFile: string;
}

export function registerInstallHooks(program: Command, run: Runner): void {
  program
    .command('install-hooks')
    .description("add (or remove) hgreload's changegroup hook in every served repository's .hg/hgrc, or in the REPOs named")
    .argument('[REPO...]', 'repository folders (default: every repository hgweb serves)')
    .option('--dry-run', 'print the change each hgrc would get, write nothing')
    .option('--uninstall', 'remove the hook line (and the block hgreload added with it)')
    .option('--system', 'one system-wide hook for every repository on this host, in --system-file, instead of one per repository')
    .option('--system-file <file>', 'where --system writes, and where a system-wide hook is looked for', SYSTEM_HOOK_FILE)
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

With --system, the same line goes into one file that every Mercurial on the
host reads (${SYSTEM_HOOK_FILE}, as root): every repository,
served or not, present or future, then tells the daemon of its pushes (those
outside the served roots cost it nothing). Running it again changes nothing;
--system --uninstall takes away exactly what it added, and the file when
nothing else was in it. Served repositories that have the hook in their own
hgrc too would run it twice on each push: it says how many, and
"install-hooks --uninstall" (without --system) removes those.

Exit status: 0 every repository done or skipped; 1 some repository failed
(--system: the file could not be written); 2 bad usage or configuration.`,
    )
    .action(run<InstallHooksOptions>(installHooks));
}

export async function installHooks(ctx: CommandContext, opts: InstallHooksOptions, repos: string[]): Promise<number> {
  if (opts.system === true) {
    if (repos.length > 0) throw new HgreloadError('usage', '--system takes no REPO', { hint: 'the system-wide hook covers every repository; name repositories without --system' });
    return systemWide(ctx, opts);
  }
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
  const inForce = systemHook(ctx.io.env);
  if (!uninstall && inForce !== undefined) {
    ctx.io.stderr(`hgreload: warning: a system-wide hook is in force too (${inForce.source}): each push into these repositories runs the hook twice; keep one (install-hooks --uninstall, or --system --uninstall)\n`);
  }
  return counts.has('failed') ? 1 : 0;
}

/** `--system`: the one file, then a word about served repositories that have their own hook too. */
async function systemWide(ctx: CommandContext, opts: InstallHooksOptions): Promise<number> {
  const uninstall = opts.uninstall === true;
  const dryRun = opts.dryRun === true;
  const file = physicalAbsolute(opts.systemFile, ctx.io.cwd);
  const edit = await editSystemHook(file, { uninstall, dryRun, value: hookValue(socketPath(ctx.settings.reload.state)) });
  ctx.io.stdout(`${dryRun ? 'dry run: ' : ''}${edit.outcome} ${file}\n`);
  if (edit.diff !== undefined && dryRun) ctx.io.stdout(Buffer.from(`--- ${file}\n+++ ${file}\n${edit.diff}`, 'latin1'));
  if (uninstall || ctx.settings.webconf === undefined) return 0;
  // Which served repositories have the hook themselves: what a dry-run uninstall of theirs would remove.
  const served = await servedRepositories(ctx, false);
  const own = (await installInto(served.repos, ctx.settings, { uninstall: true, dryRun: true, within: served.roots })).filter((r) => r.outcome === 'removed');
  if (own.length > 0) {
    ctx.io.stderr(
      `hgreload: warning: ${own.length} served repositories have the hook in their own hgrc too (${own[0]!.hgrc}${own.length > 1 ? ', ...' : ''}): each push into them runs it twice; "hgreload install-hooks --uninstall" removes theirs\n`,
    );
  }
  return 0;
}

/** Every folder hgweb serves (one repository served under two names is edited once), and the roots they are served from. */
async function servedRepositories(ctx: CommandContext, reportErrors: boolean): Promise<{ repos: string[]; roots: string[] }> {
  const state = await loadServed(requireWebConf(ctx), { cwd: ctx.io.cwd });
  if (reportErrors) for (const { error } of state.errors) ctx.io.stderr(`hgreload: ${error.format()}\n`);
  return { repos: state.repos.map((r) => resolve(ctx.io.cwd, r.path)), roots: rootFolders(state.roots, ctx.io.cwd) };
}
