import type { Command, OptionValues } from 'commander';
import { HgreloadError } from '../../errors.js';
import { askDaemon } from '../../daemon/control-client.js';
import { socketPath } from '../../daemon/control-protocol.js';
import type { DaemonStatus } from '../../daemon/daemon.js';
import type { CommandContext } from '../context.js';
import type { Runner } from '../runner.js';

export interface StatusOptions extends OptionValues {
  readonly json?: boolean;
}

export function registerStatus(program: Command, run: Runner): void {
  program
    .command('status')
    .description('what the running daemon sees: roots, repositories, watches, last reload, pending changes')
    .option('--json', 'print the status as JSON')
    .addHelpText('after', '\nExit status: 0 the daemon answered; 1 no daemon runs or it could not be reached.')
    .action(run<StatusOptions>(status));
}

export async function status(ctx: CommandContext, opts: StatusOptions): Promise<number> {
  const path = socketPath(ctx.settings.reload.state);
  const answer = await askDaemon(path, { command: 'status' });
  if (answer === undefined) {
    throw new HgreloadError('control', `no hgreload daemon is running (nothing answers at ${path})`, {
      hint: 'start it (systemctl start hgreload), or name its settings with -c',
    });
  }
  if (!answer.ok) throw new HgreloadError('control', `the daemon refused: ${answer.error}`);
  const s = answer.status as DaemonStatus;
  if (opts.json) {
    ctx.io.stdout(`${JSON.stringify(s, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `daemon        pid ${s.pid}, running since ${s.startedAt}, reload method ${s.method}`,
    `hgweb.config  ${s.webconf}${s.configError === null ? '' : `\n  ERROR ${s.configError} (serving the last good list)`}`,
    `roots         ${s.roots.length}`,
    ...s.roots.map((r) => `  ${r.kind.padEnd(10)} ${r.prefix === '' ? '/' : r.prefix} = ${r.folder}${r.error === undefined ? '' : `\n    ERROR ${r.error}`}`),
    `repositories  ${s.repositories}`,
    `watches       ${s.watches.folders} folders (${s.watches.way}), ${s.watches.configFiles} config files${s.watches.limitReached ? ' (inotify limit reached: some folders are only rescanned on schedule)' : ''}`,
    ...(s.cluster === null ? [] : [`cluster       ${clusterLine(s.cluster)}`]),
    `last scan     ${s.lastScan ?? 'never'}`,
    s.lastReload === null
      ? 'last reload   none since start'
      : `last reload   ${s.lastReload.at} ${s.lastReload.ok ? 'ok' : 'FAILED'} in ${s.lastReload.ms} ms (+${s.lastReload.added} -${s.lastReload.removed}): ${s.lastReload.result}`,
    `pending       ${s.pending ? `yes (${s.pendingReasons.join('; ')})` : 'no'}`,
  ];
  ctx.io.stdout(`${lines.join('\n')}\n`);
  return 0;
}

/** "as front-1: database reached, leading (epoch 4); events applied up to 812 (sent 3, heard 9); polls every 60000 ms" */
function clusterLine(c: NonNullable<DaemonStatus['cluster']>): string {
  const reach = c.mode === 'database' ? 'database reached' : c.mode === 'polling' ? 'DATABASE UNREACHABLE, polling the store' : 'connecting to the database';
  const lead = c.leading ? `leading (epoch ${c.epoch})` : `standby (${c.leader ?? 'no daemon'} leads)`;
  return `as ${c.name}: ${reach}, ${lead}; events applied up to ${c.lastSeq} (sent ${c.sent}, heard ${c.received}); polls every ${c.pollIntervalMs} ms`;
}
