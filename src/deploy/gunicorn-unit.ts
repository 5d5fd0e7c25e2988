/**
 * The systemd unit for gunicorn serving the script `hgreload wsgi` prints:
 * a pure rendering of what the `gunicorn` command gathered.
 */
import { basename, dirname, relative } from 'node:path';
import { HgreloadError } from '../errors.js';

export interface GunicornUnitOptions {
  readonly workers: number;
  readonly threads: number;
  readonly bind: string;
  readonly user: string;
  /** The WSGI script, absolute, named NAME.py. */
  readonly script: string;
  readonly pidfile: string;
  readonly webconf: string;
  /** The folders hgweb serves from, absolute: pushes write there. */
  readonly roots: readonly string[];
}

export const GUNICORN = '/usr/bin/gunicorn';
const PYTHON_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PRIVILEGED_PORTS = 1024;

/**
 * The module gunicorn imports for `script`. gunicorn (20.1 included) only
 * imports modules (importlib.import_module), never a file path, so the script
 * needs a NAME.py name in the folder given to --chdir.
 */
export function scriptModule(script: string): string {
  const module = basename(script).replace(/\.py$/, '');
  if (!script.endsWith('.py') || !PYTHON_IDENTIFIER.test(module)) {
    throw new HgreloadError('usage', `gunicorn cannot import ${script}: it imports a module, NAME.py with NAME a Python identifier`, {
      hint: 'save the script under such a name, e.g. "hgreload wsgi > /var/www/hg/hgweb_app.py", and pass --script with it',
    });
  }
  return module;
}

/** A value as systemd should read it: "%" starts a specifier, so it is doubled. */
function literal(value: string): string {
  return value.replaceAll('%', '%%');
}

/** One word of a unit file list; a word with blanks or quotes is quoted. */
function unitWord(word: string): string {
  const escaped = literal(word);
  return /^[^\s"'\\]+$/.test(escaped) ? escaped : `"${escaped.replace(/["\\]/g, '\\$&')}"`;
}

/** One word of ExecStart=, where "$" also starts a variable. */
function execWord(word: string): string {
  return unitWord(word.replaceAll('$', '$$$$'));
}

function execStart(o: GunicornUnitOptions): string {
  const argv = [GUNICORN, '--workers', String(o.workers), '--threads', String(o.threads), '--bind', o.bind, '--pid', o.pidfile];
  return [...argv, '--chdir', dirname(o.script), `${scriptModule(o.script)}:application`].map(execWord).join(' ');
}

/** The folder below /run that systemd should make for the pidfile, if it is there. */
function runtimeDirectory(pidfile: string): string | undefined {
  const below = relative('/run', dirname(pidfile));
  return below === '' || below.startsWith('..') ? undefined : below;
}

function bindsPrivilegedPort(bind: string): boolean {
  const port = /:(\d+)$/.exec(bind)?.[1];
  return port !== undefined && Number(port) < PRIVILEGED_PORTS;
}

function lines(...parts: ReadonlyArray<string | false | undefined>): string {
  return parts.filter((p): p is string => typeof p === 'string').join('\n');
}

export function renderGunicornUnit(o: GunicornUnitOptions): string {
  const runtime = runtimeDirectory(o.pidfile);
  const capability = bindsPrivilegedPort(o.bind) ? 'CAP_NET_BIND_SERVICE' : '';
  // ProtectSystem=strict leaves only RuntimeDirectory= writable of the pidfile folders.
  const writable = runtime === undefined ? [...o.roots, dirname(o.pidfile)] : o.roots;
  return `${lines(
    '# hgweb served by gunicorn, with the WSGI script of "hgreload wsgi".',
    '# Save as e.g. /etc/systemd/system/hgweb.service; site changes belong in a drop-in.',
    '[Unit]',
    `Description=hgweb (gunicorn) for ${literal(o.webconf)}`,
    '# The served roots may be network mounts, or mounts made at boot: gunicorn starts once they are there.',
    `After=network.target remote-fs.target`,
    o.roots.length > 0 && `RequiresMountsFor=${o.roots.map(unitWord).join(' ')}`,
    '',
    '[Service]',
    '# gunicorn 20 tells systemd READY=1 once it listens (arbiter boot), so "started" means serving.',
    'Type=notify',
    `ExecStart=${execStart(o)}`,
    '# HUP makes gunicorn start new workers, which read hgweb.config afresh; hgreload\'s signal method does the same.',
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=on-failure',
    'RestartSec=2s',
    '# Pushes over HTTP write as this user; Group= is left out so that its own group applies.',
    `User=${o.user}`,
    runtime !== undefined && '# The pidfile\'s folder is under /run (a tmpfs): systemd makes it, owned by User=, at each start.',
    runtime !== undefined && `RuntimeDirectory=${unitWord(runtime)}`,
    '# No HGRCPATH: hgweb must read the system hgrc (hooks, trusted groups, [web] settings).',
    '',
    '# Read-only system except the served roots, which pushes write into (and a pidfile',
    '# folder outside /run); more specific paths win, so roots under /home stay writable.',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    writable.length > 0 && `ReadWritePaths=${writable.map(unitWord).join(' ')}`,
    '# /tmp is private: hg needs no temporary file shared with anyone.',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'PrivateMounts=yes',
    'RemoveIPC=yes',
    'NoNewPrivileges=yes',
    '# No capability, but binding a port below 1024 as an unprivileged user.',
    `CapabilityBoundingSet=${capability}`,
    capability !== '' && `AmbientCapabilities=${capability}`,
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    '# A web server: IP for its clients, Unix sockets for hgreload\'s control socket and syslog.',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    'SystemCallFilter=~@privileged @resources',
    'SystemCallErrorNumber=EPERM',
    '# MemoryDenyWriteExecute is left off: libffi closures (ctypes, cffi), which Mercurial extensions may use, need writable code.',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  )}\n`;
}
