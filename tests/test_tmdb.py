"fetch_posters against a local server that answers like TMDB's configuration, movie and image endpoints."
import json

import pytest
from conftest import reply

from movie_recs.sources import fetch_posters, open_poster


@pytest.fixture
def tmdb(server, shared):
    url, www, routes, requests = server
    jpg = (shared/'posters'/'ml1m-w185'/'1.jpg').read_bytes()
    routes['/3/configuration'] = reply(json.dumps({'images': {'secure_base_url': f'{url}/t/p/'}}).encode())
    routes['/3/movie/862'] = reply(json.dumps({'id': 862, 'poster_path': '/toy.jpg'}).encode())
    routes['/3/movie/8844'] = reply(json.dumps({'id': 8844, 'poster_path': None}).encode())
    routes['/3/movie/500'] = reply(b'{"status_message": "boom"}', status=500)
    routes['/t/p/w185/toy.jpg'] = reply(jpg)
    calls = {'n': 0}
    def flaky(h):  # first answer "too many requests", then the movie
        calls['n'] += 1
        if calls['n'] == 1: return reply(b'{}', status=429, headers=[('Retry-After', '0.1')])(h)
        return reply(json.dumps({'poster_path': '/toy.jpg'}).encode())(h)
    routes['/3/movie/15602'] = flaky
    return url + '/3', requests, jpg


def test_fetch_posters(tmdb, tmp_path, monkeypatch):
    api, requests, jpg = tmdb
    monkeypatch.setenv('TMDB_API_KEY', 'secret-key')
    ids = {1: 862, 2: 8844, 3: 15602, 4: 500, 5: None}
    fails = fetch_posters(ids, tmp_path/'p', api_url=api, min_interval=0, show_progress=False)
    assert sorted(p.name for p in (tmp_path/'p').iterdir()) == ['1.jpg', '3.jpg']
    assert (tmp_path/'p'/'1.jpg').read_bytes() == jpg and open_poster(tmp_path/'p'/'3.jpg').mode == 'RGB'
    assert fails.movie.tolist() == [2, 4, 5]
    assert 'no poster' in fails.error[0] and '500' in fails.error[1] and 'no TMDB id' in fails.error[2]
    assert all('api_key=secret-key' in r for r in requests if r.startswith('/3/'))
    assert not any('secret-key' in e for e in fails.error)
    n = len(requests)  # a second run resumes: posters on disk are not asked for again
    fails = fetch_posters(ids, tmp_path/'p', api_url=api, min_interval=0, show_progress=False)
    assert fails.movie.tolist() == [2, 4, 5]
    assert not any(r.startswith(('/3/movie/862', '/3/movie/15602', '/t/p/')) for r in requests[n:])


def test_polite_rate(tmdb, tmp_path):
    import time
    api, _, _ = tmdb
    t = time.monotonic()
    fetch_posters({1: 862}, tmp_path/'p', api_key='k', api_url=api, min_interval=0.3, show_progress=False)
    assert time.monotonic() - t >= 0.3  # two requests (movie, image), 0.3 s apart


def test_no_key(tmp_path, monkeypatch):
    monkeypatch.delenv('TMDB_API_KEY', raising=False)
    with pytest.raises(ValueError, match='TMDB_API_KEY'): fetch_posters({1: 862}, tmp_path)


def test_only_the_image_host_is_followed(tmdb, server, tmp_path, monkeypatch):
    "A fake TMDB answering file:///etc/passwd# got /etc/passwd copied into the posters folder (issue 17 item 13)."
    api, requests, jpg = tmdb
    url, www, routes, _ = server
    monkeypatch.setenv('TMDB_API_KEY', 'k')
    routes['/3/movie/1'] = reply(json.dumps({'poster_path': 'file:///etc/passwd#'}).encode())
    routes['/3/movie/2'] = reply(json.dumps({'poster_path': '/../../../etc/passwd'}).encode())
    fails = fetch_posters({1: 1, 2: 2, 3: 862}, tmp_path/'p', api_url=api, min_interval=0, show_progress=False)
    assert sorted(p.name for p in (tmp_path/'p').iterdir()) == ['3.jpg'], 'only the real poster'
    assert fails.movie.tolist() == [1, 2] and all('not an image file name' in e for e in fails.error), fails
    for bad in ['file:///etc/passwd#', 'ftp://127.0.0.1/t/p/', 'http://example.org/t/p/', f'{url}/t/p/?x=#']:
        routes['/3/configuration'] = reply(json.dumps({'images': {'secure_base_url': bad}}).encode())
        with pytest.raises(ValueError, match='only from an https image host'):
            fetch_posters({4: 862}, tmp_path/'q', api_url=api, min_interval=0, show_progress=False)
    assert not (tmp_path/'q').exists() or not list((tmp_path/'q').iterdir())
