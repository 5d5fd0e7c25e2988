/**
 * The README's "Running it as a service" steps, run as they are written, on a
 * test's stand-in host: the ```sh block is taken from README.md itself, every
 * host path it names is moved to a temp folder through a named shell variable
 * (PREFIX for /usr/local, and so on: HOST_PATHS below), its user becomes the
 * test's, and the commands that need systemd (`systemctl`, `journalctl`) are
 * stand-ins on the PATH that talk to the test's service manager. Everything
 * else runs for real: npm installs the package, adduser makes the user, cp
 * copies the unit, the service manager starts the daemon as the unit says.
 *
 * Before anything runs, each mapped line is checked: it may run only the
 * commands this file knows how to keep off the host (KNOWN_COMMANDS), and name
 * no host path left unmapped. So a README edit that adds a step makes this
 * fail with the line named, instead of writing to the host.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DaemonProcess } from './daemon-process.js';
import { mapHostPath, ServiceManager, type HostPath } from './service-manager.js';
import { PROJECT_ROOT } from './run.js';
import type { Accounts } from './users.js';

export const SERVICE_SECTION = 'Running it as a service';
/** The user the README's adduser line and the unit's User= name. */
export const README_USER = 'hgreload';
export const UNIT = 'hgreload';

/** Every fenced block of `lang` in the README section headed `title` (up to the next heading), each as lines. */
export function readmeBlocks(title: string, lang: string): string[][] {
  const lines = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8').split('\n');
  const blocks: string[][] = [];
  let inSection = false;
  let fence: string[] | undefined;
  let fenced = false; // inside a block of another language: its `# ...` lines are not headings
  for (const line of lines) {
    if (fence !== undefined || fenced) {
      if (line.trim() === '```') {
        if (fence !== undefined) blocks.push(fence.filter((l) => l.trim() !== ''));
        fence = undefined;
        fenced = false;
      } else {
        fence?.push(line);
      }
      continue;
    }
    if (/^#+ /.test(line)) {
      if (inSection) break;
      inSection = line.replace(/^#+ /, '') === title;
    } else if (line.trim().startsWith('```')) {
      if (inSection && line.trim() === `\`\`\`${lang}`) fence = [];
      else fenced = true;
    }
  }
  assert.ok(inSection, `README.md has no heading "${title}"`);
  return blocks;
}

/** The first fenced block of `lang` in the README section headed `title`, as lines. */
export function readmeBlock(title: string, lang = 'sh'): string[] {
  const block = readmeBlocks(title, lang)[0];
  assert.ok(block !== undefined, `no \`\`\`${lang} block below "${title}"`);
  return block;
}

/** The group the README's service section calls the repositories' shared group. */
export const README_GROUP = 'hg';

/**
 * What the README's service section has an administrator add for `[hooks] auto` on a host where
 * pushers own the repositories: the ```ini block with `[trusted]` (its first line a comment naming
 * the file in /etc/mercurial/hgrc.d/) and the one with `[Service]` (the drop-in that `systemctl
 * edit hgreload` makes), each with the README's `hg` replaced by `group`.
 */
export function sharedGroupSteps(group: string): { trustedFile: string; trusted: string[]; dropIn: string[] } {
  const blocks = readmeBlocks(SERVICE_SECTION, 'ini');
  const find = (section: string) => {
    const block = blocks.find((b) => b.some((l) => l.trim() === section));
    assert.ok(block !== undefined, `no \`\`\`ini block with ${section} in the README's "${SERVICE_SECTION}"`);
    const mapped = block.map((l) => l.replace(new RegExp(`^(\\s*\\w+\\s*=\\s*)${README_GROUP}\\s*$`), `$1${group}`));
    assert.ok(mapped.some((l, i) => l !== block[i]), `the README's ${section} block names no group ${README_GROUP}: ${block.join(' / ')}`);
    return mapped;
  };
  const trusted = find('[trusted]');
  const file = /^#\s*(\/etc\/mercurial\/hgrc\.d\/[\w.-]+\.rc)\b/.exec(trusted[0] ?? '');
  assert.ok(file !== null, `the README's [trusted] block must start with a comment naming its file in /etc/mercurial/hgrc.d/ (*.rc, what Mercurial reads): ${trusted[0]}`);
  return { trustedFile: file[1]!, trusted, dropIn: find('[Service]') };
}

/** The host paths the section names, each with the variable that stands for it and its folder below `dir`. */
function hostPaths(dir: string): HostPath[] {
  return [
    { name: 'PREFIX', host: '/usr/local', test: join(dir, 'usr/local') },
    { name: 'HGRELOAD_ETC', host: '/etc/hgreload', test: join(dir, 'etc/hgreload') },
    { name: 'SYSTEMD_UNIT_DIR', host: '/etc/systemd/system', test: join(dir, 'etc/systemd/system') },
    { name: 'STATE_DIR', host: '/var/lib/hgreload', test: join(dir, 'var/lib/hgreload') },
    // The repositories' root the README's drop-in names (ReadWritePaths=).
    { name: 'REPOSITORIES', host: '/srv/hg', test: join(dir, 'srv/hg') },
  ];
}

/** Commands the section may run, and why each stays off the host here. */
const KNOWN_COMMANDS: Readonly<Record<string, string>> = {
  npm: 'its --prefix is mapped to $PREFIX (and npm_config_prefix=$PREFIX should the line lose it): -g installs below the stand-in for /usr/local',
  adduser: 'makes the test user ($SERVICE_USER), deleted after the test',
  mkdir: 'only mapped paths (checked)',
  cp: 'only mapped paths (checked)',
  $EDITOR: "the administrator's editor: copies in the test's settings",
  systemctl: "stand-in: the test's service manager",
  journalctl: "stand-in: follows the service manager's journal",
};

/** A host path outside a comment that no variable replaced. */
const HOST_PATH = /(^|[\s='"])\/(etc|usr|var|run|lib|lib64|opt|srv|home|root|boot|bin|sbin)(\/|\s|$)/;

/** Moves `line`'s host paths and user to the test's variables; throws when it would still touch the host. */
export function mapLine(line: string, paths: readonly HostPath[]): string {
  let out = line;
  for (const p of paths) out = out.split(p.host).join(`\${${p.name}}`);
  out = out.replace(new RegExp(`^(adduser\\s.*\\s)${README_USER}(?=\\s|$)`), '$1${SERVICE_USER}');
  const code = out.replace(/(^|\s)#.*$/, '');
  const host = HOST_PATH.exec(code);
  if (host) throw new Error(`README line "${line}" names a host path (${host[0].trim()}) this test does not map: add it to hostPaths()`);
  for (const command of code.split(/&&|\|\||;|\|/).map((part) => part.trim().split(/\s+/)[0]!)) {
    if (!(command in KNOWN_COMMANDS)) throw new Error(`README line "${line}" runs ${command}, which this test does not know how to keep off the host: add it to KNOWN_COMMANDS`);
  }
  if (/^adduser\s/.test(code) && !code.includes('${SERVICE_USER}')) throw new Error(`README line "${line}" adds a user other than ${README_USER}`);
  return out;
}

export interface ReadmeServiceOptions {
  /** The stand-in host's folder: every mapped path lies below it. */
  readonly dir: string;
  /** The folder the README's commands run in (the checkout: `npm install -g .`, `cp systemd/...`). */
  readonly checkout: string;
  /** What the administrator's editor writes into hgreload.ini. */
  readonly settings: string;
  /** The test's user that plays the README's `hgreload` user (made by the README's adduser line). */
  readonly serviceUser: string;
  readonly accounts: Accounts;
}

export class ReadmeService {
  readonly paths: HostPath[];
  readonly lines: string[];
  readonly manager: ServiceManager;
  /** What `journalctl -u hgreload -f` printed. */
  readonly followed: string[] = [];
  private shell: ChildProcess | undefined;
  private shellOutput = '';

  constructor(private readonly options: ReadmeServiceOptions) {
    this.paths = hostPaths(options.dir);
    this.lines = readmeBlock(SERVICE_SECTION);
    this.manager = new ServiceManager({
      dir: join(options.dir, 'systemd-stand-in'),
      unitDir: this.host('/etc/systemd/system'),
      paths: this.paths,
      users: { [README_USER]: options.serviceUser },
    });
  }

  /** Where a host path the README names is on this stand-in host. */
  host(path: string): string {
    return mapHostPath(this.paths, path);
  }

  /** The installed `hgreload` (README: /usr/local/bin/hgreload). */
  get cli(): string {
    return this.host('/usr/local/bin/hgreload');
  }

  /** The settings file (README: /etc/hgreload/hgreload.ini). */
  get settingsFile(): string {
    return this.host('/etc/hgreload/hgreload.ini');
  }

  /** The running daemon, as the service manager started it. */
  get daemon(): DaemonProcess {
    return this.manager.process(UNIT);
  }

  /**
   * `systemctl edit hgreload`: `lines` become the unit's drop-in
   * (/etc/systemd/system/hgreload.service.d/override.conf), read when the service starts.
   */
  editUnit(lines: readonly string[]): void {
    const dir = this.host(`/etc/systemd/system/${UNIT}.service.d`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'override.conf'), `${lines.join('\n')}\n`, { mode: 0o644 });
  }

  /** The section's lines before the first that starts the service: install, user, settings, unit. */
  async install(): Promise<void> {
    const { dir } = this.options;
    // What every Debian host has already.
    for (const folder of [this.host('/usr/local'), join(dir, 'etc'), this.host('/etc/systemd/system'), join(dir, 'var/lib')]) mkdirSync(folder, { recursive: true });
    this.options.accounts.adopt(this.options.serviceUser);
    await this.manager.listen();
    const status = await this.runShell(this.lines.slice(0, this.serviceStart()), false);
    assert.equal(status, 0, `the README's install steps failed:\n${this.shellOutput}`);
  }

  /** The rest: the service started (and followed with journalctl); resolves when the daemon is ready. */
  async start(): Promise<DaemonProcess> {
    let ended: number | null | undefined;
    void this.runShell(this.lines.slice(this.serviceStart()), true).then((status) => (ended = status));
    const deadline = Date.now() + 30_000;
    while (!this.manager.services.has(UNIT)) {
      if (ended !== undefined || Date.now() > deadline) throw new Error(`the README's service steps did not start ${UNIT} (${ended ?? 'still running'}):\n${this.shellOutput}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.daemon.waitFor((l) => l.msg === 'ready', 'ready');
    return this.daemon;
  }

  /** The script run for `lines`: the variables, the stand-ins, then each README line as mapped. */
  script(lines: readonly string[]): string {
    const settings = join(this.options.dir, 'hgreload.ini.edited');
    writeFileSync(settings, this.options.settings);
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    return [
      'set -e',
      "# The host paths the README names, moved to this test's folders:",
      ...this.paths.map((p) => `export ${p.name}=${quote(p.test)}   # ${p.host}`),
      `export SERVICE_USER=${quote(this.options.serviceUser)}   # the README's ${README_USER} user`,
      '# npm -g installs below its prefix (the README names it; this is the fallback that keeps npm off the host\'s);',
      '# scripts off: `prepare` would rebuild dist/ under the running tests (npm test built it). Online, as an admin runs it:',
      "# a global install resolves the dependencies afresh, with the registry's metadata, which `npm install` here never cached.",
      'export npm_config_prefix="$PREFIX" npm_config_ignore_scripts=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false',
      `export EDITOR=${quote(`cp -- ${settings}`)}`,
      `export PATH=${quote(this.manager.bin)}:"$PATH" SERVICE_MANAGER_SOCKET=${quote(this.manager.socket)}`,
      `cd ${quote(this.options.checkout)}`,
      ...lines.flatMap((line) => [`# README: ${line}`, mapLine(line, this.paths)]),
      '',
    ].join('\n');
  }

  private serviceStart(): number {
    const index = this.lines.findIndex((l) => /^\s*systemctl\s/.test(l));
    assert.ok(index > 0, `no systemctl line in the README's "${SERVICE_SECTION}" block`);
    return index;
  }

  private runShell(lines: readonly string[], follow: boolean): Promise<number | null> {
    const script = this.script(lines);
    this.shellOutput += `--- script ---\n${script}--- output ---\n`;
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (follow) this.shell = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.shellOutput += `${line}\n`;
      if (follow) this.followed.push(line);
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.shellOutput += d));
    return once(child, 'exit').then(([code]) => code as number | null);
  }

  /** Everything the README's commands printed, with the scripts run (for failure messages). */
  transcript(): string {
    return this.shellOutput;
  }

  /** Stops the service, then the journal follower (the README block's last line) and the manager. */
  async stop(): Promise<void> {
    await this.manager.close();
    const shell = this.shell;
    if (shell !== undefined && shell.exitCode === null && shell.signalCode === null) {
      const exited = once(shell, 'exit');
      let follower = NaN;
      try {
        follower = Number(readFileSync(join(this.manager.journalDir, 'follower.pid'), 'utf8'));
      } catch {
        // journalctl never started: the shell stopped before it
      }
      // The follower is tail, exec'd by the stand-in: ending it ends the README block, and the shell.
      if (Number.isInteger(follower)) process.kill(follower, 'SIGTERM');
      else shell.kill('SIGTERM');
      await exited;
    }
  }
}
