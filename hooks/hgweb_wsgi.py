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

import array
import copy
import errno
import gc
import io
import json
import os
import sys
import threading
import time
import zlib

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
from mercurial import config, encoding, error, extensions, pathutil, ui as uimod  # noqa: E402

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


class PublishedHgwebdir(hgwebdir_mod.hgwebdir):
    """hgwebdir whose repository list comes from the file hgreload publishes.

    Every request stats that file once. When it changed, the new list is read
    and becomes hgwebdir's list at once: no walk, no process restart, and no
    full refresh either (re-reading every hgrc and the templates cost the
    request that did it about 100 ms). hgweb.config's settings are re-read
    when web.refreshinterval has passed, as hgweb does, and also as soon as
    hgweb.config or a file it %includes changed (a stat of each per request),
    so that an edit of [web] needs no restart even with a day's interval. A
    missing or damaged list keeps the last good one, said once in the error
    log, and the next good file is taken. Until a first good file exists,
    hgweb walks as usual. One lock makes threads that see a new file at once
    read it once.

    Mercurial's own refresh builds the list from the module functions findrepos
    and scmutil.walkrepos, which cannot be swapped for one instance only, and
    every hgwebdir in the interpreter shares the module (two sites under
    WSGIApplicationGroup %{GLOBAL}). So the settings part of that refresh is
    repeated here, with the published list in place of the walk.
    """

    def __init__(self, conf, published):
        self._published = published
        self._journal = _Journal(os.path.join(os.path.dirname(published), 'served.journal'))
        self._lock = threading.Lock()
        self._stamp = None
        # Whether a thread is reading a new snapshot (outside the lock).
        self._reading = False
        # What this process serves (a _Listing), replaced whole by each change; None: no list taken yet.
        self._listing = None
        # {path: stamp} of hgweb.config and its %includes when their settings were read; None: not read here yet.
        self._settings_stamps = None
        # The last problem said in the error log, until things are well again.
        self._said = None
        # The list is known before hgwebdir's first refresh, so that starting does not walk either.
        self._check_published()
        super().__init__(conf)

    def __call__(self, env, respond):
        self._check_published()
        with self._lock:
            if self._listing is not None and self._settings_changed():
                self._read_settings()
        if self._listing is None:
            return super().__call__(env, respond)
        return self._answer(env, respond)

    def _answer(self, env, respond):
        """hgwebdir's answer; but where a repository's page fails (an exception, or a 5xx) because
        the repository is being removed from under the request (rm -rf while Mercurial reads it),
        and nothing was sent yet, the answer for a gone repository. WSGI lets start_response be
        called again, with exc_info, until the first byte of the body is sent."""
        statuses = []
        # Per request, for _runwsgi: hgweb hands it a copy of the environment, with the same values.
        request = env[_KEY] = {}

        def start(status, headers, exc_info=None):
            statuses.append(status)
            return respond(status, headers, exc_info)

        answer = iter(super().__call__(env, start))
        try:
            first = next(answer)
        except StopIteration:
            return
        except Exception:
            if not _vanishing(request.get('route')):
                raise
            exc_info = sys.exc_info()
        else:
            if not (statuses and statuses[-1].startswith('5') and _vanishing(request.get('route'))):
                yield first
                yield from answer
                return
            getattr(answer, 'close', lambda: None)()
            try:
                raise RuntimeError('repository removed while its page was made')
            except RuntimeError:
                exc_info = sys.exc_info()
        request['gone'] = True
        yield from super().__call__(env, lambda status, headers, _=None: respond(status, headers, exc_info))

    def refresh(self):
        # hgwebdir calls this up to three times per request: only the interval is checked here, no file.
        with self._lock:
            if self._listing is None:
                return super().refresh()
            interval = self.ui.configint(b'web', b'refreshinterval') if self.ui else 0
            # refreshinterval <= 0 means every time, as in hgwebdir.
            if interval <= 0 or self.lastrefresh + interval <= time.time():
                self._read_settings()

    def _runwsgi(self, req, res):
        # hgwebdir's own _runwsgi (the same routing on Mercurial 6.3 to 7.2) runs on a per-request
        # view of this site, with the list that request needs as the view's self.repos:
        # - for a static file, none (hgwebdir answers it before it looks at the list);
        # - for a repository's page, that repository alone, found in the listing's index: hgwebdir
        #   makes a dict of its whole list on every request (10 ms at 100,000 repositories), which
        #   routes the same;
        # - for a repository removed from disk but still listed (until the daemon publishes again;
        #   hgwebdir would answer 500, unable to open it), or half-way through its removal, the
        #   whole list without it: the answer for a name that is not listed (a 404, or the index
        #   of what is listed below it);
        # - for anything else (an index, a 404), the whole list.
        listing = self._listing
        if listing is None:
            return super()._runwsgi(req, res)
        virtual = req.dispatchpath.strip(b'/')
        static = virtual.startswith(b'static/') or b'static' in req.qsparams
        route = None if static else _route(listing, virtual)
        request = req.rawenv.get(_KEY.encode('latin-1'), {})
        self.refresh()  # what hgwebdir would do first; the view must not refresh (that lists everything again)
        view = copy.copy(self)
        view.refresh = lambda: None
        view._listing = None  # its repos are its own
        if static:
            view.repos = []
        elif route is None:
            view.repos = listing.served()
        else:
            name, path = route
            request['route'] = path  # for _answer, should the page fail
            if request.get('gone') or _gone(path):
                view.repos = [(n, p) for n, p in listing.served() if n != name]
            else:
                view.repos = [(name, path)]
        return hgwebdir_mod.hgwebdir._runwsgi(view, req, res)

    @property
    def repos(self):
        """hgwebdir's list of (name, path): the published list with the journal's changes, made
        when something asks for it whole (see _Listing); before a list is published, hgwebdir's
        own walk; in a request's view (see _runwsgi), what that request needs."""
        listing = self._listing
        return listing.served() if listing is not None else self._own_repos

    @repos.setter
    def repos(self, repos):
        # By hgwebdir's own refresh, while nothing is published yet, and for a request's view.
        self._own_repos = repos

    def _check_published(self):
        """Takes what the daemon published since the last look: a new snapshot, then the journal's
        new complete lines (each applied in time that follows the change). One thread reads a new
        snapshot, outside the lock, while the others go on serving the list they have and never
        wait for it; it is swapped in under the lock. Nothing is recorded before the read it
        stands for succeeded: a read that failed (EIO, ESTALE, EMFILE, no memory, a file read
        short) is tried again on the next request."""
        with self._lock:
            stamp = _stamp(self._published)
            if stamp == self._stamp or self._reading:
                self._take_journal()
                return
            if stamp[0] == 'unreadable':
                self._say('cannot read %s (%s)' % (self._published, os.strerror(stamp[1])))
                return
            self._reading = True
        taken = problem = None
        replaced = []
        try:
            taken = _read_published(self._published)
        except (OSError, MemoryError, _ReadShort) as e:
            stamp = None  # read again with the next request
            problem = 'cannot read %s (%s); trying again with the next request' % (self._published, e)
        except Exception as e:  # a damaged file must never fail a request; read again once it changes
            problem = 'ignoring %s: %s' % (self._published, e)
        finally:
            with self._lock:
                self._reading = False
                if problem is not None:
                    self._say(problem)
                    self._stamp = stamp
                elif taken is not None:
                    self._said = None
                    self._stamp = stamp
                    # Let go of after the lock (see _let_go). None: the first list (hgweb's came
                    # from a walk, or is not made yet; _settings_stamps is still None, so the
                    # settings are read with the next request).
                    if self._listing is not None:
                        replaced.append(self._listing)
                    self._listing = _Listing(taken)
                    self._journal.restart()
                self._take_journal()
        _let_go(replaced)

    def _take_journal(self):
        """Applies the journal's new lines, each whole or not at all, each only where it follows the
        line before, applies to a list of the length this process holds, and removes names that
        are listed. A line that cannot be read (torn, damaged) is read again with the next
        request, and what came before it is kept; a line that does not apply means this process
        went wrong: it reads the snapshot again."""
        journal = self._journal
        listing = self._listing
        if listing is None:
            return
        try:
            lines = journal.new_lines()
        except OSError:
            return  # none yet, or being replaced: the next look takes it
        generation = listing.snapshot.generation
        change = None
        for line, end in lines:
            try:
                entry = json.loads(line)
                if 'generation' in entry:
                    # A journal of another snapshot: its snapshot is read first (the daemon writes it first).
                    journal.applies = entry['generation'] == generation
                    journal.taken(end, 0)
                    continue
                if not journal.applies:
                    journal.taken(end, journal.n)
                    continue
                n, size, splices = _journal_line(entry)
            except Exception as e:  # a damaged line, or one read torn: keep what was taken, read it again next time
                self._say('ignoring the rest of %s for now: %s' % (journal.path, e))
                break
            if change is None:
                change = _Change(listing)
            held = change.length
            problem = None
            if n != journal.n + 1 or size != held or not _fits(splices, held):
                problem = 'it follows line %d of a list of %d' % (n - 1, size)
            else:
                problem = change.apply(splices)
            if problem is not None:
                problem = ('line %d of %s does not apply here (%s; this process has taken %d lines, %d repositories)'
                           % (n, journal.path, problem, journal.n, held))
                if journal.fell_back != (generation, journal.n):
                    # Read the snapshot again (and the journal from its start) with the next request.
                    journal.fell_back = (generation, journal.n)
                    self._say(problem + '; reading the list again')
                    self._stamp = None
                else:
                    self._say(problem + '; the snapshot read again says the same: waiting for the next one')
                break
            journal.taken(end, n)
        else:
            if lines:
                self._said = None  # read to its end: whatever was said is over
        if change is not None and change.splices:
            self._listing = change.made()

    def _settings_changed(self):
        if self._settings_stamps is None:
            return True
        return any(_stamp(path) != stamp for path, stamp in self._settings_stamps.items())

    def _read_settings(self):
        """hgwebdir.refresh (the same on Mercurial 6.3 to 7.2) for a configuration file and no
        baseui, with the published list in place of findrepos and [collections]. Settings that
        cannot be read (an edit saved half-way, a typo) keep the last good ones, said in the error
        log, until a file changes again or web.refreshinterval passes; hgweb would fail every
        request instead."""
        # Stamped before reading: an edit made during the read shows as a change on the next request.
        stamps = {path: _stamp(path) for path in _config_files(self.conf)}
        try:
            u = uimod.ui.load()
            u.setconfig(b'ui', b'report_untrusted', b'off', b'hgwebdir')
            u.setconfig(b'ui', b'nontty', b'true', b'hgwebdir')
            u.setconfig(b'progress', b'disable', b'true', b'hgweb')
            if not os.path.exists(self.conf):
                raise error.Abort(b'config file %s not found!' % self.conf)
            # hgweb.config's [paths] are hgweb's, not paths that every repository's ui should see.
            u.readconfig(self.conf, remap={b'paths': b'hgweb-paths'}, trust=True)
            extensions.populateui(u)
            u.configint(b'web', b'refreshinterval')  # refresh() reads it on every call: a bad value must not get in
            gc_full_collect_rate = u.configint(b'experimental', b'web.full-garbage-collection-rate')
            stripecount = u.config(b'web', b'stripes')
            if stripecount:
                stripecount = int(stripecount)
        except Exception as e:
            if self.ui is None:
                raise  # no settings to keep: the site fails to start, as hgweb's would
            problem = e.format().decode('utf-8', 'backslashreplace').strip() if isinstance(e, error.Abort) else repr(e)
            sys.stderr.write('hgreload: cannot take the settings of %s (%s); keeping the last good settings\n'
                             % (os.fsdecode(self.conf), problem))
        else:
            self.ui = u
            self.gc_full_collect_rate = gc_full_collect_rate
            self.gc_full_collections_done = 0
            # A module global, as in hgwebdir (and hgweb sets it again for every repository request):
            # sites in one interpreter share it, so they need the same web.encoding.
            encoding.encoding = u.config(b'web', b'encoding')
            self.style = u.config(b'web', b'style')
            self.templatepath = u.config(b'web', b'templates', untrusted=False)
            self.stripecount = stripecount
            prefix = u.config(b'web', b'prefix')
            if prefix.startswith(b'/'):
                prefix = prefix[1:]
            if prefix.endswith(b'/'):
                prefix = prefix[:-1]
            self.prefix = prefix
        self.lastrefresh = time.time()
        self._settings_stamps = stamps

    def _say(self, problem):
        # Said once while it lasts: a read tried again on every request would fill the error log.
        if problem == self._said:
            return
        self._said = problem
        kept = 'keeping the last good list' if self._listing is not None else 'hgweb walks the disk itself'
        sys.stderr.write('hgreload: %s; %s\n' % (problem, kept))


