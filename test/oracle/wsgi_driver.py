"""Drives a WSGI script in-process for the tests, one JSON command per stdin line.

Usage: python3 wsgi_driver.py SCRIPT
Commands: {"get": PATH} -> {"status", "repos", "walks", "refreshes"};
          {"get": PATH, "threads": N} -> the same request from N threads released at once,
          {"statuses": [...], "repos": [...], "walks", "refreshes"}.
"walks" counts Mercurial's repository walks, "refreshes" hgwebdir's full refreshes
(a new ui read) and "reads" the reads of the published list, all since the script was loaded. The script's own stderr goes to ours,
followed by "#answered N" once request N is done.
"""
import json
import os
import runpy
import sys
import threading

os.environ['HGRCPATH'] = ''
counts = {'walks': 0, 'refreshes': 0, 'reads': 0}

from mercurial import scmutil, ui as uimod  # noqa: E402

real_walk = scmutil.walkrepos


def counting_walk(*args, **kwargs):
    counts['walks'] += 1
    return real_walk(*args, **kwargs)


scmutil.walkrepos = counting_walk
real_load = uimod.ui.load.__func__


def counting_load(cls):
    counts['refreshes'] += 1
    return real_load(cls)


uimod.ui.load = classmethod(counting_load)

app = runpy.run_path(sys.argv[1])['application']

# With a published list, count how often it is read (the function the script's class calls).
check = getattr(type(app), '_check_published', None)
if check is not None:
    script_globals = check.__globals__
    real_read = script_globals['_read_published']

    def counting_read(path):
        counts['reads'] += 1
        return real_read(path)

    script_globals['_read_published'] = counting_read


def request(path):
    path_info, _, query = path.partition('?')
    environ = {
        'REQUEST_METHOD': 'GET', 'PATH_INFO': path_info, 'QUERY_STRING': query, 'SCRIPT_NAME': '',
        'SERVER_NAME': 'localhost', 'SERVER_PORT': '80', 'SERVER_PROTOCOL': 'HTTP/1.1',
        'wsgi.url_scheme': 'http', 'wsgi.input': sys.stdin.buffer, 'wsgi.errors': sys.stderr,
        'wsgi.version': (1, 0), 'wsgi.multithread': True, 'wsgi.multiprocess': False, 'wsgi.run_once': False,
        'REMOTE_ADDR': '127.0.0.1',
    }
    status = []
    body = b''.join(app(environ, lambda s, h, e=None: status.append(s)))
    return status[0], body


def repos_of(body):
    # style=raw lists one "/name/" per line
    return [line.strip().strip('/') for line in body.decode('utf-8', 'surrogateescape').splitlines() if line.strip()]


for number, line in enumerate(sys.stdin, 1):
    cmd = json.loads(line)
    threads = cmd.get('threads', 1)
    results = [None] * threads
    gate = threading.Barrier(threads)

    def run(i):
        gate.wait()
        results[i] = request(cmd['get'])

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    answer = {'statuses': [s for s, _ in results], 'repos': repos_of(results[0][1]), **counts}
    answer['status'] = answer['statuses'][0]
    # A marker on stderr after what the request wrote there: once the reader sees it, it has all of that.
    sys.stderr.write('#answered %d\n' % number)
    sys.stderr.flush()
    print(json.dumps(answer), flush=True)
