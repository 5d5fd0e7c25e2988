/**
 * The deployment checks of `hgreload doctor`, each saying what is wrong and
 * how to fix it. Checks that need the settings or hgweb.config are skipped
 * when those cannot be read (their own findings say why).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { HgreloadError } from '../errors.js';
import { readMercurialConfig } from '../config/hgrc-reader.js';
import { loadSettings, type Settings } from '../config/settings.js';
import { physicalAbsolute } from '../config/paths.js';
import { askDaemon } from '../daemon/control-client.js';
import { socketPath } from '../daemon/control-protocol.js';
import type { DaemonStatus } from '../daemon/daemon.js';
import { loadServed, type ServedState } from '../discovery/load-served.js';
import { HGWEB_REMAP } from '../discovery/served-repos.js';
import { hostMercurial, NEWEST_CHECKED, OLDEST_RULES, refusedEntries, rulesMatter, rulesOf } from '../discovery/hgweb-rules.js';
import { installHook } from '../hooks/hgrc-edit.js';
import { hookProgram, hookValue } from '../hooks/hook-script.js';
import { systemHook } from '../hooks/system-config.js';
import { publishedFile, publishFolder } from '../reload/publish.js';
import { pidfileProcess } from '../reload/send-signal.js';
import { splitArgv } from '../reload/split-argv.js';
import { daemonIdentity, refusedAt, userIdentity, type Identity } from './access.js';
import { readApacheWsgi, type ApacheWsgi } from './apache-config.js';
import { clusterChecks } from './cluster.js';
import { sharedStorage } from './shared-storage.js';
import { inotifyLimit, RAISE_WATCHES } from '../watch/inotify-limits.js';
import { nativeAddon } from '../native/addon.js';
import { fail, info, ok, warn, type Finding } from './finding.js';

export interface DoctorInput {
  readonly explicitSettings: string | undefined;
  readonly webConf: string | undefined;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where Apache's configuration lives (Debian: /etc/apache2). */
  readonly apacheRoot: string;
  /** The daemon's user, when not the unit's User= (--user). */
  readonly user?: string;
  /** The installed unit, whose User= runs the daemon. */
  readonly unitFile: string;
  /** What the hook told syslog in the last day (journalctl -t hgreload-hook); undefined where no journal can be read. */
  readonly hookJournal?: () => string[] | undefined;
}

/** hgweb's polling below this (seconds) re-walks often for nothing once hgreload does the work. */
const LOW_REFRESH_INTERVAL = 3600;
const MOD_WSGI_FIXED = [6, 0, 1];

export async function runDoctor(input: DoctorInput): Promise<Finding[]> {
  const findings: Finding[] = [];
  let settings: Settings;
  try {
    const loaded = loadSettings({ explicitFile: input.explicitSettings, cwd: input.cwd });
    settings = input.webConf === undefined ? loaded : { ...loaded, webconf: physicalAbsolute(input.webConf, input.cwd) };
    findings.push(loaded.file === undefined ? info('settings', 'no settings file: defaults in force') : ok('settings', `${loaded.file} reads well`));
  } catch (err) {
    findings.push(fromError('settings', err, 'correct the settings file'));
    return findings;
  }
  if (settings.webconf === undefined) {
    findings.push(fail('hgweb.config', 'no hgweb.config named', 'set "webconf" in the settings file, or pass -w'));
    return findings;
  }

  const who = daemonIdentity(input.user, input.unitFile);
  findings.push(info('daemon user', `the daemon runs as ${who.name} (uid ${who.uid}, from ${who.from}); what it may do is checked for that user`));

  let served: ServedState | undefined;
  try {
    served = await loadServed(settings.webconf, { cwd: input.cwd });
    findings.push(ok('hgweb.config', `${settings.webconf}: ${served.roots.length} root(s), ${served.repos.length} repositories served`));
    for (const { error } of served.errors) findings.push(fromError('roots', error, 'create the folder or correct the entry'));
    if (served.errors.length === 0) findings.push(ok('roots', 'every root exists and can be walked'));
    findings.push(...mercurialRules(served, input.cwd));
    findings.push(...daemonReads(settings.webconf, served, who, input.cwd));
  } catch (err) {
    findings.push(fromError('hgweb.config', err, 'correct hgweb.config: hgweb fails on it too'));
  }
  findings.push(...refreshInterval(settings));
  findings.push(...(await reloadMethod(settings, who)));
  const status = await daemonStatus(settings, findings);
  const apacheConfig = readApacheWsgi(input.apacheRoot);
  findings.push(...apache(settings, apacheConfig, input.apacheRoot));
  if (settings.reload.method === 'publish') findings.push(...webServerReads(publishedFile(settings), apacheConfig, input.apacheRoot));
  if (served !== undefined) {
    findings.push(inotify(served, status), watchWay(served));
    findings.push(hooks(settings, served, input.env));
    findings.push(...sharedStorage(settings, served.roots, input.cwd));
  }
  if (settings.cluster.database !== undefined) findings.push(...(await clusterChecks({ database: settings.cluster.database, env: input.env, daemon: who })));
  findings.push(hookProgramSafety(hookProgram()));
  if (settings.metrics.file !== undefined) findings.push(metricsFolder(settings.metrics.file, who));
  findings.push(hookReports((input.hookJournal ?? readHookJournal)()));
  findings.push(systemd());
  return findings;
}

