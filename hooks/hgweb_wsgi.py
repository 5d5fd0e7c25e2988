# hgweb WSGI script from hgreload: serves Mercurial's hgwebdir for one hgweb.config.
#
# `hgreload wsgi` prints this file with the settings block filled in; point
# WSGIScriptAlias (mod_wsgi) or gunicorn at the result. Plain Python 3, no
# dependency beyond Mercurial.

# --- settings (filled in by `hgreload wsgi`) ---
HGWEB_CONFIG = '/etc/mercurial/hgweb.config'
# The file the hgreload daemon publishes (method "publish"), or None to let
# hgweb list repositories itself (methods "touch", "signal" and "command").
PUBLISHED = None
# --- end of settings ---

import io
import os
import sys
import threading

# mod_wsgi before 6.0.1 (Debian 12 ships 4.9.4) rejects the memoryview that
# Mercurial writes to stderr (mod_wsgi issue 863), so any Mercurial warning
# fails the whole request with a 500: a vanished repository in the index, an
# hgrc with a typo. Mercurial takes sys.stderr.buffer when it is imported, so a
# plain stream over file descriptor 2 (the server's error log) must be in
# place before that. Unbuffered, so that each line reaches the log when written.
sys.stderr = io.TextIOWrapper(
    io.FileIO(2, 'w', closefd=False),
    encoding='utf-8',
    errors='backslashreplace',
    write_through=True,
)

# Unlike Mercurial's example script, no demandimport: its lazy modules are
# resolved by whichever request thread touches them first, and under
# concurrent first requests in a threaded daemon process that failed requests
# here (AttributeError: module 'mercurial.registrar' has no attribute
# 'templatekeyword'). A long-lived process pays eager imports once.
try:
    import mercurial.initialization as initialization  # noqa: E402
except ModuleNotFoundError as e:  # before Mercurial 7.2, importing a module registered what it defines
    if e.name != 'mercurial.initialization':
        raise
else:
    # Since 7.2 revset predicates, template keywords and web commands exist only
    # once this has run. hgweb() runs it; hgwebdir_mod below is, on 7.2, the
    # package's name for hgwebdir_mod_inner, which does not. Without it every
    # archive download failed (unknown identifier: wdir, then a 500).
    initialization.init()
from mercurial.hgweb import hgweb, hgwebdir_mod  # noqa: E402


class _NoWalk:
    """scmutil as hgwebdir's refresh sees it while a published list is used:
    the same module, except that walking for repositories finds none (the
    published list already holds those of [collections])."""

    def __init__(self, real):
        self._real = real

    def walkrepos(self, *args, **kwargs):
        return iter(())

    def __getattr__(self, name):
        return getattr(self._real, name)


class PublishedHgwebdir(hgwebdir_mod.hgwebdir):
    """hgwebdir whose repository list comes from the file hgreload publishes.

    Every request stats that file once. When it changed, the new list is read
    and becomes hgwebdir's list at once: no walk, no process restart, and no
    full refresh either (re-reading every hgrc and the templates cost the
    request that did it about 100 ms). hgweb's own refreshes, on its
    web.refreshinterval, still re-read hgweb.config's settings, with the
    published list in place of the walk. A missing or damaged file keeps the
    last good list, said once in the error log, and the next good file is
    taken. Until a first good file exists, hgweb walks as usual. One lock makes
    threads that see a new file at once read it once.
    """

    def __init__(self, conf, published):
        self._published = published
        self._lock = threading.Lock()
        self._stamp = None
        self._repos = None
        super().__init__(conf)

    def refresh(self):
        with self._lock:
            self._check_published()
            if self._repos is None:
                return super().refresh()
            repos = self._repos
            real_findrepos, real_scmutil = hgwebdir_mod.findrepos, hgwebdir_mod.scmutil
            hgwebdir_mod.findrepos = lambda paths: list(repos)
            hgwebdir_mod.scmutil = _NoWalk(real_scmutil)
            try:
                return super().refresh()
            finally:
                hgwebdir_mod.findrepos, hgwebdir_mod.scmutil = real_findrepos, real_scmutil

    def _check_published(self):
        try:
            st = os.stat(self._published)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError as e:
            stamp = ('unreadable', e.errno)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        if stamp[0] == 'unreadable':
            return self._say('cannot read %s (%s)' % (self._published, os.strerror(stamp[1])))
        try:
            repos = _read_published(self._published)
        except Exception as e:  # a damaged file must never fail a request
            return self._say('ignoring %s: %s' % (self._published, e))
        first = self._repos is None
        self._repos = repos
        if first:
            # hgweb's own list came from a walk: one full refresh puts it on the published footing.
            # (hgwebdir refreshes when lastrefresh + interval is past; -inf works for any interval.)
            self.lastrefresh = float('-inf')
        else:
            # Routing and the index read self.repos on every request; replacing it is the whole refresh.
            self.repos = list(repos)

    def _say(self, problem):
        kept = 'keeping the last good list' if self._repos is not None else 'hgweb walks the disk itself'
        sys.stderr.write('hgreload: %s; %s\n' % (problem, kept))


def _read_published(path):
    import json

    with open(path, 'rb') as f:
        doc = json.loads(f.read().decode('utf-8'))
    if not isinstance(doc, dict) or doc.get('format') != 1 or not isinstance(doc.get('repos'), list):
        raise ValueError('not an hgreload list (format 1)')
    repos = []
    for r in doc['repos']:
        if not isinstance(r, dict) or not isinstance(r.get('name'), str) or not isinstance(r.get('path'), str):
            raise ValueError('an entry is not {"name", "path"}')
        # Names that are not UTF-8 travel as surrogateescape escapes; fsencode restores their bytes.
        repos.append((os.fsencode(r['name']), os.fsencode(r['path'])))
    return repos


if PUBLISHED is None:
    application = hgweb(os.fsencode(HGWEB_CONFIG))
else:
    application = PublishedHgwebdir(os.fsencode(HGWEB_CONFIG), PUBLISHED)
