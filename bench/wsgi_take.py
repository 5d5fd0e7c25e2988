"""How long a WSGI process takes to take a list the hgreload daemon published.

usage: python3 wsgi_take.py SCRIPT

Loads SCRIPT, the filled WSGI script that `hgreload wsgi` prints for method
publish, as mod_wsgi or gunicorn would, and says so with one JSON line
{"repos": N}. Then answers each line "take" on stdin with one JSON line
{"ms": ..., "repos": N, "snapshot": B}: how long the application's
_check_published() took (the step by which a WSGI process takes whatever the
daemon published since it last looked, before it answers a request), how many
repositories the application serves after it, and whether it read a new
snapshot (else journal lines only). Answers each line "read" the same way, for a new
snapshot the daemon published: one thread takes it while this one makes
requests for a static file one after another, as another request thread of
the process would, from the moment the read began until it ended; the answer
adds "requests" (how many were made meanwhile), "slowest" (the slowest of
them, ms), "waited" (the longest time one of them was not running, ms: its
wall time less its thread's CPU time, so waiting for the GIL, the lock, the
disk or a core) and "idle" and "idleWaited" (the medians of the same two for
20 such requests made just after). Answers each line "check FILE",
FILE a JSON array of the [name, path] pairs the daemon published, in order,
with {"repos": N, "wrong": [...], "wrongCount": K, "whole": true/false}:
each name looked up as a request looks it up (through the snapshot's index
and the journal's changes), its count and path against the published
list's (a name listed twice is routed to its last path, as hgwebdir's dict
has it), and the whole list, made as an index page makes it, against the
published list. Ends at the end of stdin.

Run by bench/scale-bench.ts with Debian's python3, which imports Mercurial.
"""

import collections
import json
import os
import runpy
import statistics
import sys
import threading
import time

# The request the tests' driver makes, as a WSGI server makes it.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'oracle'))
import wsgi_request  # noqa: E402

IDLE_REQUESTS = 20


def main(argv):
    if len(argv) != 2:
        sys.exit('usage: wsgi_take.py SCRIPT')
    application = runpy.run_path(argv[1])['application']
    # A script for another method serves hgweb itself: there would be nothing to time.
    if type(application).__name__ != 'PublishedHgwebdir':
        sys.exit('wsgi_take.py: %s serves %s, not a published list (method publish)' % (argv[1], type(application).__name__))
    answer({'repos': served(application)})
    for line in sys.stdin:
        command = line.strip()
        if command == 'take':
            generation = generation_of(application)
            started = time.perf_counter()
            application._check_published()
            ms = (time.perf_counter() - started) * 1000
            answer({'ms': ms, 'repos': served(application), 'snapshot': generation_of(application) != generation})
        elif command == 'read':
            answer(read_beside_requests(application))
        elif command.startswith('check '):
            answer(check(application, command[len('check '):]))
        else:
            sys.exit('wsgi_take.py: unknown command %r (only "take", "read" and "check FILE")' % command)


def check(application, file):
    """What the application serves against the list in FILE (see the module's doc)."""
    # hgwebdir holds names and paths as bytes (the bench's are ASCII).
    with open(file, encoding='utf-8') as f:
        expected = [(name.encode(), path.encode()) for name, path in json.load(f)]
    listing = application._listing
    counts = collections.Counter(name for name, _ in expected)
    last = dict(expected)
    wrong = []
    for name, count in counts.items():
        got = listing.listed(name)
        if tuple(got) != (count, last[name]):
            wrong.append({'name': name.decode(), 'expected': [count, last[name].decode()], 'got': [got[0], got[1] and got[1].decode()]})
    whole = [tuple(pair) for pair in listing.served()] == expected
    return {'repos': served(application), 'wrong': wrong[:5], 'wrongCount': len(wrong), 'whole': whole}


def read_beside_requests(application):
    generation = generation_of(application)
    took = {}

    def read():
        started = time.perf_counter()
        application._check_published()
        took['ms'] = (time.perf_counter() - started) * 1000

    reader = threading.Thread(target=read)
    reader.start()
    # The requests start once the reader has the read in hand: a request that saw the new
    # snapshot first would read it itself (its own wait, not another's).
    while not application._reading and reader.is_alive():
        time.sleep(0)
    requests = []
    while reader.is_alive():
        requests.append(timed_request(application))
    reader.join()
    # After the read, not before: a request before it would take the new snapshot itself.
    idle = [timed_request(application) for _ in range(IDLE_REQUESTS)]
    return {
        'ms': took['ms'],
        'repos': served(application),
        'snapshot': generation_of(application) != generation,
        'requests': len(requests),
        'slowest': max((ms for ms, _ in requests), default=None),
        'waited': max((waited for _, waited in requests), default=None),
        'idle': statistics.median(ms for ms, _ in idle),
        'idleWaited': statistics.median(waited for _, waited in idle),
    }


def served(application):
    """How many repositories the application serves (from its listing, without making the whole list)."""
    return application._listing.length


def generation_of(application):
    return application._listing.snapshot.generation


def timed_request(application):
    """(ms to answer a request for a static file, read to its end; ms of them this thread did not
    run). The second is what another thread can make a request wait: the first also holds what the
    request itself does, which takes more CPU the first time after a pause (by hand, 2 s idle made
    a request twice as slow as the next ones, with no other thread). It must succeed."""
    started, ran = time.perf_counter(), time.thread_time()
    answer, body = wsgi_request.get(application, '/static/mercurial.js')
    ms = (time.perf_counter() - started) * 1000
    waited = max(0.0, ms - (time.thread_time() - ran) * 1000)  # two clocks: a hair below 0 is 0
    if not answer.get('status', '').startswith('200') or not body:
        sys.exit('wsgi_take.py: a request for a static file answered %r' % answer.get('status', 'nothing'))
    return ms, waited


def answer(doc):
    sys.stdout.write(json.dumps(doc) + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main(sys.argv)
