"""How long a WSGI process takes to take a list the hgreload daemon published.

usage: python3 wsgi_take.py SCRIPT

Loads SCRIPT, the filled WSGI script that `hgreload wsgi` prints for method
publish, as mod_wsgi or gunicorn would, and says so with one JSON line
{"repos": N}. Then answers each line "take" on stdin with one JSON line
{"ms": ..., "repos": N}: how long the application's _check_published() took
(the step by which a WSGI process takes whatever the daemon published since it
last looked, before it answers a request) and how many repositories the
application serves after it. Ends at the end of stdin.

Run by bench/scale-bench.ts with Debian's python3, which imports Mercurial.
"""

import json
import runpy
import sys
import time


def main(argv):
    if len(argv) != 2:
        sys.exit('usage: wsgi_take.py SCRIPT')
    application = runpy.run_path(argv[1])['application']
    # A script for another method serves hgweb itself: there would be nothing to time.
    if type(application).__name__ != 'PublishedHgwebdir':
        sys.exit('wsgi_take.py: %s serves %s, not a published list (method publish)' % (argv[1], type(application).__name__))
    answer({'repos': len(application.repos)})
    for line in sys.stdin:
        command = line.strip()
        if command != 'take':
            sys.exit('wsgi_take.py: unknown command %r (only "take")' % command)
        started = time.perf_counter()
        application._check_published()
        ms = (time.perf_counter() - started) * 1000
        answer({'ms': ms, 'repos': len(application.repos)})


def answer(doc):
    sys.stdout.write(json.dumps(doc) + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main(sys.argv)