# The key of the WSGI environment under which _answer and _runwsgi share a request's state: the
# listed path a repository's page was routed to ('route'), and that it is answered as gone ('gone').
_KEY = 'hgreload.request'


def _vanishing(path):
    """After a repository's page failed: whether the repository is gone or going (see _gone), or
    has lost its .hg/requires, which no repository that served a moment ago lacks but while rm -rf
    takes its .hg away."""
    if path is None:
        return False
    hg = os.path.join(path, b'.hg')
    return _gone(path) or (os.path.isdir(hg) and not os.path.exists(os.path.join(hg, b'requires')))


def _gone(path):
    """Whether a listed repository is gone from disk, or half-way through `rm -rf`: in a state that
    only a removal (or a creation) in progress leaves, and that Mercurial cannot serve. rm -rf
    takes .hg's entries in the order the folder lists them, so .hg/requires may go before the
    dummy changelog beside it (Mercurial then answers 500: unknown version 65535), or the store's
    requires before the share-safe .hg/requires that names it (an exception, so a 500). Any other
    .hg that cannot be read gets Mercurial's own answer."""
    hg = os.path.join(path, b'.hg')
    try:
        with open(os.path.join(hg, b'requires'), 'rb') as f:
            requires = f.read().splitlines()
    except OSError as e:
        if e.errno not in (errno.ENOENT, errno.ENOTDIR):
            return False
        try:
            os.stat(hg)
        except OSError as e:
            return e.errno in (errno.ENOENT, errno.ENOTDIR)
        try:
            with open(os.path.join(hg, b'00changelog.i'), 'rb') as f:
                return f.read(4) == b'\0\0\xff\xff'  # the dummy that `hg init` writes with requires
        except OSError:
            return False
    return b'share-safe' in requires and not os.path.exists(os.path.join(hg, b'store', b'requires'))


