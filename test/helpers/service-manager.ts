/**
 * The part of systemd a README's service steps talk to, played by the test
 * process: `systemctl` (the stand-in on the PATH, systemctl-stand-in.ts) sends
 * its arguments here over a unix socket, and this starts, reloads and stops
 * the unit's service as systemd would (systemd-unit.ts), as a child of the
 * test, so that its output is read as it comes and its exit is seen. Every
 * line the service prints goes to a journal file that the `journalctl -u
 * UNIT -f` stand-in follows.
 */
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DaemonProcess } from './daemon-process.js';
import { PROJECT_ROOT } from './run.js';
import { parseUnit, planService, unitList, type ServicePlan } from './systemd-unit.js';
import { gidOf, idsOf } from './users.js';

/** A path a README names on a real host, and where a test puts it instead. */
export interface HostPath {
  /** The shell variable that stands for it in the commands a test runs. */
  readonly name: string;
  readonly host: string;
  readonly test: string;
}

/** `path` with the first host path it lies in moved to its test folder. */
export function mapHostPath(paths: readonly HostPath[], path: string): string {
  for (const p of paths) {
    if (path === p.host || path.startsWith(`${p.host}/`)) return p.test + path.slice(p.host.length);
  }
  return path;
}

export interface ServiceManagerOptions {
  /** Folder for the socket, the journal and the stand-in programs. */
  readonly dir: string;
  /** Where `systemctl` finds units (the host's /etc/systemd/system). */
  readonly unitDir: string;
  readonly paths: readonly HostPath[];
  /** User= names of units, and the test's users that play them. */
  readonly users: Readonly<Record<string, string>>;
}

interface Answer {
  readonly status: number;
  readonly out: string;
}

export class ServiceManager {
  readonly services = new Map<string, { plan: ServicePlan; process: DaemonProcess }>();
  readonly socket: string;
  readonly bin: string;
  readonly journalDir: string;
  private server: Server | undefined;

  constructor(private readonly options: ServiceManagerOptions) {
    this.socket = join(options.dir, 'systemd.sock');
    this.bin = join(options.dir, 'bin');
    this.journalDir = join(options.dir, 'journal');
  }

