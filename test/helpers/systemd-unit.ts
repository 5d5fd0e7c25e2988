/**
 * A systemd service unit (read by src/util/unit-file.ts) turned into what a test can
 * do without systemd: the command line, user, groups, umask, privileges,
 * environment and state folder that systemd would give the service. What
 * needs systemd's own machinery (mount namespaces, seccomp, cgroups,
 * restarts) is listed and not applied; any other key is an error, so that a
 * new line in the unit is a decision here, not a silent difference.
 */
import { spawnSync } from 'node:child_process';
import { withUmask } from './run.js';
import { gidOf } from './users.js';

export { parseUnit, unitList, unitValue, type UnitFile } from '../../src/util/unit-file.js';
import { unitList, unitValue, type UnitFile } from '../../src/util/unit-file.js';

/** [Service] keys this module turns into the process it starts. */
const APPLIED = new Set([
  'Type',
  'ExecStart',
  'ExecReload',
  'Environment',
  'User',
  'Group',
  'SupplementaryGroups',
  'UMask',
  'WorkingDirectory',
  'StateDirectory',
  'StateDirectoryMode',
  'NoNewPrivileges',
  'CapabilityBoundingSet',
]);

/** [Service] keys that need systemd itself (namespaces, seccomp, cgroups, supervision): not applied here. */
const NEEDS_SYSTEMD = new Set([
  'Restart',
  'RestartSec',
  'ProtectSystem',
  'ProtectHome',
  'ReadWritePaths',
  'PrivateTmp',
  'PrivateDevices',
  'PrivateMounts',
  'PrivateNetwork',
  'IPAddressDeny',
  'RemoveIPC',
  'ProtectKernelTunables',
  'ProtectKernelModules',
  'ProtectKernelLogs',
  'ProtectControlGroups',
  'ProtectClock',
  'ProtectHostname',
  'RestrictAddressFamilies',
  'RestrictNamespaces',
  'RestrictRealtime',
  'RestrictSUIDSGID',
  'LockPersonality',
  'SystemCallArchitectures',
  'SystemCallFilter',
  'SystemCallErrorNumber',
]);

/** systemd's PATH for services (systemd 252, merged /usr). */
const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin';

export interface ServicePlan {
  readonly user: string;
  readonly group: string;
  /** The process's supplementary groups, as gids: Group=, the user's groups in /etc/group, SupplementaryGroups=. */
  readonly groups: readonly number[];
  readonly umask: number;
  readonly execStart: readonly string[];
  /** The signal `systemctl reload` sends (ExecReload=/bin/kill -SIG $MAINPID). */
  readonly reloadSignal: NodeJS.Signals | undefined;
  readonly stateDirectories: ReadonlyArray<{ readonly path: string; readonly mode: number }>;
  /**
   * ReadWritePaths=, mapped: not applied (ProtectSystem=strict needs systemd), but what a test
   * checks, since under systemd the service may write nothing else outside its state folder.
   */
  readonly readWritePaths: readonly string[];
  readonly cwd: string;
  /** setpriv, then the unit's umask, then ExecStart: the same process from start to end. */
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

/**
 * How to run the [Service] of `unit` as systemd would (User= and Group= with
 * the user's groups and SupplementaryGroups=, UMask=, NoNewPrivileges=, an
 * empty CapabilityBoundingSet=, StateDirectory= made and owned, a clean
 * environment). `mapPath` moves the
 * host paths the unit names (ExecStart, Environment, /var/lib/NAME) to a
 * test's folders; `mapUser` does the same for User=.
 */
export function planService(unit: UnitFile, mapPath: (path: string) => string, mapUser: (user: string) => string): ServicePlan {
  for (const [key] of unit.get('Service') ?? []) {
    if (!APPLIED.has(key) && !NEEDS_SYSTEMD.has(key)) throw new Error(`the unit has ${key}=, which the test's service manager neither applies nor lists as systemd's alone`);
  }
  const value = (key: string) => unitValue(unit, 'Service', key);
  const type = value('Type') ?? 'simple';
  if (type !== 'exec' && type !== 'simple') throw new Error(`Type=${type} is not emulated`);
  const execStart = (value('ExecStart') ?? '').split(/\s+/).filter(Boolean);
  if (!execStart[0]?.startsWith('/')) throw new Error(`ExecStart= must name an absolute program (no prefixes, no quoting here): ${value('ExecStart')}`);
  execStart[0] = mapPath(execStart[0]);
  const reload = /^\/bin\/kill -(\w+) \$MAINPID$/.exec(value('ExecReload') ?? '');
  if (value('ExecReload') !== undefined && reload === null) throw new Error(`ExecReload=${value('ExecReload')} is not emulated`);
  if (unitList(unit, 'Service', 'CapabilityBoundingSet').length > 0) throw new Error('only an empty CapabilityBoundingSet= is emulated');

  const user = mapUser(value('User') ?? 'root');
  const home = spawnSync('getent', ['passwd', user], { encoding: 'utf8' }).stdout.split(':');
  if (home.length < 7) throw new Error(`User=${user}: no such user`);
  const group = value('Group') ?? spawnSync('id', ['-gn', user], { encoding: 'utf8' }).stdout.trim();
  // systemd: getgrouplist(User=, Group=), i.e. Group= and the user's groups from /etc/group, then SupplementaryGroups=.
  const memberOf = spawnSync('getent', ['initgroups', user], { encoding: 'utf8' }).stdout.trim().split(/\s+/).slice(1).map(Number);
  const groups = [...new Set([gidOf(group), ...memberOf, ...unitList(unit, 'Service', 'SupplementaryGroups').map(gidOf)])];
  const umask = parseInt(value('UMask') ?? '0022', 8);
  const stateMode = parseInt(value('StateDirectoryMode') ?? '0755', 8);
  const stateDirectories = unitList(unit, 'Service', 'StateDirectory').map((name) => ({ path: mapPath(`/var/lib/${name}`), mode: stateMode }));

  const env: NodeJS.ProcessEnv = {
    PATH: SERVICE_PATH,
    HOME: home[5],
    USER: user,
    LOGNAME: user,
    SHELL: home[6]!.trim(),
    ...(stateDirectories.length > 0 ? { STATE_DIRECTORY: stateDirectories.map((d) => d.path).join(':') } : {}),
  };
  for (const assignment of unitList(unit, 'Service', 'Environment')) {
    const eq = assignment.indexOf('=');
    env[assignment.slice(0, eq)] = mapPath(assignment.slice(eq + 1));
  }
  const argv = [
    'setpriv',
    `--reuid=${user}`,
    `--regid=${group}`,
    `--groups=${groups.join(',')}`,
    ...(value('NoNewPrivileges') === 'yes' ? ['--no-new-privs'] : []),
    ...(value('CapabilityBoundingSet') !== undefined ? ['--bounding-set=-all', '--inh-caps=-all'] : []),
    '--',
    ...withUmask(umask, execStart),
  ];
  return {
    user,
    group,
    groups,
    umask,
    execStart,
    reloadSignal: reload === null ? undefined : (`SIG${reload[1]}` as NodeJS.Signals),
    stateDirectories,
    // A leading `-` (ignore a missing path) or `+` is not part of the path.
    readWritePaths: unitList(unit, 'Service', 'ReadWritePaths').map((p) => mapPath(p.replace(/^[-+]/, ''))),
    cwd: mapPath(value('WorkingDirectory') ?? '/'),
    argv,
    env,
  };
}
