import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { HgreloadError } from '../../src/errors.js';
import { checkDaemonSettings, loadSettings, parseSettings } from '../../src/config/settings.js';

const fails = (text: string, pattern: RegExp) =>
  assert.throws(
    () => parseSettings(text, '/etc/hgreload/hgreload.ini'),
    (err: unknown) => err instanceof HgreloadError && err.code === 'settings' && err.exitCode === 2 && pattern.test(err.format()),
  );

describe('settings file', () => {
  it('reads the documented example, inline comments and all', () => {
    const s = parseSettings(
      [
        'webconf = /var/www/hg/hgweb.config',
        '[reload]',
        'method = signal            ; touch | signal | command | publish',
        'pidfile = /run/apache2/apache2.pid     ; signal: whose process gets the signal',
        'command = /usr/sbin/apachectl -k graceful   ; run without a shell',
        'debounce = 250',
        '[rescan]',
        'schedule = */5 * * * *',
        '[hooks]',
        'auto = true',
      ].join('\n'),
      '/etc/hgreload/hgreload.ini',
    );
    assert.equal(s.webconf, '/var/www/hg/hgweb.config');
    assert.equal(s.reload.method, 'signal');
    assert.equal(s.reload.pidfile, '/run/apache2/apache2.pid');
    assert.equal(s.reload.command, '/usr/sbin/apachectl -k graceful');
    assert.equal(s.reload.debounce, 250);
    assert.equal(s.rescan.schedule, '*/5 * * * *');
    assert.equal(s.hooks.auto, true);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.reload));
  });

  it('fills every default', () => {
    const s = parseSettings('', undefined);
    assert.deepEqual(
      { ...s, reload: { ...s.reload }, rescan: { ...s.rescan }, hooks: { ...s.hooks }, watch: { ...s.watch }, metrics: { ...s.metrics }, shared: { ...s.shared }, cluster: { ...s.cluster } },
      {
        file: undefined,
        webconf: undefined,
        reload: { method: 'touch', wsgi: undefined, pidfile: undefined, signal: 'SIGUSR1', command: undefined, state: '/var/lib/hgreload', debounce: 500 },
        rescan: { schedule: '*/10 * * * *', full: '17 3 * * *' },
        hooks: { auto: false },
        watch: { poll: 'auto', pollInterval: 5000 },
        shared: { folder: undefined },
        metrics: { file: undefined },
        cluster: { database: undefined, name: hostname(), lease: 10000, pollInterval: 60000 },
      },
    );
  });

  it('[cluster] database: a libpq connection string or a service name, kept as written, never with a password', () => {
    const database = (value: string) => parseSettings(`[cluster]\ndatabase = ${value}\n`, '/etc/hgreload/hgreload.ini').cluster.database;
    assert.equal(database('host=/run/postgresql dbname=hgreload user=hgreload'), 'host=/run/postgresql dbname=hgreload user=hgreload');
    assert.equal(database('postgresql://hgreload@db.example/hgreload?sslmode=verify-full'), 'postgresql://hgreload@db.example/hgreload?sslmode=verify-full');
    assert.equal(database('service=hgreload'), 'service=hgreload');
    assert.ok(Object.isFrozen(parseSettings('[cluster]\ndatabase = service=hgreload\n', undefined).cluster));
    for (const value of ['host=db dbname=hgreload password=secret', 'host=db Password = secret', 'postgresql://hgreload:secret@db/hgreload', 'postgres://db/hgreload?sslmode=require&password=secret']) {
      fails(`[cluster]\ndatabase = ${value}\n`, /:2: "database" holds a password, which must not sit in the settings file\n\(keep it in the daemon user's ~\/\.pgpass \(or the file \$PGPASSFILE names\), or in a pg_service\.conf/);
    }
    fails('[cluster]\ndatabase =\n', /:2: "database" needs a value/);
    fails('[cluster]\ndatabse = service=hgreload\n', /did you mean "database"\?/);
  });

  it('[cluster] name, lease and poll_interval: a name as written, milliseconds checked', () => {
    const cluster = parseSettings('[cluster]\ndatabase = service=hgreload\nname = front-1\nlease = 3000\npoll_interval = 120000\n', undefined).cluster;
    assert.deepEqual({ ...cluster }, { database: 'service=hgreload', name: 'front-1', lease: 3000, pollInterval: 120000 });
    fails('[cluster]\nlease = 999\n', /:2: "lease" must be a whole number of milliseconds from 1000 to 600000, not "999"/);
    fails('[cluster]\npoll_interval = 1m\n', /:2: "poll_interval" must be a whole number of milliseconds from 100 to 3600000, not "1m"/);
  });

  it('[shared]: a folder resolved like the other paths, only with a database to elect its publisher; its old lease is refused, saying why', () => {
    const shared = parseSettings('[shared]\nfolder = store/hgreload\n[cluster]\ndatabase = service=hgreload\n', '/etc/hgreload/hgreload.ini').shared;
    assert.deepEqual({ ...shared }, { folder: '/etc/hgreload/store/hgreload' });
    // The WSGI script of a front end without a daemon reads the folder with no database; the daemon refuses to.
    const alone = parseSettings('[shared]\nfolder = /srv/store/hgreload\n', '/etc/hgreload/hgreload.ini');
    assert.throws(
      () => checkDaemonSettings(alone),
      (err: unknown) =>
        err instanceof HgreloadError &&
        err.exitCode === 2 &&
        /^bad settings in \/etc\/hgreload\/hgreload\.ini: \[shared\] folder needs \[cluster\] database: the daemons that share the folder elect its one publisher through it\n\(set \[cluster\] database/.test(err.format()),
    );
    fails('[shared]\nfolder = /srv/store/hgreload\nlease = 5000\n[cluster]\ndatabase = service=hgreload\n', /:3: "lease" in \[shared\] is gone: a lock file on the shared store is not a lock/);
  });

  it('[watch]: a poll mode and an interval in milliseconds, checked', () => {
    assert.deepEqual({ ...parseSettings('[watch]\npoll = always\npoll_interval = 2000\n', '/x/hgreload.ini').watch }, { poll: 'always', pollInterval: 2000 });
    fails('[watch]\npoll = sometimes\n', /:2: unknown poll mode "sometimes"\n\(use one of auto, always, never\)/);
    fails('[watch]\npoll_interval = 5s\n', /:2: "poll_interval" must be a whole number of milliseconds from 100 to 3600000, not "5s"/);
  });

  it('[metrics] file: a path like the others, resolved against the settings file', () => {
    assert.equal(parseSettings('[metrics]\nfile = /var/lib/prometheus/node-exporter/hgreload.prom\n', '/x/hgreload.ini').metrics.file, '/var/lib/prometheus/node-exporter/hgreload.prom');
    assert.equal(parseSettings('[metrics]\nfile = metrics/hgreload.prom\n', '/srv/hg/hgreload.ini').metrics.file, '/srv/hg/metrics/hgreload.prom');
    fails('[metrics]\nfile =\n', /:2: "file" needs a value/);
    fails('[metrics]\npath = /tmp/hgreload.prom\n', /:2: unknown setting "path" in \[metrics\]/);
    fails('[metric]\nfile = /tmp/hgreload.prom\n', /unknown section \[metric\].*\n\(did you mean \[metrics\]\?\)/);
  });

  it('resolves relative paths against the settings file', () => {
    assert.equal(parseSettings('webconf = hgweb.config', '/srv/hg/hgreload.ini').webconf, '/srv/hg/hgweb.config');
  });

  it('names an unknown key with its line and the nearest known one', () => {
    fails('[reload]\nmethod = touch\ndebunce = 500\n', /hgreload\.ini:3: unknown setting "debunce" in \[reload\]\n\(did you mean "debounce"\?\)/);
  });
  it('names an unknown section', () => fails('[relaod]\nmethod = touch\n', /unknown section \[relaod\].*\n\(did you mean \[reload\]\?\)/));
  it('refuses an unknown method', () => fails('[reload]\nmethod = restart\n', /:2: unknown reload method "restart"\n\(use one of touch, signal, command, publish\)/));
  it('refuses a debounce that is not a number', () => fails('[reload]\ndebounce = soon\n', /debounce/));
  it('refuses an auto that is not a boolean', () => fails('[hooks]\nauto = maybe\n', /"auto" must be true or false/));
  it('refuses an empty value', () => fails('webconf =\n', /"webconf" needs a value/));

  it('a missing default file means no settings, a missing named file is an error', () => {
    const missing = () => {
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    };
    assert.equal(loadSettings({ explicitFile: undefined, cwd: '/', readFile: missing }).file, undefined);
    assert.throws(
      () => loadSettings({ explicitFile: 'x.ini', cwd: '/etc', readFile: missing }),
      (err: unknown) => err instanceof HgreloadError && err.exitCode === 2 && err.message.includes('/etc/x.ini'),
    );
  });
});