  /** Listens for the stand-ins, and writes them to `bin` (to put first on the PATH). */
  async listen(): Promise<void> {
    mkdirSync(this.bin, { recursive: true });
    mkdirSync(this.journalDir, { recursive: true });
    const standIn = join(PROJECT_ROOT, 'dist/test/helpers/systemctl-stand-in.js');
    writeFileSync(join(this.bin, 'systemctl'), `#!/bin/sh\n# Stands in for systemctl: asks the test's service manager.\nexec ${process.execPath} ${standIn} "$@"\n`, { mode: 0o755 });
    writeFileSync(
      join(this.bin, 'journalctl'),
      [
        '#!/bin/sh',
        '# Stands in for `journalctl -u UNIT -f`: the unit\'s whole journal, then what comes.',
        'if [ $# -ne 3 ] || [ "$1" != -u ] || [ "$3" != -f ]; then echo "journalctl stand-in: only -u UNIT -f" >&2; exit 2; fi',
        `echo $$ > ${this.journalDir}/follower.pid`,
        `exec tail -n +1 -F ${this.journalDir}/"\${2%.service}".log`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    this.server = createServer((connection) => {
      const lines = createInterface({ input: connection });
      lines.once('line', (line) => {
        lines.close();
        void this.handle(JSON.parse(line) as string[])
          .catch((err: unknown): Answer => ({ status: 1, out: `${(err as Error).message}\n` }))
          .then((answer) => connection.end(`${JSON.stringify(answer)}\n`));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.socket, resolve);
    });
    chmodSync(this.socket, 0o600);
  }

  journal(unit: string): string {
    return join(this.journalDir, `${unit}.log`);
  }

  /** The running service's process (its log lines, its pid). */
  process(unit: string): DaemonProcess {
    const service = this.services.get(unit);
    if (service === undefined) throw new Error(`${unit} was never started`);
    return service.process;
  }

  plan(unit: string): ServicePlan {
    const service = this.services.get(unit);
    if (service === undefined) throw new Error(`${unit} was never started`);
    return service.plan;
  }

  /** One systemctl command line. */
  private async handle(argv: readonly string[]): Promise<Answer> {
    const [verb, ...rest] = argv;
    const now = rest.includes('--now');
    const units = rest.filter((a) => !a.startsWith('-')).map((u) => u.replace(/\.service$/, ''));
    switch (verb) {
      case 'daemon-reload':
        return { status: 0, out: '' }; // units are read when started
      case 'enable': {
        let out = '';
        for (const unit of units) out += this.enable(unit);
        if (now) for (const unit of units) await this.start(unit);
        return { status: 0, out };
      }
      case 'start':
        for (const unit of units) await this.start(unit);
        return { status: 0, out: '' };
      case 'stop':
        for (const unit of units) await this.stop(unit);
        return { status: 0, out: '' };
      case 'reload':
        for (const unit of units) this.reload(unit);
        return { status: 0, out: '' };
      case 'is-active': {
        const active = units.every((u) => this.running(u));
        return { status: active ? 0 : 3, out: `${active ? 'active' : 'inactive'}\n` };
      }
      default:
        return { status: 1, out: `systemctl stand-in: "${argv.join(' ')}" is not emulated\n` };
    }
  }

  /**
   * The unit as systemd reads it: the file, then its drop-ins (UNIT.service.d/*.conf, what
   * `systemctl edit` writes) in the order of their names, each later assignment applied after
   * the earlier ones (a list grows, an empty value resets it, a single value is replaced).
   */
  private unitText(unit: string): string {
    const file = join(this.options.unitDir, `${unit}.service`);
    const dropIns = join(this.options.unitDir, `${unit}.service.d`);
    const confs = existsSync(dropIns) ? readdirSync(dropIns).filter((f) => f.endsWith('.conf')).sort() : [];
    return [file, ...confs.map((f) => join(dropIns, f))].map((f) => readFileSync(f, 'utf8')).join('\n');
  }

  /** As systemctl enable: a link in each WantedBy= target's .wants folder. */
  private enable(unit: string): string {
    let out = '';
    for (const target of unitList(parseUnit(this.unitText(unit)), 'Install', 'WantedBy')) {
      const wants = join(this.options.unitDir, `${target}.wants`);
      mkdirSync(wants, { recursive: true });
      const link = join(wants, `${unit}.service`);
      symlinkSync(join(this.options.unitDir, `${unit}.service`), link);
      out += `Created symlink ${link} → ${join(this.options.unitDir, `${unit}.service`)}.\n`;
    }
    return out;
  }

  private running(unit: string): boolean {
    const service = this.services.get(unit);
    return service !== undefined && service.process.running;
  }

  async start(unit: string): Promise<void> {
    if (this.running(unit)) return;
    const plan = planService(
      parseUnit(this.unitText(unit)),
      (path) => mapHostPath(this.options.paths, path),
      (user) => this.options.users[user] ?? user,
    );
    for (const state of plan.stateDirectories) {
      // Never the host's own /var/lib: only a folder that a test path stands for.
      if (!this.options.paths.some((p) => state.path === p.test || state.path.startsWith(`${p.test}/`))) {
        throw new Error(`StateDirectory ${state.path} is not mapped to a test folder`);
      }
      mkdirSync(state.path, { recursive: true });
      chownSync(state.path, idsOf(plan.user).uid, gidOf(plan.group));
      chmodSync(state.path, state.mode);
    }
    const journal = this.journal(unit);
    const [cmd, ...args] = plan.argv;
    const child = new DaemonProcess([], { command: { cmd: cmd!, args, env: plan.env }, cwd: plan.cwd, onLine: (line) => appendFileSync(journal, `${line}\n`) });
    this.services.set(unit, { plan, process: child });
  }

  async stop(unit: string): Promise<void> {
    await this.services.get(unit)?.process.stop();
  }

  reload(unit: string): void {
    const service = this.services.get(unit);
    if (service === undefined || !this.running(unit)) throw new Error(`${unit} is not running`);
    if (service.plan.reloadSignal === undefined) throw new Error(`${unit} has no ExecReload=`);
    service.process.signal(service.plan.reloadSignal);
  }

  /** Stops every service and the socket. */
  async close(): Promise<void> {
    for (const unit of this.services.keys()) await this.stop(unit);
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
    await rm(this.socket, { force: true });
  }
}
