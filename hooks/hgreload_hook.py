# hgreload's changegroup hook: tells the hgreload daemon that a push happened.
#
# `hgreload install-hooks` names it in each served repository's .hg/hgrc as a
# shell hook, with the daemon's control socket as its one argument:
#   [hooks]
#   changegroup.hgreload = /usr/bin/python3 -IS /usr/local/lib/node_modules/hgreload/hooks/hgreload_hook.py /var/lib/hgreload/control.sock
#
# A shell hook, not an in-process `python:` one: Mercurial aborts a push whose
# `python:` hook module cannot be loaded (unreadable, missing during an
# upgrade), with exit status 255 after the changesets were added. A shell
# hook that fails only makes Mercurial print a warning; and this program
# itself always exits 0. It lives in hgreload's package, which only root can
# write (`npm install -g`), never in the daemon's state folder: whoever can
# change it runs code in every pusher's process, root's included. `-I -S`
# keep the pusher's environment (PYTHONPATH, user site) out of it.
#
# It asks for a rescan, not a reload: a push into an existing repository
# changes nothing hgweb serves, so the daemon reloads nothing. It waits for the
# daemon at most DEADLINE_SECONDS. When the daemon cannot be reached (not
# running, a pusher outside its group), the push goes on and the admin is told
# through syslog (journalctl -t hgreload-hook); the pusher sees nothing.

import json
import os
import socket
import sys
import time

DEADLINE_SECONDS = 0.5
MAX_ANSWER_BYTES = 4096


def main(argv):
    if len(argv) != 2:
        tell_admin('usage: %s SOCKET (check the changegroup.hgreload line of %s)' % (argv[0], hgrc()))
        return 0
    path = argv[1]
    # Mercurial runs shell hooks in the repository's root.
    root = os.getcwd()
    request = json.dumps({'command': 'rescan', 'reason': 'push to %s' % root, 'path': root}) + '\n'
    try:
        answer = ask(path, request.encode('utf-8', 'surrogateescape'))
        if not json.loads(answer.decode('utf-8')).get('ok'):
            tell_admin('the daemon at %s refused the rescan after a push to %s: %s' % (path, root, answer.strip()))
    except (OSError, ValueError) as e:
        tell_admin('cannot reach the daemon at %s after a push to %s (%s); the next scheduled rescan will see it' % (path, root, describe(e)))
    return 0


def ask(path, request):
    deadline = time.monotonic() + DEADLINE_SECONDS
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(DEADLINE_SECONDS)
        s.connect(path)
        s.sendall(request)
        answer = b''
        while not answer.endswith(b'\n') and len(answer) < MAX_ANSWER_BYTES:
            s.settimeout(max(0.001, deadline - time.monotonic()))
            chunk = s.recv(MAX_ANSWER_BYTES)
            if not chunk:
                break
            answer += chunk
        return answer


def describe(e):
    if isinstance(e, socket.timeout):
        return 'no answer within %g s' % DEADLINE_SECONDS
    if isinstance(e, OSError) and e.errno is not None:
        return os.strerror(e.errno)
    return str(e)


def hgrc():
    return os.path.join(os.getcwd(), '.hg', 'hgrc')


def tell_admin(message):
    """syslog reaches the admin (journald keeps it); where there is none, stderr, which Mercurial shows."""
    if os.path.exists('/dev/log'):
        try:
            import syslog

            syslog.openlog('hgreload-hook', syslog.LOG_PID, syslog.LOG_DAEMON)
            syslog.syslog(syslog.LOG_WARNING, message)
            return
        except Exception:
            pass
    try:
        sys.stderr.write('hgreload: %s\n' % message)
    except Exception:
        pass


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv))
    except BaseException:
        # Nothing here may fail a push, whatever went wrong.
        sys.exit(0)
