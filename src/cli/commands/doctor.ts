import type { Command, OptionValues } from 'commander';
import { runDoctor } from '../../doctor/checks.js';
import type { Level } from '../../doctor/finding.js';
import type { GlobalOptions } from '../context.js';
import type { CliIo } from '../io.js';

export interface DoctorOptions extends OptionValues {
  readonly json?: boolean;
  readonly apacheRoot: string;
  readonly user?: string;
  readonly unit: string;
}

const LABEL: Record<Level, string> = { ok: 'ok  ', info: 'info', warn: 'warn', fail: 'FAIL' };

/** doctor reads the settings itself: a broken settings file is one of the things it reports, not a reason to stop. */
export function registerDoctor(program: Command, io: CliIo, done: (status: number) => void): void {
  program
    .command('doctor')
    .description('check the deployment and say what is wrong and how to fix it')
    .option('--json', 'print the findings as JSON')
    .option('--apache-root <dir>', "where Apache's configuration lives", '/etc/apache2')
    .option('--user <name>', "the daemon's user, whose permissions are checked (default: User= of the unit)")
    .option('--unit <file>', 'the installed systemd unit', '/etc/systemd/system/hgreload.service')
    .addHelpText(
      'after',
      `
Checks: the settings and hgweb.config parse; every root exists; the reload
method can work (WSGI script writable, pidfile naming a live server, command
runnable, state folder writable), for the daemon's user (the unit's User=, or
--user) rather than whoever runs doctor; the WSGI script in use reads what the
daemon publishes, and the web server's user may read it; web.refreshinterval fits; the daemon answers;
Apache's mod_wsgi setup (daemon mode for touch, maximum-requests, the WSGI
script's stderr protection under mod_wsgi before 6.0.1); inotify watches
against the limit; how the hook is installed (system-wide, or in how many
repositories); the systemd unit; with [cluster] database, that PostgreSQL
answers (as the user running doctor), is 14 or later, and holds a schema this
hgreload can use with the privileges its daemon needs.

Exit status: 0 nothing is broken (warnings alone do not fail); 1 something is.`,
    )
    .action(async (opts: DoctorOptions, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const findings = await runDoctor({
        explicitSettings: globals.config ?? io.env.HGRELOAD_CONFIG,
        webConf: globals.webConf,
        cwd: io.cwd,
        env: io.env,
        apacheRoot: opts.apacheRoot,
        unitFile: opts.unit,
        ...(opts.user === undefined ? {} : { user: opts.user }),
      });
      if (opts.json) {
        io.stdout(`${JSON.stringify(findings, null, 2)}\n`);
      } else {
        for (const f of findings) io.stdout(`${LABEL[f.level]}  ${f.check.padEnd(16)} ${f.message}\n${f.fix === undefined ? '' : `      ${''.padEnd(16)} fix: ${f.fix}\n`}`);
        const count = (level: Level) => findings.filter((f) => f.level === level).length;
        io.stdout(`${count('fail')} broken, ${count('warn')} warnings\n`);
      }
      done(findings.some((f) => f.level === 'fail') ? 1 : 0);
    });
}