function fromError(check: string, err: unknown, fix: string): Finding {
  if (err instanceof HgreloadError) return fail(check, err.message, err.hint ?? fix);
  return fail(check, err instanceof Error ? err.message : String(err), fix);
}

function refreshInterval(settings: Settings): Finding[] {
  let value = '20';
  try {
    value = readMercurialConfig(settings.webconf!, { remap: HGWEB_REMAP }).config.get('web', 'refreshinterval')?.value ?? '20';
  } catch {
    return []; // the hgweb.config finding says why
  }
  const seconds = Number(value);
  const fix = 'set "refreshinterval = 86400" in [web] of hgweb.config: hgreload tells hgweb of every change';
  if (!Number.isFinite(seconds)) return [fail('refreshinterval', `[web] refreshinterval = ${value} is not a number; hgweb fails on it`, fix)];
  if (seconds <= 0) return [warn('refreshinterval', `[web] refreshinterval = ${value}: hgweb refreshes on every request (three times for the index)`, fix)];
  if (seconds < LOW_REFRESH_INTERVAL) {
    const what = settings.reload.method === 'publish' ? 're-reads its settings' : 'walks every root again';
    return [warn('refreshinterval', `[web] refreshinterval = ${value}: every ${value} s each hgweb process ${what}`, fix)];
  }
  return [ok('refreshinterval', `[web] refreshinterval = ${value}`)];
}

/**
 * What a newer Mercurial than this host's refuses in hgweb.config: the WSGI side may run one
 * (and an upgrade brings one), and hgweb then fails to start.
 */
function mercurialRules(served: ServedState, cwd: string): Finding[] {
  if (!rulesMatter(served.roots)) return [ok('mercurial', 'hgweb.config has no plain [paths] entry, the one place Mercurial 6.3 to 7.2 differ')];
  const host = hostMercurial();
  const here = rulesOf(host ?? OLDEST_RULES.mercurial);
  const refusedHere = refusedEntries(served.roots, here, cwd);
  if (refusedHere.length > 0) return refusedHere.map((e) => fail('mercurial', e.message, e.hint!));
  const newest = rulesOf(NEWEST_CHECKED);
  const refused = refusedEntries(served.roots, newest, cwd);
  const hostText = host === undefined ? 'no Mercurial on this host' : `this host's Mercurial is ${host}`;
  if (refused.length > 0) return refused.map((e) => warn('mercurial', `${e.message}: Mercurial ${newest.mercurial} and later refuse it (${hostText})`, e.hint!));
  return [ok('mercurial', `hgweb.config holds nothing that Mercurial 6.3 to ${newest.mercurial} refuse (${hostText})`)];
}

