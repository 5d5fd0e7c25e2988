# hgreload's changegroup hook, run by Mercurial in-process on every push.
#
# `hgreload install-hooks` writes this file, with the settings block filled
# in, to hgreload's state folder and names it in each repository's .hg/hgrc:
#   [hooks]
#   changegroup.hgreload = python:/var/lib/hgreload/hgreload_hook.py:changegroup
#
# In-process (a `python:` hook) because a push must not wait for a program to
# start: telling the daemon is one connect and one line on its control socket.
# It works for whoever pushes (the web server's user over HTTP, each user over
# SSH) as long as they may use the socket (the daemon's group), and it never
# fails a push: a changegroup hook cannot abort one anyway, and it says nothing
# unless something is wrong.

# --- settings (filled in by `hgreload install-hooks`) ---
SOCKET = '/var/lib/hgreload/control.sock'
# Run when no daemon answers: `hgreload touch` does the configured reload itself.
FALLBACK = ['/usr/local/bin/hgreload', 'touch']
# --- end of settings ---

import json
import os
import socket
import subprocess

# The daemon answers at once; a push must never wait long on a stuck one.
TIMEOUT_SECONDS = 2.0


def changegroup(ui, repo, **kwargs):
    root = os.fsdecode(repo.root)
    request = json.dumps({'command': 'touch', 'reason': 'push to %s' % root}).encode('utf-8') + b'\n'
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(TIMEOUT_SECONDS)
            s.connect(SOCKET)
            s.sendall(request)
            answer = s.makefile('rb').readline()
        if not json.loads(answer.decode('utf-8')).get('ok'):
            ui.warn(b'hgreload: the daemon refused the reload: %s\n' % answer.strip())
    except (OSError, ValueError) as e:
        if isinstance(e, OSError) and e.errno not in (2, 111):  # ENOENT, ECONNREFUSED: no daemon
            ui.warn(b'hgreload: cannot reach the daemon at %s (%s); reloading directly\n' % (os.fsencode(SOCKET), os.fsencode(str(e))))
        try:
            # In the background, detached: the push does not wait for the reload.
            subprocess.Popen(
                FALLBACK,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as e:
            ui.warn(b'hgreload: cannot run %s (%s)\n' % (os.fsencode(FALLBACK[0]), os.fsencode(str(e))))
    return False
