import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { HgreloadError } from '../../errors.js';
import { publishedFile } from '../../reload/publish.js';
import { projectFile } from '../../util/project-files.js';
import { requireWebConf, type CommandContext } from '../context.js';
import type { Runner } from '../runner.js';

export const WSGI_TEMPLATE = 'hooks/hgweb_wsgi.py';

export function registerWsgi(program: Command, run: Runner): void {
  program
    .command('wsgi')
    .description('print an hgweb WSGI script for these settings (mod_wsgi or gunicorn)')
    .addHelpText(
      'after',
      `
The script serves Mercurial's hgwebdir for the hgweb.config, and gives Python a
plain stderr first, so that no Mercurial warning fails a request under mod_wsgi
before 6.0.1. With method "publish" it also checks the daemon's published list
once per request (one stat) and refreshes hgwebdir in place from it, with no
walk and no restart. Save it where WSGIScriptAlias points, e.g.:

  hgreload -c /etc/hgreload/hgreload.ini wsgi > /var/www/hg/hgweb.wsgi`,
    )
    .action(run(wsgi));
}

/** The template with its settings block filled in. */
export function renderWsgi(webconf: string, published: string | undefined): string {
  const template = readFileSync(projectFile(WSGI_TEMPLATE), 'utf8');
  // JSON string literals are Python string literals too, escapes included (\udcNN for bytes that are not UTF-8).
  const settings = [`HGWEB_CONFIG = ${JSON.stringify(webconf)}`, `PUBLISHED = ${published === undefined ? 'None' : JSON.stringify(published)}`];
  let replaced = 0;
  const script = template.replace(/^(HGWEB_CONFIG|PUBLISHED) = .*$/gm, (line) => settings[replaced++] ?? line);
  if (replaced !== 2) throw new HgreloadError('internal', `${WSGI_TEMPLATE} has lost its settings block`);
  return script;
}

export async function wsgi(ctx: CommandContext): Promise<number> {
  const { method } = ctx.settings.reload;
  ctx.io.stdout(renderWsgi(requireWebConf(ctx), method === 'publish' ? publishedFile(ctx.settings) : undefined));
  return 0;
}
