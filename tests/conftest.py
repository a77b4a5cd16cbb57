"Shared fixtures: the local copy of the official data, a local HTTP server standing in for the internet, the CLI."
import os, re, shutil, threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'


def pytest_sessionfinish(session, exitstatus):
    "A run that collects no tests is not a failure (pytest's exit status 5)."
    if exitstatus == 5: session.exitstatus = 0


@pytest.fixture(scope='session')
def shared():
    if not SHARED.exists(): pytest.fail(f"{SHARED}: the local copy of the official data is missing (see README).")
    return SHARED


@pytest.fixture(scope='session')
def ml10m_mirror(shared, tmp_path_factory):
    "A mirror (a file URL for `MOVIE_RECS_MIRROR`) serving `ml-10m.zip`: the local copy of its movies and tags, no ratings."
    "Not the official archive, so its pinned MD5 is lifted (`MOVIE_RECS_UNPINNED`) for the session, in-process and in "
    "the commands the tests run; its contents are still checked (movies.dat and tags.dat)."
    d = tmp_path_factory.mktemp('mirror')
    shutil.copyfile(shared/'movielens'/'ml-10M100K-movies-tags.zip', d/'ml-10m.zip')
    os.environ['MOVIE_RECS_UNPINNED'] = 'ml-10m'
    return d.as_uri()


class Handler(SimpleHTTPRequestHandler):
    "Serve files from a folder; `routes` (path -> callable(handler)) override single paths; requests are logged."
    routes, requests = {}, []
    def do_GET(self):
        self.requests.append(self.path)
        route = self.routes.get(self.path.split('?')[0])
        if route: return route(self)
        return super().do_GET()
    def log_message(self, *args): pass


@pytest.fixture
def server(tmp_path):
    "A server on 127.0.0.1 serving `tmp_path/'www'`; yields (base_url, www folder, routes dict, request log)."
    www = tmp_path/'www'; www.mkdir()
    handler = type('H', (Handler,), {'routes': {}, 'requests': []})
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), partial(handler, directory=str(www)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True); t.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}', www, handler.routes, handler.requests
    httpd.shutdown(); httpd.server_close()


def reply(body: bytes, status=200, length=None, headers=()):
    "A route answering `body` with `status`; `length` may lie about the size to simulate a cut connection."
    def route(h):
        h.send_response(status)
        h.send_header('Content-Length', str(len(body) if length is None else length))
        for k, v in headers: h.send_header(k, v)
        h.end_headers(); h.wfile.write(body)
        if length is not None: h.close_connection = True
    return route


class CLI:
    "The `movie_recs` command run in-process through `movie_recs.cli.main`, its output captured by pytest's `capsys`."
    def __init__(self, capsys): self.capsys = capsys
    def run(self, *args):
        "Run `movie_recs ARGS`: (exit status, stdout, stderr)."
        from movie_recs.cli import main
        rc = main([str(a) for a in args])
        out, err = self.capsys.readouterr()
        return rc, out, err
    def fails(self, msg, *args):
        "Check that `movie_recs ARGS` stops with exit status 2 and `msg` (a regex) in its one-line error, no traceback."
        rc, out, err = self.run(*args)
        assert rc == 2 and err.startswith('movie_recs: error: ') and 'Traceback' not in err, (rc, out, err)
        assert re.search(msg, err), err
        return err


@pytest.fixture
def cli(capsys): return CLI(capsys)
