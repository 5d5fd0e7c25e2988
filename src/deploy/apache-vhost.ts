/**
 * The Apache side of an hgweb set-up, written for the admin: what most people
 * serving hgweb through mod_wsgi get wrong is here, each choice with its
 * reason above it, and `doctor` recognises the result as correct.
 */
import { dirname } from 'node:path';
import type { Settings } from '../config/settings.js';

export interface VhostOptions {
  readonly serverName: string;
  readonly port: number;
  readonly processes: number;
  readonly threads: number;
  /** Where hgweb is mounted: "/" or "/hg" (no trailing slash). */
  readonly urlPrefix: string;
  /** The WSGI script `hgreload wsgi` writes. */
  readonly script: string;
  /** The web server's user, who runs hgweb. */
  readonly user: string;
  readonly group: string;
}

/** The daemon-mode process group's name (shown as the processes' title). */
export const PROCESS_GROUP = 'hgweb';

export function renderVhost(settings: Settings, o: VhostOptions): string {
  const { method } = settings.reload;
  const touch =
    method === 'touch'
      ? [
          '    # method touch: mod_wsgi restarts the daemon processes when the script\'s mtime changes (so no',
          '    # WSGIScriptReloading Off anywhere), and the hgreload daemon\'s user must be able to touch it.',
        ]
      : [];
  return [
    `# hgweb for ${settings.webconf ?? 'the hgweb.config'}, written by \`hgreload apache\` (reload method ${method}).`,
    `<VirtualHost *:${o.port}>`,
    `    ServerName ${o.serverName}`,
    '',
    `    # Daemon mode: hgweb in processes of its own, as ${o.user}, whatever Apache's children do.`,
    '    # No maximum-requests: recycling a process aborts the long pushes and pulls it is serving.',
    `    WSGIDaemonProcess ${PROCESS_GROUP} user=${o.user} group=${o.group} processes=${o.processes} threads=${o.threads} display-name=%{GROUP}`,
    `    WSGIProcessGroup ${PROCESS_GROUP}`,
    "    # The main interpreter: Mercurial's C extensions are not made for Python sub-interpreters.",
    '    WSGIApplicationGroup %{GLOBAL}',
    '    # WSGIScriptAlias (not ...AliasMatch) passes the path below the prefix on to hgweb;',
    '    # naming both groups loads hgweb in each process as it starts, not on its first request.',
    `    WSGIScriptAlias ${o.urlPrefix} ${o.script} process-group=${PROCESS_GROUP} application-group=%{GLOBAL}`,
    '    # The credentials a push sends reach hgweb (it checks web.allow-push against the user).',
    '    WSGIPassAuthorization On',
    ...touch,
    '',
    `    <Directory ${dirname(o.script)}>`,
    '        Require all granted',
    '    </Directory>',
    '',
    '    # Pushes need a user: for example, HTTP basic authentication for what changes a repository',
    '    # (hg push sends POST), reads left open. Users from: htpasswd -c /etc/apache2/hg.htpasswd NAME',
    `    #<Location ${o.urlPrefix}>`,
    '    #    AuthType Basic',
    '    #    AuthName "Mercurial"',
    '    #    AuthUserFile /etc/apache2/hg.htpasswd',
    '    #    <Limit POST PUT>',
    '    #        Require valid-user',
    '    #    </Limit>',
    '    #</Location>',
    '</VirtualHost>',
    '',
  ].join('\n');
}
