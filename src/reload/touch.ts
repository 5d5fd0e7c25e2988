/** `touch`: set the WSGI script's mtime to now; mod_wsgi in daemon mode then restarts its processes. */
import { utimes } from 'node:fs/promises';
import { HgreloadError, strerror } from '../errors.js';

export async function touchScript(wsgi: string, now: Date = new Date(), touch = utimes): Promise<string> {
  try {
    await touch(wsgi, now, now);
  } catch (err) {
    throw new HgreloadError('reload', `cannot touch ${wsgi} (${strerror(err)})`, {
      hint: 'the daemon\'s user must own the WSGI script or be able to write it; check "wsgi" in [reload]',
      cause: err,
    });
  }
  return `touched ${wsgi}`;
}
