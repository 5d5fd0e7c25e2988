import type { Command, OptionValues } from 'commander';
import { HgreloadError } from '../../errors.js';
import { renderVhost } from '../../deploy/apache-vhost.js';
import { positiveInteger, requireScript } from '../arguments.js';
import { requireWebConf, type CommandContext } from '../context.js';
import type { Runner } from '../runner.js';

export interface ApacheOptions extends OptionValues {
  readonly serverName: string;
  readonly port: string;
  readonly processes: string;
  readonly threads: string;
  readonly urlPrefix: string;
  readonly script?: string;
  readonly user: string;
}

export function registerApache(program: Command, run: Runner): void {
  program
    .command('apache')
    .description('print an Apache <VirtualHost> serving hgweb through mod_wsgi in daemon mode, for these settings')
    .option('--server-name <name>', 'the virtual host\'s ServerName', 'localhost')
    .option('--port <n>', 'the port it answers on', '80')
    .option('--processes <n>', 'mod_wsgi daemon processes', '2')
    .option('--threads <n>', 'threads per process', '4')
    .option('--url-prefix <path>', 'where hgweb is mounted, e.g. / or /hg', '/')
    .option('--script <file>', 'the WSGI script (default: "wsgi" in [reload])')
    .option('--user <name>', "the web server's user, who runs hgweb (and its group of the same name)", 'www-data')
    .addHelpText(
      'after',
      `
Save it as a site and check it, e.g.:

  hgreload -c /etc/hgreload/hgreload.ini apache --server-name hg.example.com > /etc/apache2/sites-available/hgweb.conf
  a2enmod wsgi && a2ensite hgweb && apache2ctl configtest && systemctl reload apache2

with the script written by \`hgreload wsgi\` where --script (or "wsgi" in [reload])
says. \`hgreload doctor\` recognises this set-up, and names the line of any change
that breaks it (maximum-requests, embedded mode...).`,
    )
    .action(run<ApacheOptions>(apache));
}

export async function apache(ctx: CommandContext, opts: ApacheOptions): Promise<number> {
  requireWebConf(ctx);
  const script = requireScript(ctx, opts.script);
  const prefix = opts.urlPrefix.replace(/\/+$/, '') || '/';
  if (!prefix.startsWith('/') || /\s/.test(prefix)) throw new HgreloadError('usage', `--url-prefix must be a path such as / or /hg, not "${opts.urlPrefix}"`);
  if (!/^[A-Za-z0-9._-]+$/.test(opts.user)) throw new HgreloadError('usage', `--user: "${opts.user}" is not a user name`);
  ctx.io.stdout(
    renderVhost(ctx.settings, {
      serverName: opts.serverName,
      port: positiveInteger('port', opts.port, 65_535),
      processes: positiveInteger('processes', opts.processes),
      threads: positiveInteger('threads', opts.threads),
      urlPrefix: prefix,
      script,
      user: opts.user,
      group: opts.user,
    }),
  );
  return 0;
}