class _Journal:
    """The complete lines a journal file gained since the last look, each taken (the offset moved
    past it) only once it was applied. Opened, then stat-ed and read by that descriptor (see
    _stamp); a file replaced (a new inode) is read from its start."""

    def __init__(self, path):
        self.path = path
        # (generation, line) where a line that did not apply made the snapshot be read again.
        self.fell_back = None
        self.restart()

    def restart(self):
        self._ino = None
        self._offset = 0
        # Whether its lines apply to the snapshot taken (its first line says); None: not read yet.
        self.applies = None
        # The number of the last change line applied.
        self.n = 0

    def new_lines(self):
        """[(line, the offset after it)] of the complete lines after the last one taken."""
        fd = os.open(self.path, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            if st.st_ino != self._ino:
                self._ino, self._offset, self.applies, self.n = st.st_ino, 0, None, 0
            if st.st_size <= self._offset:
                return []
            data = os.pread(fd, st.st_size - self._offset, self._offset)
        finally:
            os.close(fd)
        lines = []
        start = 0
        while True:
            end = data.find(b'\n', start)
            if end < 0:
                break  # a line still being written waits for the next look
            lines.append((data[start:end], self._offset + end + 1))
            start = end + 1
        return lines

    def taken(self, offset, n):
        self._offset = offset
        self.n = n


def _journal_line(entry):
    """(n, size, splices) of a change line, with names and paths as bytes, or ValueError."""
    n, size, splices = entry['n'], entry['size'], entry['splices']
    if not (isinstance(n, int) and isinstance(size, int) and isinstance(splices, list)):
        raise ValueError('not a change line of this hgreload (regenerate this script with `hgreload wsgi` after an upgrade)')
    read = []
    for splice in splices:
        at, removed, inserted = splice
        if not (isinstance(at, int) and isinstance(removed, list) and isinstance(inserted, list)):
            raise ValueError('a splice is not [at, [names removed], [[name, path], ...]]')
        if not all(isinstance(name, str) for name in removed):
            raise ValueError('a name removed is not a string')
        pairs = []
        for pair in inserted:
            name, path = pair
            if not (isinstance(name, str) and isinstance(path, str)):
                raise ValueError('an inserted entry is not [name, path]')
            pairs.append((os.fsencode(name), os.fsencode(path)))
        read.append((at, [os.fsencode(name) for name in removed], pairs))
    return n, size, read


def _fits(splices, length):
    """Whether each splice, in turn, lies within the list the ones before it leave."""
    for at, removed, inserted in splices:
        if at < 0 or at + len(removed) > length:
            return False
        length += len(inserted) - len(removed)
    return True


def _stamp(path):
    # Opened, then stat-ed: over NFS an open revalidates the cached attributes (close-to-open
    # consistency), where a bare stat may answer from a cache for seconds after another host
    # (the daemon, publishing from where the store is local) replaced the file.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        return ('unreadable', e.errno)
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _config_files(path):
    """path and every file it %includes, found by Mercurial's own parser. An include that
    does not exist is listed too: hgweb skips it, and it may be created later."""
    files = []

    def read(path):
        # Mercurial follows an include loop until Python's recursion limit; here it ends, and
        # reading the settings reports it.
        if path in files:
            return
        files.append(path)
        try:
            with open(path, 'rb') as f:
                data = f.read()
        except OSError:
            return

        def include(rel, remap, sections):
            # As config.read resolves it: relative to the including file's folder.
            read(os.path.normpath(os.path.join(os.path.dirname(path), rel)))

        try:
            config.config().parse(path, data, include=include)
        except error.ConfigError:
            pass  # reading the settings reports it; what follows the error is not read until it is fixed

    read(path)
    return files


class _ReadShort(Exception):
    """A file read shorter than its size: written or cut meanwhile (NFS), to be read again."""


def _read_published(path):
    """The _Snapshot of the file at path. Its read and its checksum let Python's GIL go (for a
    file of over a few kilobytes), so that the other request threads go on meanwhile."""
    with open(path, 'rb') as f:
        size = os.fstat(f.fileno()).st_size
        data = f.read()
    if len(data) != size:
        raise _ReadShort('read %d of its %d bytes' % (len(data), size))
    return _Snapshot(data)


class _Snapshot:
    """A snapshot as the daemon published it (see PublishedHeader in src/reload/publish.ts): the
    file's bytes, and the daemon's index over them, where each entry starts and a hash table of
    the names. Finding a name reads a few numbers and bytes: taking a snapshot makes no object
    per repository, where making a (name, path) pair of each held Python's GIL, and so every
    request thread of the process, for 70-150 ms at 100,000."""

    def __init__(self, data):
        """Raises ValueError for a file that is not a whole snapshot of this hgreload."""
        newline = data.find(b'\n')
        try:
            doc = json.loads(data[:newline].decode('utf-8')) if newline >= 0 else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or doc.get('format') != 4:
            raise ValueError('not an hgreload list (format 4: regenerate this script with `hgreload wsgi` after an upgrade)')
        repos, slots = doc.get('repos'), doc.get('slots')
        if not (type(repos) is int and type(slots) is int and 0 <= repos < slots and slots & (slots - 1) == 0):
            raise ValueError('its header says %r repositories in %r slots' % (repos, slots))
        index = len(data) - 4 - 4 * (repos + 1 + slots)
        if index <= newline:
            raise ValueError('its %d bytes cannot hold the index its header says (cut short?)' % len(data))
        view = memoryview(data)
        if zlib.crc32(view[:-4]) != int.from_bytes(data[-4:], 'little'):
            raise ValueError('its checksum does not match its bytes (cut short, or damaged)')
        self.generation = doc.get('generation')
        self.repos = repos
        self._data = data
        self._offsets = _uint32s(view[index:index + 4 * (repos + 1)])
        self._table = _uint32s(view[index + 4 * (repos + 1):-4])
        self._pairs = None
        if self._offsets[0] != newline + 1 or not index - 4 < self._offsets[repos] <= index:
            raise ValueError('its index does not match its entries')

    def find(self, name):
        """(times name is listed, the number of its last entry): hgwebdir's dict of the list keeps
        the last. Names listed more than once (overlapping roots) are all in the table."""
        data, offsets, table = self._data, self._offsets, self._table
        mask = len(table) - 1
        at = zlib.crc32(name) & mask
        end = len(name)
        listed, last = 0, -1
        for _ in range(len(table)):  # the table has empty slots; the bound is for a damaged one
            entry = table[at]
            if not entry:
                break
            start = offsets[entry - 1]
            if data[start + end] == 0 and data[start:start + end] == name:
                listed += 1
                last = max(last, entry - 1)
            at = (at + 1) & mask
        return listed, last

    def path(self, i):
        start, end = self._offsets[i], self._offsets[i + 1] - 1
        return self._data[self._data.index(b'\0', start, end) + 1:end]

    def pairs(self):
        """[(name, path)] of every entry, made once, for what needs the whole list (an index page),
        in steps of _STEP entries: between steps the request threads of the process go on."""
        if self._pairs is not None:
            return self._pairs
        data, offsets = self._data, self._offsets
        # Hundreds of thousands of new objects would set off Python's collector over and over, each
        # time through every object of the process (Mercurial's too). None of them can be part of a cycle.
        collecting = gc.isenabled()
        gc.disable()
        try:
            pairs = []
            for i in range(0, self.repos, _STEP):
                j = min(i + _STEP, self.repos)
                fields = data[offsets[i]:offsets[j] - 1].split(b'\0')
                if len(fields) != 2 * (j - i):
                    raise ValueError('entries %d to %d hold %d fields' % (i, j, len(fields)))
                pairs += zip(fields[0::2], fields[1::2])
                # Untracks the new tuples (they hold bytes only) now, a step at a time: else the
                # next collection does it in one go, and hgwebdir collects after every request.
                gc.collect(0)
                # Hands the GIL to a request thread that waits for it (one back from a system
                # call): left to Python, it would wait up to 5 ms, at each of its system calls.
                time.sleep(0)
        finally:
            if collecting:
                gc.enable()
        self._pairs = pairs
        return pairs


# Entries made into (name, path) pairs per step. Each step holds the GIL for about 0.3 ms here;
# larger steps made the other threads wait longer, smaller ones made the whole slower.
_STEP = 256


def _let_go(replaced):
    """Drops the listing in `replaced` (a list that holds it alone). The whole list an index page
    made of its snapshot (a tuple and two bytes objects per repository) takes 6 ms to free at
    100,000 and 40 ms at 1,000,000, holding the GIL all along, so that every other request
    thread of the process waits. Where nothing else holds that list (no request is still making
    a page of it), it is emptied a step at a time instead: between two steps Python hands the
    GIL to a thread that asked for it (sys.getswitchinterval(), 5 ms); where something does, its
    last holder frees it, as before. (Not handed on at each step, as _Snapshot.pairs does: each
    hand-over waits for a request's full garbage collection, and at 100,000 that made the read
    of the request that frees it ten times longer.)"""
    if not replaced:
        return
    listing = replaced.pop()
    snapshot = listing.snapshot
    # Held here alone: by this frame's name and getrefcount's argument (the snapshot: and the listing).
    if sys.getrefcount(listing) != 2 or sys.getrefcount(snapshot) != 3:
        return
    made = [listing._served, listing._origin[0], snapshot._pairs]
    del listing, snapshot
    while made:
        pairs = made.pop()
        made = [m for m in made if m is not pairs]
        # Held by this name alone (and getrefcount's argument), now that `made` holds it no more.
        if pairs is None or sys.getrefcount(pairs) != 2:
            continue
        while pairs:
            del pairs[-_FREE_STEP:]


# Entries freed per step by _let_go: about 0.25 ms each here.
_FREE_STEP = 4096


def _uint32s(little_endian):
    """The numbers of a memoryview of little-endian uint32s: on a little-endian host the bytes
    themselves (a copy would hold the GIL for milliseconds at 100,000), else a swapped copy."""
    if sys.byteorder == 'little':
        return little_endian.cast('I')
    numbers = array.array('I')
    numbers.frombytes(little_endian)
    numbers.byteswap()
    return numbers


class _Listing:
    """What a process serves: a snapshot, and the journal's changes over it. Never changed once
    made (a change makes a new one), so that a request thread that took it reads one whole state
    without the lock.

    `touched` holds, for each name the journal added or removed since the snapshot, (times
    listed, the path hgwebdir's dict of the list gives it or None); any other name is as the
    snapshot has it. `origin` is what the whole list is made from when a page needs it: a
    list made before (None: the snapshot's), and the journal's splices since, ((at, how many
    removed, [(name, path)]), ...). Each made list is kept only by the listing it is of and
    the next."""

    __slots__ = ('snapshot', 'length', '_touched', '_origin', '_served')

    def __init__(self, snapshot, length=None, touched=None, origin=(None, ())):
        self.snapshot = snapshot
        self.length = snapshot.repos if length is None else length
        self._touched = touched or {}
        self._origin = origin
        self._served = None

    def listed(self, name):
        """(times name is listed, its path as hgwebdir routes it or None)."""
        known = self._touched.get(name)
        if known is not None:
            return known
        listed, last = self.snapshot.find(name)
        return listed, (self.snapshot.path(last) if listed else None)

    def served(self):
        """The whole list, made on the first call (two threads may both make it: the same list)."""
        served = self._served
        if served is None:
            made, splices = self._origin
            served = made if made is not None else self.snapshot.pairs()
            if splices:
                served = list(served)
                for at, removed, inserted in splices:
                    served[at:at + removed] = inserted
            self._served = served
        return served


class _Change:
    """The journal's lines applied to a _Listing, line by line, each whole or not at all; made()
    is the new _Listing."""

    def __init__(self, listing):
        self._base = listing
        self.length = listing.length
        self._touched = dict(listing._touched)
        self.splices = []
        # Names listed more than once after a change: which one is last needs the whole list.
        self._ambiguous = set()

    def _listed(self, name, line):
        known = line.get(name)
        if known is None:
            known = self._touched.get(name)
        if known is None:
            known = self._base.listed(name)
        return known

    def apply(self, splices):
        """Applies one line's splices; or, where one removes a name that is not listed, none of
        them, and says so."""
        line = {}
        ambiguous = set()
        length = self.length
        for at, removed, inserted in splices:
            for name in removed:
                listed, _path = self._listed(name, line)
                if listed == 0:
                    return 'it removes %r, which is not listed' % os.fsdecode(name)
                line[name] = (listed - 1, None)
                if listed > 1:
                    ambiguous.add(name)
            for name, path in inserted:
                listed, _path = self._listed(name, line)
                line[name] = (listed + 1, path)
                if listed > 0:
                    ambiguous.add(name)
            length += len(inserted) - len(removed)
        self._touched.update(line)
        self._ambiguous |= ambiguous
        self.splices += [(at, len(removed), inserted) for at, removed, inserted in splices]
        self.length = length
        return None

    def made(self):
        touched = self._touched
        base = self._base
        splices = tuple(self.splices)
        # From the last list made, when there is one: at 100,000, each splice moves the list's
        # tail, so replaying thousands of them from the snapshot on would take seconds.
        served = base._served
        origin = (served, splices) if served is not None else (base._origin[0], base._origin[1] + splices)
        made = _Listing(base.snapshot, self.length, touched, origin)
        ambiguous = {name for name in self._ambiguous if touched[name][0] > 0}
        if ambiguous:
            # Rare (overlapping roots list a name twice): which of its entries is last, found in the whole list.
            last = {}
            for name, path in made.served():
                if name in ambiguous:
                    last[name] = path
            for name in ambiguous:
                touched[name] = (touched[name][0], last[name])
        return made


def _route(listing, virtual):
    """The listed (name, path) that hgwebdir's _runwsgi takes a request for the path `virtual` to,
    or None for an index (hgwebdir's own routing on the whole list serves those, and 404s)."""
    if (not virtual or virtual == b'index' or virtual.endswith(b'/index')) and listing.listed(virtual)[0] == 0:
        return None
    for name in (virtual, *pathutil.finddirs(virtual)):
        path = listing.listed(name)[1]
        if path:
            return name, path
    return None


if PUBLISHED is None:
    application = hgweb(os.fsencode(HGWEB_CONFIG))
else:
    application = PublishedHgwebdir(os.fsencode(HGWEB_CONFIG), PUBLISHED)
