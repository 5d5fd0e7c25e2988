/**
 * The kernel's inotify through hgreload's addon (src/native/inotify.c, built
 * by `npm install`): one instance for every folder, a watch being a number the
 * kernel keeps. What Node's fs.watch does not give: watches that cost no
 * JavaScript objects, a mask of only the events wanted, and the kernel's
 * IN_Q_OVERFLOW record.
 */
import { constants } from 'node:os';
import { errnoError, nativeAddon, type AddonBinding, type FsPath } from '../native/addon.js';

/** inotify(7)'s bits, those hgreload uses. */
export const IN = {
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  Q_OVERFLOW: 0x4000,
  IGNORED: 0x8000,
} as const;

export interface InotifyEvent {
  /** -1 for IN_Q_OVERFLOW. */
  readonly wd: number;
  readonly mask: number;
  /** The entry named, for an event in a watched folder. */
  readonly name: Buffer | null;
}

/** struct inotify_event: int wd; uint32 mask, cookie, len; char name[len] (NUL-padded). */
const HEADER = 16;

export class Inotify {
  private constructor(
    private readonly addon: AddonBinding,
    private readonly handle: object,
  ) {}

  /** Throws when the addon is missing, or the kernel gives no instance (EMFILE: this user's max_user_instances, or no descriptor left). */
  static open(onEvent: (event: InotifyEvent) => void): Inotify {
    const addon = nativeAddon();
    if (addon instanceof Error) throw addon;
    const handle = addon.open((records) => {
      for (let at = 0; at + HEADER <= records.length; ) {
        const length = records.readUInt32LE(at + 12);
        const raw = records.subarray(at + HEADER, at + HEADER + length);
        const end = raw.indexOf(0);
        const name = end === 0 || length === 0 ? null : end < 0 ? raw : raw.subarray(0, end);
        onEvent({ wd: records.readInt32LE(at), mask: records.readUInt32LE(at + 4), name });
        at += HEADER + length;
      }
    });
    if (typeof handle === 'number') throw errnoError(-handle, 'inotify_init1');
    return new Inotify(addon, handle);
  }

  /**
   * Watches each of `paths`: its watch descriptor (the same for two paths to
   * one folder), or the error it met, errno-coded as an fs call's. With
   * `check`, each path watched is then stat'ed: check.changed[i] is 1 where
   * its mtime or ctime is at or after check.sinceMs, or it could not be.
   */
  add(paths: readonly FsPath[], mask: number, check?: { readonly sinceMs: number; readonly changed: Uint8Array }): Array<number | NodeJS.ErrnoException> {
    const answers = check === undefined ? this.addon.add(this.handle, paths, mask) : this.addon.add(this.handle, paths, mask, check.sinceMs, check.changed);
    return answers.map((wd, i) => (wd < 0 ? errnoError(-wd, 'inotify_add_watch', paths[i]) : wd));
  }

  /** Ends a watch; one the kernel ended already (its folder removed) is no error. */
  remove(wd: number): void {
    const rc = this.addon.remove(this.handle, wd);
    if (rc < 0 && -rc !== constants.errno.EINVAL) throw errnoError(-rc, 'inotify_rm_watch');
  }

  /** Ends every watch with the instance. */
  close(): void {
    this.addon.close(this.handle);
  }
}