/** The daemon's user must read hgweb.config and enter every root, or its list is not hgweb's. */
function daemonReads(webconf: string, served: ServedState, who: Identity, cwd: string): Finding[] {
  const findings: Finding[] = [];
  const refused = refusedAt(webconf, who, 'read');
  if (refused !== undefined) findings.push(fail('daemon reads', `${who.name} may not read ${webconf} (refused at ${refused})`, `let ${who.name} read it (its group, or o+r)`));
  for (const root of served.roots) {
    if (root.kind === 'plain') continue;
    const folder = physicalAbsolute(root.folder, cwd);
    const at = refusedAt(folder, who, 'read') ?? refusedAt(folder, who, 'search');
    if (at !== undefined) findings.push(fail('daemon reads', `${who.name} may not walk root ${folder} (refused at ${at}): the daemon would serve none of its repositories`, `let ${who.name} read and enter it (its group, or o+rx)`));
  }
  return findings.length > 0 ? findings : [ok('daemon reads', `${who.name} may read hgweb.config and enter every root`)];
}

/** With publish, the web server's user reads the published list; without it every request walks. */
function webServerReads(published: string, config: ApacheWsgi | undefined, apacheRoot: string): Finding[] {
  const users = new Set<string>();
  for (const d of config?.daemons ?? []) users.add(`${d.options['user'] ?? apacheRunUser(apacheRoot)}\0${d.options['supplementary-groups'] ?? ''}`);
  if (users.size === 0) users.add(`${apacheRunUser(apacheRoot)}\0`);
  const findings: Finding[] = [];
  for (const entry of users) {
    const [name, groups] = entry.split('\0') as [string, string];
    const who = userIdentity(name, 'Apache', groups === '' ? [] : groups.split(','));
    if (who === undefined) continue;
    // Before the first publish, the folder it will appear in.
    const exists = existsSync(published);
    const refused = refusedAt(exists ? published : dirname(published), who, exists ? 'read' : 'search');
    findings.push(
      refused === undefined
        ? ok('web server reads', `${name} may read ${published}`)
        : fail('web server reads', `${name} may not read ${published} (refused at ${refused}): every hgweb process keeps the list it started with`, `give the state folder the web server's group with g+rx (the unit's Group=www-data and StateDirectoryMode=0750 do)`),
    );
  }
  return findings;
}

/** Debian's /etc/apache2/envvars names the user Apache's children run as. */
function apacheRunUser(apacheRoot: string): string {
  try {
    return /^export APACHE_RUN_USER=(\S+)/m.exec(readFileSync(join(apacheRoot, 'envvars'), 'utf8'))?.[1] ?? 'www-data';
  } catch {
    return 'www-data';
  }
}

