/**
 * OpenSSH's sshd, started by a test on a free loopback port with its own
 * config, host key and authorized keys in a temp folder, and stopped by it:
 * people push over SSH as themselves, as on a real Mercurial host.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './apache.js';

/**
 * Where Debian's sshd keeps its privilege-separated children (compiled in; the
 * package's tmpfiles.d makes it at boot when the service is enabled). sshd
 * refuses to start without it, so a test makes it when it is missing, and
 * removes only what it made.
 */
const PRIVSEP_DIR = '/run/sshd';

/** Makes an ed25519 key pair at `path` and `path`.pub (no passphrase). */
export function makeKey(path: string, comment = 'hgreload-test'): string {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(`${path}.pub`, 'utf8');
}

export interface SshdOptions {
  /** Folder for the config, host key and authorized keys. */
  readonly dir: string;
  /** Only these users may log in. */
  readonly allowUsers: readonly string[];
  /** Environment for every session (sshd's SetEnv), e.g. HGRCPATH for the pushers' hg. */
  readonly sessionEnv?: Readonly<Record<string, string>>;
  /**
   * The umask of every session (sshd's own, 022, when unset). A host whose pushers share
   * repositories through a group gives them 002 (on Debian, say, `session optional pam_umask.so`
   * added to /etc/pam.d/common-session, with USERGROUPS_ENAB yes in /etc/login.defs); this sshd
   * runs without PAM, so a ForceCommand sets it, then runs the client's command through the
   * user's shell, as sshd itself would.
   */
  readonly umask?: number;
}

export class Sshd {
  private child: ChildProcess | undefined;
  private madePrivsepDir = false;
  private readonly output: string[] = [];
  private readonly keysDir: string;
  port = 0;

  constructor(private readonly options: SshdOptions) {
    this.keysDir = join(options.dir, 'authorized_keys');
  }

  /** Lets `user` log in with `publicKey` (the text of a .pub file). */
  authorize(user: string, publicKey: string): void {
    mkdirSync(this.keysDir, { recursive: true, mode: 0o755 });
    writeFileSync(join(this.keysDir, user), publicKey, { mode: 0o644 });
  }

  async start(): Promise<void> {
    const { dir, allowUsers, sessionEnv = {}, umask } = this.options;
    mkdirSync(this.keysDir, { recursive: true, mode: 0o755 });
    const hostKey = join(dir, 'ssh_host_ed25519_key');
    makeKey(hostKey, 'hgreload-test-host');
    this.port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${this.port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        'PidFile none',
        // No PAM: no session bookkeeping in the host's /var/log/wtmp and no pam_* modules at work.
        'UsePAM no',
        // The keys sit below /tmp, which is world-writable: sshd's owner and mode check of
        // every folder up to / would refuse them.
        'StrictModes no',
        `AuthorizedKeysFile ${this.keysDir}/%u`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin no',
        `AllowUsers ${allowUsers.join(' ')}`,
        'X11Forwarding no',
        'AllowTcpForwarding no',
        'PrintMotd no',
        ...Object.entries(sessionEnv).map(([name, value]) => `SetEnv ${name}=${value}`),
        ...(umask === undefined ? [] : [`ForceCommand umask ${umask.toString(8).padStart(4, '0')} && exec "$SHELL" -c "$SSH_ORIGINAL_COMMAND"`]),
        '',
      ].join('\n'),
    );
    if (!existsSync(PRIVSEP_DIR)) {
      mkdirSync(PRIVSEP_DIR, { mode: 0o755 });
      chownSync(PRIVSEP_DIR, 0, 0);
      chmodSync(PRIVSEP_DIR, 0o755);
      this.madePrivsepDir = true;
    }
    // -D: in the foreground, as the test's child; -e: its log on stderr, read below.
    this.child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    const lines = createInterface({ input: this.child.stderr! });
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not listen within 10 s:\n${this.log()}`)), 10_000);
      lines.on('line', (line) => {
        this.output.push(line);
        if (line.startsWith('Server listening on 127.0.0.1')) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.child!.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited (${code}):\n${this.log()}`));
      });
    });
    await listening;
  }

  /** The `-e` value for hg: ssh with `key` to this server, no host key bookkeeping, never a prompt. */
  sshCommand(key: string): string {
    return `ssh -F /dev/null -i ${key} -p ${this.port} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR`;
  }

  log(): string {
    return this.output.join('\n');
  }

  async stop(): Promise<void> {
    if (this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      await exited;
    }
    if (this.madePrivsepDir) {
      rmdirSync(PRIVSEP_DIR);
      this.madePrivsepDir = false;
    }
  }
}
