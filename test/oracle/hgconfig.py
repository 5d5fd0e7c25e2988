"""Mercurial's own reading of config files and list values, as JSON: the oracle of the grammar tests.

Usage: python3 hgconfig.py < requests.json
Each request is {"file": PATH, "remap": {...}} or {"list": VALUE}; the answer for a file is
{"sections": {name: [[key, value], ...]}} or {"error": MESSAGE, "location": "FILE:LINE"},
for a list value the list of items. Strings go in and out as latin-1, so every byte survives.
"""
import json
import os
import sys

os.environ['HGRCPATH'] = ''

from mercurial import config, error  # noqa: E402
from mercurial.utils import stringutil  # noqa: E402


def b(s):
    return s.encode('latin-1')


def s(b_):
    return b_.decode('latin-1')


def answer(req):
    if 'list' in req:
        return [s(x) for x in stringutil.parselist(b(req['list']))]
    cfg = config.config()
    remap = {b(k): b(v) for k, v in req.get('remap', {}).items()} or None
    try:
        cfg.read(b(req['file']), remap=remap)
    except error.ConfigError as e:
        return {"error": s(e.message), "location": s(e.location or b'')}
    return {"sections": {s(sec): [[s(k), s(v)] for k, v in cfg.items(sec)] for sec in cfg.sections()}}


print(json.dumps([answer(r) for r in json.load(sys.stdin)]))