async function reloadMethod(settings: Settings, who: Identity): Promise<Finding[]> {
  const { method, wsgi, pidfile, command, state } = settings.reload;
  const check = `method ${method}`;
  switch (method) {
    case 'touch': {
      if (wsgi === undefined) return [fail(check, '"wsgi" is not set', 'set wsgi = the hgweb WSGI script in [reload]')];
      let owner: number;
      try {
        owner = statSync(wsgi).uid;
      } catch (err) {
        return [fail(check, `${wsgi}: ${(err as Error).message}`, 'write it with: hgreload wsgi > SCRIPT')];
      }
      // Setting an mtime other than "now" (as touch does, to a chosen time) takes the file's owner.
      const refused = refusedAt(wsgi, who, 'search');
      if (refused !== undefined && refused !== wsgi) return [fail(check, `${who.name} may not reach ${wsgi} (refused at ${refused})`, `let ${who.name} enter the folders above it`)];
      if (who.uid !== 0 && owner !== who.uid) return [fail(check, `${wsgi} is owned by uid ${owner}, so ${who.name} may not change its mtime`, `chown ${who.name} ${wsgi}, and ReadWritePaths=${wsgi} in the unit's drop-in`)];
      return [ok(check, `${who.name} may change the mtime of ${wsgi}`)];
    }
    case 'signal': {
      if (pidfile === undefined) return [fail(check, '"pidfile" is not set', 'set pidfile = the web server\'s pidfile in [reload]')];
      try {
        const { pid, program } = await pidfileProcess(pidfile);
        return [ok(check, `${pidfile} names ${program} (pid ${pid}), running`)];
      } catch (err) {
        return [fromError(check, err, 'start the server, or correct "pidfile"')];
      }
    }
    case 'command': {
      if (command === undefined) return [fail(check, '"command" is not set', 'set command = a command line in [reload]')];
      let program: string;
      try {
        program = splitArgv(command)[0]!;
      } catch (err) {
        return [fromError(check, err, 'correct "command"')];
      }
      const found = program.includes('/') ? [program] : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, program));
      const runnable = found.find((p) => {
        try {
          accessSync(p, constants.X_OK);
          return true;
        } catch {
          return false;
        }
      });
      return runnable === undefined
        ? [fail(check, `${program} is not an executable program${program.includes('/') ? '' : ' on the PATH'}`, 'install it or give its full path in "command"')]
        : [ok(check, `${runnable} can be run`)];
    }
    case 'publish': {
      for (const [folder, what] of [
        [state, 'the state folder'],
        [publishFolder(settings), 'the shared folder ([shared] folder)'],
      ] as const) {
        const refused = existsSync(folder) ? (refusedAt(folder, who, 'write') ?? refusedAt(folder, who, 'search')) : folder;
        if (refused !== undefined) {
          return [fail(check, `${who.name} may not write ${what} ${folder} (refused at ${refused})`, "create it, writable by the daemon's user and readable by the web server's (the unit's StateDirectory= does both for the state folder)")];
        }
      }
      try {
        const age = Math.round((Date.now() - statSync(publishedFile(settings)).mtimeMs) / 1000);
        return [ok(check, `${publishedFile(settings)} published ${age} s ago`)];
      } catch {
        return [warn(check, `nothing published yet in ${state}`, 'start the daemon (systemctl start hgreload)')];
      }
    }
  }
}

async function daemonStatus(settings: Settings, findings: Finding[]): Promise<DaemonStatus | undefined> {
  try {
    const answer = await askDaemon(socketPath(settings.reload.state), { command: 'status' }, 3000);
    if (answer === undefined) {
      findings.push(warn('daemon', 'no hgreload daemon answers', 'start it: systemctl start hgreload'));
      return undefined;
    }
    if (!answer.ok) {
      findings.push(fail('daemon', `the daemon refused: ${answer.error}`, 'see its log: journalctl -u hgreload'));
      return undefined;
    }
    const s = answer.status as DaemonStatus;
    const last = s.lastReload === null ? 'no reload since start' : `last reload ${s.lastReload.ok ? 'ok' : 'FAILED'}: ${s.lastReload.result}`;
    findings.push(s.lastReload?.ok === false ? fail('daemon', `pid ${s.pid}; ${last}`, 'see its log: journalctl -u hgreload') : ok('daemon', `pid ${s.pid}, ${s.repositories} repositories; ${last}`));
    for (const root of s.roots) {
      if (root.error === undefined) continue;
      const kept = root.kept === undefined ? 'none of its repositories are served' : `the daemon serves its last good list (${root.kept} repositories) until it walks well again`;
      findings.push(warn('daemon', `root ${root.folder}: ${root.error}; ${kept}`, 'fix what the message names (permissions, the mount); the next rescan mends the list'));
    }
    return s;
  } catch (err) {
    findings.push(fromError('daemon', err, 'see its log: journalctl -u hgreload'));
    return undefined;
  }
}

function modWsgiVersion(): number[] | undefined {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'libapache2-mod-wsgi-py3'], { encoding: 'utf8' });
  const m = /^(?:\d+:)?(\d+)\.(\d+)\.(\d+)/.exec(r.stdout ?? '');
  return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3])];
}

const older = (a: number[], b: number[]): boolean => {
  for (let i = 0; i < b.length; i++) if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) < b[i]!;
  return false;
};

