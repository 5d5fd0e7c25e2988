"""Drives WSGI scripts in-process for the tests, one JSON command per stdin line.

Usage: python3 wsgi_driver.py SCRIPT [SCRIPT...]
Each script is loaded as mod_wsgi loads one: in a module namespace of its own,
all of them in this one interpreter (one process, as with WSGIApplicationGroup
%{GLOBAL}), so that they share the `mercurial` modules. The Mercurial imported
is whichever PYTHONPATH (and HGMODULEPOLICY) select.

Commands, each answered with one JSON line:
  {"requests": [{"app": I, "path": P}, ...], "repeat": N, "watch": BOOL}
      each request in a thread of its own, all threads released at once, each
      making its request N times (default 1) -> {"results": [[RESULT, ...], ...]}
      per thread, RESULT = {"status", "headers": {name: value}, "body": base64},
      plus the counts below; with "watch", also "swapped": the globals of
      hgwebdir's module that its refresh uses and that were seen replaced
      while the requests ran (a site that swaps them shows them to every other);
  {"about": true} -> {"version": Mercurial's version, "module": where it was imported from};
  {"attributes": I} -> {"attributes": [...]}, the names of app I's instance attributes, and
      of its class's properties;
  {"fault": {"path": P, "call": "open" | "os.open", "times": N, "errno": E}} -> {"fault": true}:
      the next N calls of open() (Python's, for a file object) or os.open() on path P raise
      OSError(E); with "renames": [[FROM, TO], ...] instead of "errno", the first of them does those
      renames first and then goes on (files replaced between two reads of one request); with
      "hold": K instead, the call waits until K more requests (of any thread) have been answered,
      and goes on; one that waited 10 s in vain is named in the next answer's "stalled"; with
      "request": P instead, the call first makes a request of P to app 0, in the calling thread,
      and goes on (what another request does at that point, in an order no thread timing decides).
Counts, for all scripts since they were loaded: "walks", Mercurial's repository
walks; "refreshes", hgwebdir's full refreshes (a new ui read); "reads", the
reads of the published list. The scripts' own stderr goes to ours, followed by
"#answered N" once command N is done.
"""
import base64
import json
import os
import runpy
import sys
import threading

import wsgi_request  # beside this file: the request the bench times too

os.environ['HGRCPATH'] = ''
counts = {'walks': 0, 'refreshes': 0, 'reads': 0}
counts_lock = threading.Lock()


def count(name):
    with counts_lock:
        counts[name] += 1


from mercurial import scmutil, ui as uimod, util  # noqa: E402

real_walk = scmutil.walkrepos


def counting_walk(*args, **kwargs):
    count('walks')
    return real_walk(*args, **kwargs)


scmutil.walkrepos = counting_walk
real_load = uimod.ui.load.__func__


def counting_load(cls):
    count('refreshes')
    return real_load(cls)


uimod.ui.load = classmethod(counting_load)


faults = []
faults_lock = threading.Lock()
# Requests answered so far, for faults that hold a call until others are answered.
answered = [0]
answered_cond = threading.Condition()
stalled = []


def faulty(call, real):
    def wrapper(path, *args, **kwargs):
        with faults_lock:
            fault = next((f for f in faults if f['call'] == call and f['times'] > 0 and os.fsencode(f['path']) == os.fsencode(path)), None)
            if fault is not None:
                fault['times'] -= 1
        if fault is not None:
            if 'hold' in fault:
                with answered_cond:
                    target = answered[0] + fault['hold']
                    if not answered_cond.wait_for(lambda: answered[0] >= target, timeout=10):
                        stalled.append('%s %s' % (call, path))
            elif 'request' in fault:
                request(apps[0], fault['request'])
            elif 'renames' in fault:
                for old, new in fault['renames']:
                    os.rename(old, new)
            else:
                raise OSError(fault['errno'], os.strerror(fault['errno']), path)
        return real(path, *args, **kwargs)

    return wrapper


import builtins  # noqa: E402

builtins.open = faulty('open', builtins.open)
os.open = faulty('os.open', os.open)


def load(script):
    namespace = runpy.run_path(script)
    # With a published list, count how often it is read: the function the script's class calls, replaced in the
    # script's live globals (run_path returns a copy of them).
    real_read = namespace.get('_read_published')
    if real_read is not None:

        def counting_read(path):
            count('reads')
            return real_read(path)

        real_read.__globals__['_read_published'] = counting_read
    return namespace['application']


apps = [load(script) for script in sys.argv[1:]]


def request(app, path):
    answer, body = wsgi_request.get(app, path)
    answer['body'] = base64.b64encode(body).decode('ascii')
    return answer


def watch_globals(stop, swapped):
    """Samples, until stop is set, the module globals that hgwebdir.refresh reads (findrepos,
    scmutil, ...), in the module where the class lives (hgwebdir_mod_inner on 7.2)."""
    from mercurial.hgweb import hgwebdir_mod

    refresh = hgwebdir_mod.hgwebdir.refresh
    names = [n for n in refresh.__code__.co_names if n in refresh.__globals__]
    original = {n: refresh.__globals__[n] for n in names}
    while not stop.wait(0.0005):
        swapped.update(n for n in names if refresh.__globals__[n] is not original[n])


def run_requests(cmd):
    specs = cmd['requests']
    repeat = cmd.get('repeat', 1)
    results = [[] for _ in specs]
    gate = threading.Barrier(len(specs))
    stop = threading.Event()
    swapped = set()
    watcher = threading.Thread(target=watch_globals, args=(stop, swapped))
    if cmd.get('watch'):
        watcher.start()

    def run(i):
        spec = specs[i]
        gate.wait()
        for _ in range(repeat):
            try:
                results[i].append(request(apps[spec.get('app', 0)], spec['path']))
            except Exception as e:  # the test sees the failure instead of a driver that hangs
                sys.stderr.write('driver: %s failed: %r\n' % (spec['path'], e))
                results[i].append({'status': 'exception %r' % e, 'headers': {}, 'body': ''})
            with answered_cond:
                answered[0] += 1
                answered_cond.notify_all()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(len(specs))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    if cmd.get('watch'):
        watcher.join()
    answer = {'results': results, 'swapped': sorted(swapped), 'stalled': list(stalled), **counts}
    stalled.clear()
    return answer


for number, line in enumerate(sys.stdin, 1):
    cmd = json.loads(line)
    if 'requests' in cmd:
        answer = run_requests(cmd)
    elif 'fault' in cmd:
        with faults_lock:
            faults.append(dict(cmd['fault']))
        answer = {'fault': True}
    elif 'about' in cmd:
        import mercurial

        answer = {'version': util.version().decode('ascii'), 'module': mercurial.__file__}
    else:
        app = apps[cmd['attributes']]
        properties = {name for name in dir(type(app)) if isinstance(getattr(type(app), name), property)}
        answer = {'attributes': sorted(set(vars(app)) | properties)}
    # A marker on stderr after what the command wrote there: once the reader sees it, it has all of that.
    sys.stderr.write('#answered %d\n' % number)
    sys.stderr.flush()
    print(json.dumps(answer), flush=True)
