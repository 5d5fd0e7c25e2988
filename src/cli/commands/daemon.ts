import type { Command } from 'commander';
import { Daemon } from '../../daemon/daemon.js';
import { createLogger } from '../../daemon/logger.js';
import { compactHeap } from '../../util/heap.js';
import { requireWebConf, type CommandContext } from '../context.js';
import type { Runner } from '../runner.js';

export function registerDaemon(program: Command, run: Runner): void {
  program
    .command('daemon')
    .description('run in the foreground: discover, watch, coalesce changes, reload hgweb (for systemd)')
    .addHelpText(
      'after',
      `
Logs JSON lines on stdout (one per reload, with what changed and how long it took).
Signals: SIGHUP re-reads the settings (a broken file keeps the current ones);
SIGTERM or SIGINT stops cleanly. The control socket for "hgreload status" and
"hgreload touch" is <state>/control.sock, for the daemon's user and group only.

Exit status: 0 stopped by a signal; 1 could not start; 2 bad usage or configuration.`,
    )
    .action(run(runDaemon));
}

export async function runDaemon(ctx: CommandContext): Promise<number> {
  requireWebConf(ctx);
  const logger = createLogger(ctx.logLevel);
  // systemd names the unit's StateDirectory= here (hgreload@NAME: /var/lib/hgreload/NAME); a settings
  // file naming another folder is most likely an instance's NAME.ini without its own `state`.
  const unitState = ctx.io.env.STATE_DIRECTORY?.split(':')[0];
  if (unitState !== undefined && unitState !== ctx.settings.reload.state) {
    logger.warn({ unitState, state: ctx.settings.reload.state }, `the unit's state folder is ${unitState}, but the settings use ${ctx.settings.reload.state}: set "state = ${unitState}" in [reload] of ${ctx.settings.file ?? 'the settings file'}`);
  }
  const daemon = new Daemon(ctx.settings, { logger, cwd: ctx.io.cwd, compactHeap });
  // Signals are ours from the first moment: systemd may send SIGHUP or SIGTERM during a
  // long first walk, and Node's default for SIGHUP is to die (status 129, not restarted).
  let ready = false;
  let hupWhileStarting = false;
  const rereadSettings = (): void => {
    let settings;
    try {
      settings = ctx.reloadSettings();
    } catch (err) {
      return void logger.error({ err }, 'settings not reloaded; keeping the current ones');
    }
    daemon.useSettings(settings).catch((err: unknown) => logger.error({ err }, 'settings not reloaded; keeping the current ones'));
  };
  const unsubscribe: Array<() => void> = [];
  unsubscribe.push(
    ctx.io.onSignal('SIGHUP', () => {
      if (ready) return rereadSettings();
      hupWhileStarting = true;
      logger.info('SIGHUP while starting: the settings are read again once ready');
    }),
  );
  const stop = new Promise<NodeJS.Signals>((resolve) => {
    for (const s of ['SIGTERM', 'SIGINT'] as const) unsubscribe.push(ctx.io.onSignal(s, () => resolve(s)));
  });
  const off = (): void => {
    for (const unsub of unsubscribe) unsub();
  };
  const started = daemon.start().then(
    () => undefined,
    (err: unknown) => err,
  );
  const first = await Promise.race([started.then((err) => ({ err })), stop.then((signal) => ({ signal }))]);
  if ('err' in first && first.err !== undefined) {
    logger.fatal({ err: first.err }, 'could not start');
    await daemon.close();
    off();
    throw first.err;
  }
  if ('err' in first) {
    ready = true;
    if (hupWhileStarting) rereadSettings();
  }
  const signal = 'signal' in first ? first.signal : await stop;
  logger.info({ signal }, 'stopping');
  // close() lets a start in progress finish its current step, then undoes it.
  await daemon.close();
  off();
  logger.info('stopped');
  return 0;
}