function apache(settings: Settings, config: ApacheWsgi | undefined, root: string): Finding[] {
  if (config === undefined) return [info('apache', `no Apache configuration readable under ${root}`)];
  const findings: Finding[] = [];
  if (config.aliases.length === 0) return [info('apache', `no WSGIScriptAlias in ${root}`)];
  const version = modWsgiVersion();
  for (const alias of config.aliases) {
    const where = `${alias.file}:${alias.line}`;
    let script = '';
    try {
      script = readFileSync(alias.script, 'utf8');
    } catch (err) {
      findings.push(fail('apache', `${where}: WSGI script ${alias.script}: ${(err as Error).message}`, 'write it with: hgreload wsgi > SCRIPT'));
      continue;
    }
    findings.push(...scriptReads(alias.script, where, settings));
    // Mercurial's C extensions are not made for sub-interpreters, mod_wsgi's default for each script.
    if (alias.options['application-group'] !== '%{GLOBAL}' && !config.applicationGroups.includes('%{GLOBAL}')) {
      findings.push(warn('apache', `${where}: hgweb runs in a Python sub-interpreter (no WSGIApplicationGroup %{GLOBAL})`, 'add WSGIApplicationGroup %{GLOBAL} (hgreload apache prints the whole site)'));
    }
    // The plain stderr `hgreload wsgi` installs (see hooks/hgweb_wsgi.py).
    if (/hgweb|mercurial/.test(script) && !script.includes('io.FileIO(2') && (version === undefined || older(version, MOD_WSGI_FIXED))) {
      findings.push(
        warn(
          'apache',
          `${alias.script} (${where}) runs hgweb without a plain stderr: under mod_wsgi ${version?.join('.') ?? 'before 6.0.1'} any Mercurial warning (a repository removed from disk, an hgrc typo) fails the request with 500`,
          `replace it with the script hgreload prints: hgreload wsgi > ${alias.script}`,
        ),
      );
    }
  }
  const daemonMode = config.daemons.length > 0 && (config.processGroups.length > 0 || config.aliases.some((a) => a['options']['process-group'] !== undefined));
  if (settings.reload.method === 'touch') {
    if (!daemonMode) findings.push(fail('apache', 'mod_wsgi runs hgweb embedded (no WSGIDaemonProcess and WSGIProcessGroup): touching the script restarts nothing', 'run hgweb in daemon mode (see README, Apache), or use method publish'));
    if (config.scriptReloadingOff) findings.push(fail('apache', 'WSGIScriptReloading Off: mod_wsgi ignores the touched script', 'remove it, or use method publish'));
  }
  for (const m of config.aliasMatches) {
    findings.push(warn('apache', `${m.file}:${m.line}: WSGIScriptAliasMatch passes hgweb only what its pattern captures: paths below a repository get lost unless it captures them`, 'use WSGIScriptAlias PREFIX SCRIPT (hgreload apache prints the whole site)'));
  }
  for (const d of config.daemons) {
    if (d.options['maximum-requests'] !== undefined) {
      findings.push(
        warn('apache', `${d.file}:${d.line}: WSGIDaemonProcess ${d.name} maximum-requests=${d.options['maximum-requests']} recycles processes, aborting long pushes and pulls`, 'remove maximum-requests'),
      );
    }
  }
  if (findings.every((f) => f.level === 'ok' || f.level === 'info')) findings.push(ok('apache', `${config.aliases.length} WSGI script(s), daemon mode ${daemonMode ? 'on' : 'off'}`));
  return findings;
}

