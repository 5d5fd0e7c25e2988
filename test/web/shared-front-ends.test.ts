/**
 * Two hgweb front ends over one store, as hosts that outgrew one machine run
 * them over NFS: bindfs (FUSE) mounts one folder twice, as host A's and host
 * B's mount, and each host runs its own daemon (publish, `[watch] poll =
 * auto`) and its own gunicorn. A push lands on whichever host took the SSH
 * connection, and the kernel tells a host only of changes made through its
 * own mount: a repository made or removed through A reaches B's front end by
 * B's poll, within about one poll interval; one made through B reaches it at
 * once (inotify), the control. The times measured are printed as diagnostics; the
 * bound asserted is generous, for a loaded 2-core machine.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IndexAnswer } from '../helpers/apache.js';
import { isReload, type DaemonProcess, type LogLine } from '../helpers/daemon-process.js';
import { host as hostWith, mountStore, needFrontEndTools, unmountStore, type Host } from '../helpers/front-ends.js';
import { Gunicorn } from '../helpers/gunicorn.js';
import { Postgres } from '../helpers/postgres.js';
import { makeTempDir, runCli } from '../helpers/run.js';
import { hgInit, indexUntil, statusUntil } from '../helpers/web-site.js';

const POLL_MS = 500;
/** The target is POLL_MS + 150 ms; this much more is allowed for a loaded machine. */
const MARGIN_MS = 2000;
/** How often the index is asked while timing: a figure is late by at most this and one request. */
const ASK_EVERY_MS = 20;

/** A host whose daemon polls every POLL_MS. */
const host = (root: string, name: string, more = ''): Host => hostWith(root, name, POLL_MS, more);

interface Timed {
  /** The host whose front end was asked. */
  readonly front: string;
  /** The host whose daemon published. */
  readonly publisher: string;
  /** From the change's end to the first answer of that front end that shows it. */
  readonly ms: number;
  /** From the change's end to the reload line (its time) of that front end's daemon: below 0 when it reloaded before hg init ended. */
  readonly reloadMs: number;
  /** How long the change itself took (hg init is a Python start). */
  readonly changeMs: number;
  readonly reload: LogLine;
}

/** Makes `change`, then waits for `shown` (which asks `front`'s server, ASK_EVERY_MS apart) and for its daemon's reload line. */
async function timed(
  front: Pick<Host, 'name'>,
  change: () => void,
  shown: () => Promise<unknown>,
  reloaded: (l: LogLine) => boolean,
  what: string,
  daemon: DaemonProcess = (front as Host).site.daemon!,
  publisher = front.name,
): Promise<Timed> {
  const from = daemon.mark;
  const started = Date.now();
  change();
  const changed = Date.now();
  await shown();
  const ms = Date.now() - changed;
  const reload = await daemon.waitFor((l) => isReload(l) && reloaded(l), `the reload for ${what}`, { from });
  return { front: front.name.toUpperCase(), publisher: publisher.toUpperCase(), ms, reloadMs: Date.parse(reload.time as string) - changed, changeMs: changed - started, reload };
}

const report = (what: string, t: Timed, shown = 'its index showed it', between = ''): string =>
  `${what}: ${t.publisher}'s daemon reloaded after ${t.reloadMs} ms, ${t.front}'s ${shown.replace(/^its /, '')} after ${t.ms} ms${between} ` +
  `(from the change's end; it took ${t.changeMs} ms, and a daemon may act before it ends; ` +
  `poll interval ${POLL_MS} ms, target ${POLL_MS + 150} ms, bound ${POLL_MS + MARGIN_MS} ms)`;

