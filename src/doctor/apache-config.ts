/**
 * The mod_wsgi directives of an Apache configuration, read as plain text from
 * its usual files (Debian's layout): enough to tell whether hgweb runs in
 * daemon mode, with which options, and which script it runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WsgiAlias {
  readonly file: string;
  readonly line: number;
  readonly url: string;
  readonly script: string;
  readonly options: Readonly<Record<string, string>>;
}

export interface WsgiDaemon {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly options: Readonly<Record<string, string>>;
}

export interface ApacheWsgi {
  readonly files: readonly string[];
  readonly aliases: readonly WsgiAlias[];
  readonly daemons: readonly WsgiDaemon[];
  readonly processGroups: readonly string[];
  /** WSGIScriptReloading Off somewhere. */
  readonly scriptReloadingOff: boolean;
  /** WSGIApplicationGroup directives' values. */
  readonly applicationGroups: readonly string[];
  /** WSGIScriptAliasMatch lines, which pass on only what their pattern captures. */
  readonly aliasMatches: ReadonlyArray<{ readonly file: string; readonly line: number }>;
}

function configFiles(root: string): string[] {
  const files = ['apache2.conf', 'httpd.conf'].map((f) => join(root, f));
  for (const dir of ['conf-enabled', 'sites-enabled', 'mods-enabled', 'conf.d']) {
    try {
      for (const f of readdirSync(join(root, dir)).sort()) files.push(join(root, dir, f));
    } catch {
      // not this layout
    }
  }
  return files;
}

/** Splits directive arguments, honouring double quotes. */
function words(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

function options(args: readonly string[]): Record<string, string> {
  return Object.fromEntries(args.filter((a) => a.includes('=')).map((a) => [a.slice(0, a.indexOf('=')).toLowerCase(), a.slice(a.indexOf('=') + 1)]));
}

/** undefined when no Apache configuration could be read under `root`. */
export function readApacheWsgi(root: string): ApacheWsgi | undefined {
  const read: string[] = [];
  const aliases: WsgiAlias[] = [];
  const daemons: WsgiDaemon[] = [];
  const processGroups: string[] = [];
  const applicationGroups: string[] = [];
  const aliasMatches: Array<{ file: string; line: number }> = [];
  let scriptReloadingOff = false;
  for (const file of configFiles(root)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    read.push(file);
    text.split('\n').forEach((raw, i) => {
      const [directive, ...args] = words(raw.trim().startsWith('#') ? '' : raw);
      switch (directive?.toLowerCase()) {
        case 'wsgiscriptalias':
          if (args.length >= 2) aliases.push({ file, line: i + 1, url: args[0]!, script: args[1]!, options: options(args.slice(2)) });
          break;
        case 'wsgidaemonprocess':
          if (args.length >= 1) daemons.push({ file, line: i + 1, name: args[0]!, options: options(args.slice(1)) });
          break;
        case 'wsgiprocessgroup':
          if (args[0] !== undefined) processGroups.push(args[0]);
          break;
        case 'wsgiapplicationgroup':
          if (args[0] !== undefined) applicationGroups.push(args[0]);
          break;
        case 'wsgiscriptaliasmatch':
          aliasMatches.push({ file, line: i + 1 });
          break;
        case 'wsgiscriptreloading':
          if (args[0]?.toLowerCase() === 'off') scriptReloadingOff = true;
          break;
      }
    });
  }
  return read.length === 0 ? undefined : { files: read, aliases, daemons, processGroups, scriptReloadingOff, applicationGroups, aliasMatches };
}
