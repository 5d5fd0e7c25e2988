/**
 * `signal`: signal the process named by a pidfile (Apache: SIGUSR1 is a
 * graceful restart; gunicorn: SIGHUP). A pidfile outlives crashes, and Linux
 * reuses pids, so before signalling we check that the process exists and that
 * it started before the pidfile was written: a process younger than its
 * pidfile is some other program that got the recycled pid.
 *
 * What is trusted is the pidfile's owner, and only for its own processes: a
 * pidfile owned by root may name any process (root wrote it), one owned by
 * another user (gunicorn's, written as www-data) only a process of that user.
 * Whoever can write the pidfile could otherwise make the daemon, which may
 * hold CAP_KILL for Apache, signal any process (SIGUSR1 ends most programs).
 * The folder holding it counts as well: whoever may replace the file chooses it.
 */
import { readFile, stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { basename, dirname } from 'node:path';
import { HgreloadError, errnoCode, strerror } from '../errors.js';

export interface PidfileContent {
  readonly text: string;
  readonly mtimeMs: number;
  /** The pidfile's owner. */
  readonly uid: number;
  /** The owner of the folder holding it, and whether others may replace files there. */
  readonly folder: { readonly uid: number; readonly writableByOthers: boolean };
}

export interface ProcessTable {
  readonly readPidfile: (path: string) => Promise<PidfileContent>;
  /** The process's real user id. */
  readonly ownerUid: (pid: number) => Promise<number | undefined>;
  /** When the process started (ms since the epoch), or undefined when there is no such process. */
  readonly startedAtMs: (pid: number) => Promise<number | undefined>;
  /** The program's name, for messages. */
  readonly program: (pid: number) => Promise<string>;
  readonly kill: (pid: number, signal: NodeJS.Signals) => void;
}

// Linux reports process start in clock ticks since boot; USER_HZ is 100 on every architecture Debian ships.
const TICKS_PER_SECOND = 100;
// btime has one-second resolution and a pidfile is written just after start.
const SLACK_MS = 2000;

export const linuxProcessTable: ProcessTable = {
  readPidfile: async (path) => {
    const [text, info, folder] = await Promise.all([readFile(path, 'utf8'), stat(path), stat(dirname(path))]);
    // Others may replace files in a folder they can write, unless the sticky bit keeps each to their own.
    const writableByOthers = (folder.mode & 0o002) !== 0 && (folder.mode & 0o1000) === 0;
    return { text, mtimeMs: info.mtimeMs, uid: info.uid, folder: { uid: folder.uid, writableByOthers } };
  },
  ownerUid: async (pid) => {
    try {
      const uid = /^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
      return uid === undefined ? undefined : Number(uid);
    } catch {
      return undefined;
    }
  },
  startedAtMs: async (pid) => {
    let procStat: string;
    try {
      procStat = await readFile(`/proc/${pid}/stat`, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = procStat.slice(procStat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(await readFile('/proc/stat', 'utf8'))?.[1]);
    return (btime + ticks / TICKS_PER_SECOND) * 1000;
  },
  program: async (pid) => {
    try {
      return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
    } catch {
      return 'unknown program';
    }
  },
  kill: (pid, signal) => process.kill(pid, signal),
};

export function checkSignalName(name: string): NodeJS.Signals {
  if (!(name in constants.signals)) {
    throw new HgreloadError('settings', `unknown signal "${name}"`, { hint: 'use a name such as SIGUSR1 (Apache graceful) or SIGHUP (gunicorn)' });
  }
  return name as NodeJS.Signals;
}

/** The live process a pidfile names, checked as described above; throws an HgreloadError for a stale one. */
export async function pidfileProcess(pidfile: string, procs: ProcessTable = linuxProcessTable): Promise<{ pid: number; program: string }> {
  let pidText: PidfileContent;
  try {
    pidText = await procs.readPidfile(pidfile);
  } catch (err) {
    throw new HgreloadError('reload', `cannot read pidfile ${pidfile} (${strerror(err)})`, {
      hint: 'is the server running? check "pidfile" in [reload]',
      cause: err,
    });
  }
  const text = pidText.text.trim();
  const pid = Number(text);
  if (!/^\d+$/.test(text) || pid <= 1) {
    throw new HgreloadError('reload', `pidfile ${pidfile} does not hold a process id: "${text.slice(0, 40)}"`);
  }
  const started = await procs.startedAtMs(pid);
  if (started === undefined) {
    throw new HgreloadError('reload', `stale pidfile ${pidfile}: no process ${pid} is running`, {
      hint: 'the server is not running, or it left this pidfile behind; start it, or fix "pidfile"',
    });
  }
  const program = await procs.program(pid);
  if (started > pidText.mtimeMs + SLACK_MS) {
    throw new HgreloadError('reload', `stale pidfile ${pidfile}: process ${pid} (${basename(program)}) started after the pidfile was written, so it is not the server that wrote it`, {
      hint: 'the server has stopped and its pid was reused; nothing was signalled',
    });
  }
  const owner = await procs.ownerUid(pid);
  const trusted = pidText.uid === 0 || owner === pidText.uid;
  if (!trusted) {
    throw new HgreloadError('reload', `pidfile ${pidfile} (owned by uid ${pidText.uid}) names process ${pid} (${basename(program)}) of uid ${owner ?? 'unknown'}: a pidfile may name only its owner's processes, or any when root owns it; nothing was signalled`, {
      hint: "point \"pidfile\" at the file the server itself writes",
    });
  }
  if (pidText.folder.writableByOthers || (pidText.folder.uid !== 0 && pidText.folder.uid !== pidText.uid)) {
    throw new HgreloadError('reload', `pidfile ${pidfile} sits in a folder that others may write (${dirname(pidfile)}): whoever replaces the file chooses what is signalled; nothing was signalled`, {
      hint: 'keep the pidfile in a folder of root or of the server\'s user, such as /run/apache2 or /run/gunicorn',
    });
  }
  return { pid, program };
}

export async function signalFromPidfile(pidfile: string, signal: NodeJS.Signals, procs: ProcessTable = linuxProcessTable): Promise<string> {
  const { pid, program } = await pidfileProcess(pidfile, procs);
  try {
    procs.kill(pid, signal);
  } catch (err) {
    throw new HgreloadError('reload', `cannot send ${signal} to ${program} (pid ${pid} from ${pidfile}): ${strerror(err)}`, {
      hint: errnoCode(err) === 'EPERM' ? "the daemon's user may not signal that process: run hgreload as the server's user, or use another method" : undefined,
      cause: err,
    });
  }
  return `sent ${signal} to ${program} (pid ${pid})`;
}
