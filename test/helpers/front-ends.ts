/**
 * Hosts for the tests of several hgweb front ends over one store: each host
 * has its own folder (configs, script, the daemon's state, gunicorn's
 * pidfile), its own FUSE mount of the store (bindfs), its own gunicorn and its
 * own daemon, as hosts sharing an NFS export do.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Gunicorn } from './gunicorn.js';
import { Site } from './web-site.js';

/** Fails with what to install when `program` cannot be run. */
export function need(program: string, debianPackage: string): void {
  const r = spawnSync(program, ['--version'], { encoding: 'utf8' });
  assert.equal(r.error, undefined, `${program} is needed for this test: apt-get install ${debianPackage} (.ci/run does): ${r.error?.message}`);
}

/** Fails with what to install unless bindfs, fusermount and gunicorn can all be run. */
export function needFrontEndTools(): void {
  need('bindfs', 'bindfs');
  need('fusermount', 'fuse3');
  need('gunicorn', 'gunicorn');
}

export interface Host {
  readonly name: string;
  /** This host's mount of the store. */
  readonly mount: string;
  readonly server: Gunicorn;
  readonly site: Site;
}

/**
 * A host's own folder beside its mount point, both made empty here; its site
 * serves MOUNT/repos (`*`, method publish, debounce 50) and its daemon polls
 * every `pollMs` ([watch] poll = auto), with `more` settings appended.
 */
export function host(root: string, name: string, pollMs: number, more = ''): Host {
  const base = join(root, `host-${name}`);
  const mount = join(root, `mount-${name}`);
  mkdirSync(base);
  mkdirSync(mount);
  const script = join(base, 'hgweb.wsgi');
  const server = new Gunicorn(base, script);
  const settings = `[watch]\npoll = auto\npoll_interval = ${pollMs}\n${more}`;
  const site = new Site({ base, repos: join(mount, 'repos'), glob: '*', method: 'publish', script, server, debounce: 50, settings });
  return { name, mount, server, site };
}

/**
 * Mounts `store` at `mount` through bindfs. attr_timeout=0: NFS revalidates a
 * folder's attributes when it is opened (close-to-open), as the poller relies
 * on, but FUSE answers from the kernel's attribute cache, 1 s by default, open
 * or not; with that cache a host would see another's changes up to 1 s later
 * than over NFS.
 */
export function mountStore(store: string, mount: string): void {
  const r = spawnSync('bindfs', ['-o', 'attr_timeout=0', store, mount], { encoding: 'utf8' });
  assert.equal(r.status, 0, `bindfs ${store} ${mount}: ${r.stderr}`);
}

/** Unmounts a FUSE mount; a folder not mounted (a set-up that failed early) is left alone. */
export function unmountStore(mount: string): void {
  spawnSync('fusermount', ['-u', mount]);
}
