"""One GET request to a WSGI application, made in the process as a WSGI server makes it (PEP
3333): what test/oracle/wsgi_driver.py sends for the tests, and what bench/wsgi_take.py times."""

import io
import sys


def get(app, path):
    """({'status': ..., 'headers': {...}} as start_response set them, the body's bytes) of a GET
    of `path` (with its query, if any)."""
    path_info, _, query = path.partition('?')
    environ = {
        'REQUEST_METHOD': 'GET', 'PATH_INFO': path_info, 'QUERY_STRING': query, 'SCRIPT_NAME': '',
        'SERVER_NAME': 'localhost', 'SERVER_PORT': '80', 'SERVER_PROTOCOL': 'HTTP/1.1',
        'wsgi.url_scheme': 'http', 'wsgi.input': io.BytesIO(), 'wsgi.errors': sys.stderr,
        'wsgi.version': (1, 0), 'wsgi.multithread': True, 'wsgi.multiprocess': False, 'wsgi.run_once': False,
        'REMOTE_ADDR': '127.0.0.1',
    }
    answer = {}
    body = []

    def start_response(status, headers, exc_info=None):
        answer['status'] = status
        answer['headers'] = dict(headers)
        # Archives are written through this callable (PEP 3333), not returned.
        return body.append

    chunks = app(environ, start_response)
    try:
        body.extend(chunks)
    finally:
        getattr(chunks, 'close', lambda: None)()
    return answer, b''.join(body)
