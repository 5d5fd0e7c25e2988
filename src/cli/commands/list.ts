import type { Command, OptionValues } from 'commander';
import { encodeName } from '../../discovery/fs-names.js';
import { loadServed } from '../../discovery/load-served.js';
import { hostMercurial, OLDEST_RULES, refusedEntries, rulesMatter, rulesOf } from '../../discovery/hgweb-rules.js';
import { requireWebConf, type CommandContext } from '../context.js';
import type { Runner } from '../runner.js';

export interface ListOptions extends OptionValues {
  readonly json?: boolean;
  readonly mercurial?: string;
}

export function registerList(program: Command, run: Runner): void {
  program
    .command('list')
    .description("print the repositories hgweb serves for the hgweb.config, in hgweb's order")
    .option('--json', 'print a JSON array of {"name", "path"} instead of name<TAB>path lines')
    .option('--mercurial <version>', "follow the rules of the Mercurial that serves hgweb (default: the one this host's python3 imports)")
    .addHelpText(
      'after',
      `
Computes exactly what Mercurial's hgwebdir serves: [paths] entries (plain, /* and /**)
and [collections], with hgweb's walk rules for symlinks, nested repositories and
.hg/patches. Relative roots are taken from the current folder, as hgweb takes them
from its own working folder. Where Mercurials differ, it follows the one given with
--mercurial, else the one this host's python3 imports (7.2 and later refuse a plain
[paths] entry that is not a repository, and hgweb then fails to start).

Exit status: 0 listed; 1 a root is missing or unreadable (hgweb would fail every
request); 2 bad usage, settings or hgweb.config (what that Mercurial refuses).`,
    )
    .action(run<ListOptions>(list));
}

export async function list(ctx: CommandContext, opts: ListOptions): Promise<number> {
  const given = opts.mercurial === undefined ? undefined : rulesOf(opts.mercurial); // a bad version is a usage error before any work
  const state = await loadServed(requireWebConf(ctx), { cwd: ctx.io.cwd });
  // This host's Mercurial is asked (a Python start) only where its rules can matter.
  const rules = given ?? (rulesMatter(state.roots) ? rulesOf(hostMercurial() ?? OLDEST_RULES.mercurial) : OLDEST_RULES);
  const refused = refusedEntries(state.roots, rules, ctx.io.cwd);
  for (const error of refused) ctx.io.stderr(`hgreload: ${error.format()}\n`);
  if (refused.length > 0) return 2;
  for (const { error } of state.errors) ctx.io.stderr(`hgreload: ${error.format()}\n`);
  if (state.errors.length > 0) return 1;
  if (opts.json) ctx.io.stdout(`${JSON.stringify(state.repos, null, 2)}\n`);
  // The text form prints names and paths as their bytes, as ls does; JSON keeps them
  // as \udcNN escapes of the bytes that are not UTF-8 (Python's json reads them back).
  else ctx.io.stdout(encodeName(state.repos.map((r) => `${r.name}\t${r.path}\n`).join('')));
  return 0;
}
