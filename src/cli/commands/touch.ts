import type { Command } from 'commander';
import { HgreloadError } from '../../errors.js';
import { askDaemon } from '../../daemon/control-client.js';
import { socketPath } from '../../daemon/control-protocol.js';
import { loadServed } from '../../discovery/load-served.js';
import { EMPTY_LIST, servedList } from '../../model/served-list.js';
import { createReloader } from '../../reload/reloader.js';
import { requireWebConf, type CommandContext } from '../context.js';
import type { Runner } from '../runner.js';

export function registerTouch(program: Command, run: Runner): void {
  program
    .command('touch')
    .description('reload hgweb now: through the running daemon (coalesced with other changes), else directly')
    .addHelpText('after', '\nExit status: 0 reloaded (or queued in the daemon); 1 the reload failed or a root is missing.')
    .action(run(touch));
}

export async function touch(ctx: CommandContext): Promise<number> {
  const answer = await askDaemon(socketPath(ctx.settings.reload.state), { command: 'touch', reason: 'hgreload touch' });
  if (answer !== undefined) {
    if (!answer.ok) throw new HgreloadError('control', `the daemon refused: ${answer.error}`);
    ctx.io.stdout('reload queued in the running daemon\n');
    return 0;
  }
  const reloader = createReloader(ctx.settings);
  const state = await loadServed(requireWebConf(ctx), { cwd: ctx.io.cwd });
  for (const { error } of state.errors) ctx.io.stderr(`hgreload: ${error.format()}\n`);
  const list = servedList(state.repos);
  ctx.io.stdout(`no daemon running; ${await reloader.reload({ before: EMPTY_LIST, after: list, splices: [] }, true)}\n`);
  return state.errors.length > 0 ? 1 : 0;
}
