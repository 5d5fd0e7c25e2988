/**
 * The command line. `main` returns the exit status and never exits the
 * process itself: 0 success, 1 the work failed, 2 bad usage or configuration.
 */
import { Command, CommanderError, Option } from 'commander';
import { HgreloadError } from '../errors.js';
import { LOG_LEVELS } from './context.js';
import { processIo, type CliIo } from './io.js';
import { createRunner } from './runner.js';
import { registerApache } from './commands/apache.js';
import { registerDaemon } from './commands/daemon.js';
import { registerDoctor } from './commands/doctor.js';
import { registerGunicorn } from './commands/gunicorn.js';
import { registerInstallHooks } from './commands/install-hooks.js';
import { registerList } from './commands/list.js';
import { registerStatus } from './commands/status.js';
import { registerTouch } from './commands/touch.js';
import { registerWsgi } from './commands/wsgi.js';
import { packageVersion } from '../util/project-files.js';

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let status = 0;
  const program = new Command('hgreload')
    .description('keep hgweb\'s list of Mercurial repositories fresh, and hook every served repository')
    .version(packageVersion(), '-V, --version', 'print the version of hgreload')
    .option('-c, --config <file>', 'hgreload settings file (default: $HGRELOAD_CONFIG, then /etc/hgreload/hgreload.ini)')
    .option('-w, --web-conf <file>', 'the hgweb.config (overrides "webconf" in the settings)')
    .addOption(new Option('--log-level <level>', 'daemon log level').choices(LOG_LEVELS))
    .showHelpAfterError('(run "hgreload --help" for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (text, write) => write(text) });

  const record = (s: number): void => void (status = s);
  const run = createRunner(io, record);
  registerApache(program, run);
  registerDaemon(program, run);
  registerDoctor(program, io, record);
  registerGunicorn(program, run);
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
