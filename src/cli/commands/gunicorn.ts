import type { Command, OptionValues } from 'commander';
import { readMercurialConfig } from '../../config/hgrc-reader.js';
import { abspath, dirname, physicalAbsolute } from '../../config/paths.js';
import { configuredRoots, HGWEB_REMAP, type Root } from '../../discovery/served-repos.js';
import { renderGunicornUnit } from '../../deploy/gunicorn-unit.js';
import { positiveInteger, requireScript } from '../arguments.js';
import { requireWebConf, type CommandContext } from '../context.js';
import type { Runner } from '../runner.js';

export interface GunicornOptions extends OptionValues {
  readonly workers: string;
  readonly threads: string;
  readonly bind: string;
  readonly user: string;
  readonly script?: string;
  readonly pidfile?: string;
}

const DEFAULT_PIDFILE = '/run/hgweb/gunicorn.pid';

export function registerGunicorn(program: Command, run: Runner): void {
  program
    .command('gunicorn')
    .description('print a systemd unit for gunicorn serving the script of "hgreload wsgi"')
    .option('--workers <n>', 'gunicorn worker processes', '2')
    .option('--threads <n>', 'threads per worker', '4')
    .option('--bind <addr>', 'address to listen on', '127.0.0.1:8000')
    .option('--user <name>', 'the user gunicorn runs as (pushes over HTTP write as it)', 'www-data')
    .option('--script <path>', 'the WSGI script, NAME.py (default: [reload] wsgi in the settings)')
    .option('--pidfile <path>', `gunicorn's pidfile (default: [reload] pidfile, else ${DEFAULT_PIDFILE})`)
    .addHelpText(
      'after',
      `
gunicorn imports the script as a module, so save it with a .py name, e.g.:

  hgreload -c /etc/hgreload/hgreload.ini wsgi > /var/www/hg/hgweb_app.py
  hgreload -c /etc/hgreload/hgreload.ini gunicorn --script /var/www/hg/hgweb_app.py > /etc/systemd/system/hgweb.service

The unit lets gunicorn write only below the roots the hgweb.config serves (pushes).`,
    )
    .action(run<GunicornOptions>(gunicorn));
}

/** Where a root's repositories live on disk: the folders pushes write into. */
function rootFolder(root: Root, cwd: string): string {
  return root.kind === 'plain' ? abspath(root.path, cwd) : abspath(root.folder, cwd);
}

/** The served roots, with relative ones taken from the script's folder: gunicorn's --chdir is hgweb's working folder. */
function servedFolders(webconf: string, cwd: string): string[] {
  const { config } = readMercurialConfig(webconf, { remap: HGWEB_REMAP });
  return [...new Set(configuredRoots(config, cwd).map((root) => rootFolder(root, cwd)))];
}

export async function gunicorn(ctx: CommandContext, opts: GunicornOptions): Promise<number> {
  const workers = positiveInteger('workers', opts.workers);
  const threads = positiveInteger('threads', opts.threads);
  const webconf = requireWebConf(ctx);
  const script = requireScript(ctx, opts.script);
  const pidfile = physicalAbsolute(opts.pidfile ?? ctx.settings.reload.pidfile ?? DEFAULT_PIDFILE, ctx.io.cwd);
  const roots = servedFolders(webconf, dirname(script));
  ctx.io.stdout(renderGunicornUnit({ workers, threads, bind: opts.bind, user: opts.user, script, pidfile, webconf, roots }));
  return 0;
}