/** A script from `hgreload wsgi` names the hgweb.config and the published list it reads: they must be this deployment's. */
function scriptReads(script: string, where: string, settings: Settings): Finding[] {
  let text: string;
  try {
    text = readFileSync(script, 'utf8');
  } catch {
    return [];
  }
  const setting = (name: string) => /^(\w+) = (.*)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name} = `)) ?? '')?.[2];
  const published = setting('PUBLISHED');
  if (published === undefined || !text.includes('hgreload')) return [];
  const expected = settings.reload.method === 'publish' ? JSON.stringify(publishedFile(settings)) : 'None';
  const fix = `write it again for these settings: hgreload wsgi > ${script}`;
  const findings: Finding[] = [];
  if (published !== expected) {
    const reads = published === 'None' ? 'no published list (hgweb walks on its own)' : published;
    const wants = expected === 'None' ? `no published list (method ${settings.reload.method})` : expected;
    findings.push(fail('wsgi script', `${script} (${where}) reads ${reads}, but this deployment needs ${wants}`, fix));
  }
  const config = setting('HGWEB_CONFIG');
  if (config !== undefined && settings.webconf !== undefined && config !== JSON.stringify(settings.webconf)) {
    findings.push(warn('wsgi script', `${script} (${where}) serves ${config}, but the daemon watches ${settings.webconf}`, fix));
  }
  return findings.length > 0 ? findings : [ok('wsgi script', `${script} reads what the daemon publishes`)];
}

function inotify(served: ServedState, status: DaemonStatus | undefined): Finding {
  const limit = inotifyLimit('max_user_watches');
  if (limit === undefined) return info('inotify', 'the inotify limit cannot be read here');
  const needed = served.folders.length + served.configFiles.length;
  const msg = `${needed} watches needed (folders that can hold a new repository, and config files), limit ${limit}`;
  if (status?.watches.limitReached) return fail('inotify', `the daemon reached the limit: ${msg}`, RAISE_WATCHES);
  // Other programs of the same user share the limit.
  if (needed > limit / 2) return warn('inotify', msg, RAISE_WATCHES);
  return ok('inotify', msg);
}

/** From here on fs.watch costs tens of megabytes (about 1 KB per folder): worth a warning. */
const ADDON_WORTH_FOLDERS = 10_000;

/**
 * How the daemon watches and reads folders: the addon's one inotify instance
 * and listings, or fs.watch at about 1 KB each and Node's readdir where
 * `npm install` could not build it.
 */
function watchWay(served: ServedState): Finding {
  const addon = nativeAddon();
  if (!(addon instanceof Error)) return ok('addon', 'built: every folder is watched through one inotify instance, and walks read ahead on a thread');
  const mb = Math.ceil(served.folders.length / 1000);
  const message = `not built (${addon.message}): the daemon watches through fs.watch, about 1 KB of memory per folder (${mb} MB for ${served.folders.length} folders), and walks read one folder at a time`;
  const fix = 'install a C compiler and make (Debian: build-essential), then run npm install again';
  // A few megabytes are not worth a warning; tens are.
  return served.folders.length >= ADDON_WORTH_FOLDERS ? warn('addon', message, fix) : info('addon', `${message}; ${fix}`);
}

/**
 * A system-wide hook (in /etc/mercurial/hgrc.d/, or wherever `$HGRCPATH` says:
 * what every Mercurial here reads) covers every served repository; else each
 * needs its own. Both at once run the hook twice per push.
 */
function hooks(settings: Settings, served: ServedState, env: Readonly<Record<string, string | undefined>>): Finding {
  const value = hookValue(socketPath(settings.reload.state));
  let hooked = 0;
  let repos = 0;
  for (const repo of new Set(served.repos.map((r) => r.path))) {
    let bytes: Buffer | undefined;
    try {
      if (!statSync(join(repo, '.hg')).isDirectory()) continue;
      repos++;
      bytes = readFileSync(join(repo, '.hg', 'hgrc'));
    } catch {
      // no hgrc: no hook
    }
    if (bytes !== undefined && installHook(bytes, value).kind === 'unchanged') hooked++;
  }
  const system = systemHook(env);
  if (system !== undefined) {
    const where = `system-wide hook in ${system.source}`;
    if (system.value !== value) return warn('hooks', `the ${where} is not this hgreload's line (${system.value})`, 'hgreload install-hooks --system (as root) writes the current one');
    if (hooked > 0) return warn('hooks', `installed system-wide (${where}), covering all ${repos} served repositories; ${hooked} also have it in their own hgrc, so their pushes run it twice`, 'hgreload install-hooks --uninstall removes the per-repository ones');
    return ok('hooks', `installed system-wide (${where}): all ${repos} served repositories, and every other repository on this host, run it`);
  }
  const msg = `installed per repository: ${hooked} of ${repos} served repositories have the hgreload hook`;
  if (settings.hooks.auto && hooked < repos) return warn('hooks', `${msg} ([hooks] auto is on)`, 'hgreload install-hooks (as root, or as the repositories\' owner)');
  return hooked === repos ? ok('hooks', msg) : info('hooks', `${msg}; hgreload install-hooks adds it (or install-hooks --system, one hook for the whole host)`);
}

