"""Prints what Mercurial's own hgwebdir serves for an hgweb.config, as JSON.

Usage: python3 hgwebdir_repos.py HGWEB_CONFIG  (run in the working folder hgweb would have)

Output: {"repos": [{"name": ..., "path": ...}, ...]} in hgweb's order, or
{"error": "<exception type>", "message": "..."} when hgweb itself would fail.
This is the oracle of the parity tests: it runs Mercurial's code, not ours.
"""
import json
import os
import sys

# Only the given file counts: no global or user hgrc may add [collections] or [web].
os.environ['HGRCPATH'] = ''

from mercurial.hgweb import hgwebdir_mod  # noqa: E402


def main():
    conf = os.fsencode(sys.argv[1])
    try:
        app = hgwebdir_mod.hgwebdir(conf)
    except Exception as e:  # hgweb would fail every request
        message = getattr(e, 'message', None) or str(e)
        if isinstance(message, bytes):
            message = os.fsdecode(message)
        print(json.dumps({"error": type(e).__name__, "message": message}))
        return
    repos = [{"name": os.fsdecode(n), "path": os.fsdecode(p)} for n, p in app.repos]
    # ASCII JSON: a name that is not UTF-8 travels as its surrogateescape \udcNN escapes.
    print(json.dumps({"repos": repos}))


main()