describe('two hgweb front ends (gunicorn) over one store mounted twice (bindfs)', () => {
  const dir = makeTempDir('hgreload-fronts-');
  const store = join(dir.path, 'store');
  const a = host(dir.path, 'a');
  const b = host(dir.path, 'b');
  const reasons = (t: Timed) => t.reload.reasons as string[];
  const onB = (shows: (i: IndexAnswer) => boolean, what: string) => () => indexUntil(b.server.url, shows, what, b.site.seen, ASK_EVERY_MS);

  before(async () => {
    needFrontEndTools();
    mkdirSync(join(store, 'repos'), { recursive: true });
    for (const { mount } of [a, b]) mountStore(store, mount);
    // One after the other: A's site makes `first` through its mount, B's finds it there.
    await a.site.start();
    await b.site.start();
    for (const { server, site } of [a, b]) await indexUntil(server.url, (i) => i.repos.includes('first'), 'first', site.seen);
    const polling = b.site.daemon!.lines.find((l) => l.msg.startsWith('polling '));
    assert.match(polling?.msg ?? '(no polling line)', /^polling 1 folders every 500 ms \(on FUSE: /);
  });
  after(async () => {
    await Promise.all([a.site.stop(), b.site.stop()]);
    for (const { mount } of [a, b]) unmountStore(mount);
    dir.remove();
  });

  // The steps run in order, each on the store the one before left.
  it("a repository made through A (hg init) shows in B's index: B's poll saw it", async (t) => {
    const made = await timed(
      b,
      () => hgInit(join(a.mount, 'repos/made-on-a')),
      onB((i) => i.repos.includes('made-on-a'), 'made-on-a'),
      (l) => (l.added as string[]).includes('made-on-a'),
      'made-on-a on B',
    );
    t.diagnostic(report('made through A', made));
    assert.ok(reasons(made).some((r) => r.startsWith('poll: ')), `B's reload came from its poll: ${JSON.stringify(reasons(made))}`);
    assert.ok(made.ms < POLL_MS + MARGIN_MS, report('made through A', made));
  });

  // hgweb's index leaves out at once a listed repository it cannot open, and the script answers a
  // listed repository whose .hg is gone with a 404 at once too (plain hgwebdir: a 500 until its list
  // changes); so the page tells how soon B's front end stops serving it, and the reload line how
  // soon B's list (by its poll) follows.
  it("a repository removed through A (rm -rf) leaves B's list: its page answers 404 on B, and B's index leaves it out", async (t) => {
    let answers: number[] = [];
    const removed = await timed(
      b,
      () => rmSync(join(a.mount, 'repos/made-on-a'), { recursive: true }),
      async () => (answers = await statusUntil(b.server.url, '/made-on-a/', 404, 'made-on-a removed', ASK_EVERY_MS)),
      (l) => (l.removed as string[]).includes('made-on-a'),
      'made-on-a removed',
    );
    const shown = 'its page there answered 404';
    const between = ` (answers before: ${answers.slice(0, -1).join(' ') || 'none'})`;
    t.diagnostic(report('removed through A', removed, shown, between));
    // B's own looks: its poll, or the second look at the repository its poll found a moment before.
    assert.ok(
      reasons(removed).some((r) => r.startsWith('poll: ') || r.startsWith('a second look at')),
      `B's reload came from its poll or its second look: ${JSON.stringify(reasons(removed))}`,
    );
    assert.ok(removed.ms < POLL_MS + MARGIN_MS, report('removed through A', removed, shown, between));
    await onB((i) => i.status === 200 && !i.repos.includes('made-on-a'), 'made-on-a left out')();
  });

  it("control: a repository made through B shows in B's index at once: inotify heard it", async (t) => {
    const made = await timed(
      b,
      () => hgInit(join(b.mount, 'repos/made-on-b')),
      onB((i) => i.repos.includes('made-on-b'), 'made-on-b'),
      (l) => (l.added as string[]).includes('made-on-b'),
      'made-on-b on B',
    );
    t.diagnostic(report('made through B', made));
    // A poll may fall in the same quiet period; what matters is that B's own watch woke the daemon.
    assert.ok(reasons(made).includes(join(b.mount, 'repos/made-on-b')), `B's inotify reported it: ${JSON.stringify(reasons(made))}`);
    assert.ok(made.ms < POLL_MS + MARGIN_MS, report('made through B', made));
  });

  it('both front ends end with the same list (A polls too), and no index request failed', async () => {
    for (const { name, server, site } of [a, b]) {
      const last = await indexUntil(server.url, (i) => i.repos.includes('made-on-b'), `made-on-b on ${name}`, site.seen);
      assert.deepEqual(last.repos, ['first', 'made-on-b'], `front end ${name}`);
      const { failed, log } = site.failures();
      assert.deepEqual(failed, [], `${failed.length} failed requests on ${name}; gunicorn log:\n${log}`);
    }
  });
});

/**
 * The other set-up: one daemon, on host A, publishes to a folder on the store
 * ([shared] folder); host B runs no daemon, and its front end's script reads
 * the published list through B's own mount. A repository made or removed
 * through B reaches B's front end by A's poll and A's publish. (Both mounts
 * are on one machine here, at two paths: the list names A's paths, which B can
 * also open; hosts of a real export mount it at one path.)
 */
describe('one daemon publishing to the shared store for two front ends (bindfs)', () => {
  const dir = makeTempDir('hgreload-fronts-shared-');
  const store = join(dir.path, 'store');
  // Its publisher is elected through a database, even alone; B's script needs none. B runs no daemon to
  // tell of its changes: A polls as often with the database as without.
  let server: Postgres | undefined;
  let a: Host;
  const bBase = join(dir.path, 'host-b');
  const bMount = join(dir.path, 'mount-b');
  const bScript = join(bBase, 'hgweb.wsgi');
  const bServer = new Gunicorn(bBase, bScript);
  const seen: IndexAnswer[] = [];
  const onB = (shows: (i: IndexAnswer) => boolean, what: string) => () => indexUntil(bServer.url, shows, what, seen, ASK_EVERY_MS);

  before(async () => {
    server = await Postgres.create();
    a = host(dir.path, 'a', `[shared]\nfolder = ${join(dir.path, 'mount-a')}/shared\n[cluster]\ndatabase = ${server.conninfo()}\nname = a\npoll_interval = ${POLL_MS}\n`);
    mkdirSync(join(store, 'repos'), { recursive: true });
    mkdirSync(bBase);
    mkdirSync(bMount);
    for (const mount of [a.mount, bMount]) mountStore(store, mount);
    await a.site.start();
    // B: the same settings as A's daemon, through B's mount; only the WSGI script, no daemon.
    writeFileSync(join(bBase, 'hgweb.config'), `[web]\nrefreshinterval = 86400\n[paths]\n/ = ${bMount}/repos/*\n`);
    writeFileSync(join(bBase, 'hgreload.ini'), `webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\n[shared]\nfolder = ${bMount}/shared\n`);
    const wsgi = runCli(['-c', join(bBase, 'hgreload.ini'), 'wsgi']);
    assert.equal(wsgi.status, 0, wsgi.stderr);
    assert.match(wsgi.stdout, new RegExp(`^PUBLISHED = "${bMount}/shared/served\\.list"$`, 'm'));
    writeFileSync(bScript, wsgi.stdout);
    await bServer.start();
    await indexUntil(bServer.url, (i) => i.repos.includes('first'), 'first on B', seen);
  });
  after(async () => {
    await Promise.all([a?.site.stop(), bServer.stop()]);
    for (const mount of [a?.mount, bMount]) if (mount !== undefined) unmountStore(mount);
    await server?.close();
    dir.remove();
  });

  it("a repository made through B shows in B's front end, published by A's daemon; removed, it answers 404 there", async (t) => {
    const made = await timed(
      { name: 'b' },
      () => hgInit(join(bMount, 'repos/made-on-b')),
      onB((i) => i.repos.includes('made-on-b'), 'made-on-b'),
      (l) => (l.added as string[]).includes('made-on-b'),
      'made-on-b published by A',
      a.site.daemon!,
      'a',
    );
    t.diagnostic(report('made through B, published by A', made));
    assert.ok((made.reload.reasons as string[]).some((r) => r.startsWith('poll: ')), `A's reload came from its poll: ${JSON.stringify(made.reload.reasons)}`);
    assert.ok(made.ms < POLL_MS + MARGIN_MS, report('made through B, published by A', made));

    const removed = await timed(
      { name: 'b' },
      () => rmSync(join(bMount, 'repos/made-on-b'), { recursive: true }),
      () => statusUntil(bServer.url, '/made-on-b/', 404, 'made-on-b removed', ASK_EVERY_MS),
      (l) => (l.removed as string[]).includes('made-on-b'),
      'made-on-b removed by A',
      a.site.daemon!,
      'a',
    );
    t.diagnostic(report('removed through B, published by A', removed, 'its page there answered 404'));
    assert.ok(removed.ms < POLL_MS + MARGIN_MS, report('removed through B, published by A', removed, 'its page there answered 404'));
  });
});