/**
 * The hook program runs in every pusher's process, root's included: only root
 * may be able to change it, or the folders above it.
 */
export function hookProgramSafety(program: string): Finding {
  let path = program;
  for (;;) {
    let st;
    try {
      st = statSync(path);
    } catch (err) {
      return fail('hook program', `${program} cannot be read (${(err as Error).message}): pushes go on, but the daemon hears of none`, 'reinstall hgreload (npm install -g, as root)');
    }
    const othersWrite = (st.mode & 0o022) !== 0 && !(st.isDirectory() && (st.mode & 0o1000) !== 0 && path !== program);
    if (st.uid !== 0 || othersWrite) {
      return warn(
        'hook program',
        `${path} can be changed by ${st.uid !== 0 ? `uid ${st.uid}` : 'users other than root'}, and ${program} runs in every pusher's hg process`,
        'install hgreload as root (npm install -g), so that only root can write it',
      );
    }
    const parent = dirname(path);
    if (parent === path) break;
    path = parent;
  }
  if ((statSync(program).mode & 0o004) === 0) return fail('hook program', `${program} is not readable by every user: their pushes cannot tell the daemon`, `chmod a+r ${program}`);
  return ok('hook program', `${program} can be changed by root only`);
}

/** The metrics file is replaced atomically: its folder must be the daemon's to write (and, under the unit, in ReadWritePaths=). */
function metricsFolder(file: string, who: Identity): Finding {
  const folder = dirname(file);
  const refused = existsSync(folder) ? (refusedAt(folder, who, 'write') ?? refusedAt(folder, who, 'search')) : folder;
  if (refused === undefined) return ok('metrics', `${who.name} may write ${file}`);
  return fail('metrics', `${who.name} may not write ${file} (refused at ${refused}): node_exporter shows no hgreload metrics`, `let ${who.name} write ${folder} (setfacl -m u:${who.name}:rwx ${folder}), and ReadWritePaths=${folder} in the unit's drop-in`);
}

/** The hook tells syslog when a push could not reach the daemon: the pusher is never bothered, the admin is, here. */
function readHookJournal(): string[] | undefined {
  const r = spawnSync('journalctl', ['-t', 'hgreload-hook', '--since', '-1d', '-o', 'cat', '--no-pager', '-q'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error !== undefined || r.status !== 0) return undefined;
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

export function hookReports(lines: string[] | undefined): Finding {
  if (lines === undefined) return info('hook reports', 'no journal to read here (journalctl -t hgreload-hook)');
  if (lines.length === 0) return ok('hook reports', 'every push in the last day reached the daemon (nothing from hgreload-hook in the journal)');
  return warn(
    'hook reports',
    `${lines.length} push(es) in the last day could not tell the daemon; the latest: ${lines[lines.length - 1]}`,
    'start the daemon, or put the pushers in its group (the control socket is 0660); the watches and the scheduled rescan still see their changes',
  );
}

function systemd(): Finding {
  const r = spawnSync('systemctl', ['is-enabled', 'hgreload.service'], { encoding: 'utf8' });
  const state = (r.stdout ?? '').trim();
  if (r.error !== undefined || state === '' || /not-found/.test(state + r.stderr)) return info('systemd', 'hgreload.service is not installed (see README, Running it as a service)');
  if (state === 'enabled') return ok('systemd', 'hgreload.service is enabled');
  return warn('systemd', `hgreload.service is ${state}`, 'systemctl enable --now hgreload');
}
