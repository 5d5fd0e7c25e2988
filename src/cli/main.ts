/**
 * The command line. `main` returns the exit status and never exits the
 * process itself: 0 success, 1 the work failed, 2 bad usage or configuration.
 */
import { Command, CommanderError, Option, type OptionValues } from 'commander';
import { HgreloadError } from '../errors.js';
import { commandContext, LOG_LEVELS, type CommandContext, type GlobalOptions } from './context.js';
import { processIo, type CliIo } from './io.js';
import { registerDaemon } from './commands/daemon.js';
import { registerDoctor } from './commands/doctor.js';
import { registerInstallHooks } from './commands/install-hooks.js';
import { registerList } from './commands/list.js';
import { registerStatus } from './commands/status.js';
import { registerTouch } from './commands/touch.js';
import { registerWsgi } from './commands/wsgi.js';

/** Wraps a command's action: builds its context from the global options and records its exit status. */
export type Runner = <O extends OptionValues>(
  action: (ctx: CommandContext, opts: O, args: string[]) => Promise<number>,
) => (...args: unknown[]) => Promise<void>;

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let status = 0;
  const program = new Command('hgreload')
    .description('keep hgweb\'s list of Mercurial repositories fresh, and hook every served repository')
    .option('-c, --config <file>', 'hgreload settings file (default: $HGRELOAD_CONFIG, then /etc/hgreload/hgreload.ini)')
    .option('-w, --web-conf <file>', 'the hgweb.config (overrides "webconf" in the settings)')
    .addOption(new Option('--log-level <level>', 'daemon log level').choices(LOG_LEVELS))
    .showHelpAfterError('(run "hgreload --help" for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (text, write) => write(text) });

  const run: Runner = (action) => async (...args) => {
    const command = args[args.length - 1] as Command;
    const ctx = commandContext(command.optsWithGlobals<GlobalOptions>(), io);
    status = await action(ctx, command.opts() as Parameters<typeof action>[1], command.args);
  };
  registerDaemon(program, run);
  registerDoctor(program, io, (s) => (status = s));
  registerInstallHooks(program, run);
  registerList(program, run);
  registerStatus(program, run);
  registerTouch(program, run);
  registerWsgi(program, run);

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version are not failures; every other commander error is bad usage.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof HgreloadError) {
      io.stderr(`hgreload: ${err.format()}\n`);
      return err.exitCode;
    }
    io.stderr(`hgreload: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
  return status;
}
