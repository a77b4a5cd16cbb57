"The real download code against a local HTTP server: good files, wrong checksums, cut connections, unsafe archives."
import io, json, shutil, zipfile

import pytest
from conftest import reply

from movie_recs.data import load_movielens
from movie_recs.download import DATASETS, Dataset, Remote, fetch, sha256sum

ML_SMALL = 'ml-latest-small.zip'


def zip_bytes(members: dict, links=()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as zf:
        for name, text in members.items(): zf.writestr(name, text)
        for name in links:
            info = zipfile.ZipInfo(name); info.external_attr = 0o120777 << 16
            zf.writestr(info, '/etc/passwd')
    return buf.getvalue()


def test_fetch_verifies_and_caches(server, shared, tmp_path):
    url, www, _, requests = server
    shutil.copy(shared/'movielens'/ML_SMALL, www)
    home = tmp_path/'home'
    path = fetch('ml-latest-small', home, mirror=url, show_progress=False)
    assert (path/'ml-latest-small'/'ratings.csv').exists()
    assert requests == ['/' + ML_SMALL]
    (www/ML_SMALL).unlink()  # the network is gone: a cache hit must not need it
    assert fetch('ml-latest-small', home, mirror=url, show_progress=False) == path
    assert len(requests) == 1
    assert len(load_movielens('ml-latest-small', home).ratings) == 100836


def test_wrong_checksum_keeps_nothing(server, tmp_path):
    url, www, _, _ = server
    (www/ML_SMALL).write_bytes(zip_bytes({'ml-latest-small/ratings.csv': 'userId,movieId,rating,timestamp\n'}))
    home = tmp_path/'home'
    with pytest.raises(ValueError, match='SHA-256 mismatch'):
        fetch('ml-latest-small', home, mirror=url, show_progress=False)
    assert list((home/'downloads'/'ml-latest-small').iterdir()) == []
    assert not (home/'ml-latest-small').exists()


def test_cut_connection_keeps_nothing(server, shared, tmp_path):
    url, _, routes, _ = server
    data = (shared/'movielens'/ML_SMALL).read_bytes()
    routes['/' + ML_SMALL] = reply(data[:100_000], length=len(data))
    home = tmp_path/'home'
    with pytest.raises(IOError, match='ml-latest-small.zip: download (failed|truncated)'):
        fetch('ml-latest-small', home, mirror=url, show_progress=False)
    assert list((home/'downloads'/'ml-latest-small').iterdir()) == []


def test_fetch_shows_progress(server, shared, tmp_path, capsys):
    "A download of two blocks or more with a progress bar (the default of `fetch` and `load_movielens`) used to fail "
    "at its first block: the bar's clock had not been started."
    url, www, _, _ = server
    shutil.copy(shared/'movielens'/'ml-10M100K-movies-tags.zip', www/'ml-10m.zip')  # 1.2 MB: two blocks of 1 MiB
    path = fetch('ml-10m', tmp_path/'home', mirror=url)
    assert (path/'ml-10M100K'/'tags.dat').exists()
    assert len(load_movielens('ml-10m', tmp_path/'home').tags) == 95_580


def tofu(name='ml-100k'):
    "A dataset with no pinned checksum: the first download is recorded, later ones are verified."
    return Dataset(name, (Remote(f'https://example.invalid/{name}.zip', f'{name}.zip'),), archive=True)


def test_truncated_archive_is_rejected(server, shared, tmp_path):
    url, www, _, _ = server
    (www/'ml-100k.zip').write_bytes((shared/'movielens'/ML_SMALL).read_bytes()[:50_000])
    home = tmp_path/'home'
    with pytest.raises(ValueError, match='not a valid archive'):
        fetch(tofu(), home, mirror=url, show_progress=False)
    assert list((home/'downloads'/'ml-100k').iterdir()) == []
    assert not (home/'manifest.json').exists()  # nothing recorded for a bad file


@pytest.mark.parametrize('members,links', [({'../evil.txt': 'x'}, ()), ({'/tmp/evil.txt': 'x'}, ()),
                                           ({'ok/u.data': '1\t1\t1\t1\n'}, ('ok/link',))])
def test_malicious_archive_is_not_extracted(server, tmp_path, members, links):
    url, www, _, _ = server
    (www/'ml-100k.zip').write_bytes(zip_bytes(members, links))
    home = tmp_path/'home'
    with pytest.raises(ValueError, match='refusing to extract an unsafe archive'):
        fetch(tofu(), home, mirror=url, show_progress=False)
    assert not (home/'ml-100k').exists() and not (tmp_path/'evil.txt').exists()
    assert [p.name for p in home.iterdir() if p.name.startswith('.') and p.name != '.locks'] == []  # no temp folders left (.locks: the home's lock files)


def test_first_download_is_recorded_then_verified(server, tmp_path):
    url, www, _, _ = server
    good = zip_bytes({'ml-100k/u.data': '1\t2\t3\t4\n', 'ml-100k/u.item': '2|A (1990)|||' + '|'.join('0' * 19) + '\n'})
    (www/'ml-100k.zip').write_bytes(good)
    home = tmp_path/'home'
    fetch(tofu(), home, mirror=url, show_progress=False)
    cached = home/'downloads'/'ml-100k'/'ml-100k.zip'
    assert json.loads((home/'manifest.json').read_text()) == {'ml-100k/ml-100k.zip': sha256sum(cached)}
    (www/'ml-100k.zip').write_bytes(zip_bytes({'ml-100k/u.data': '9\t9\t1\t1\n'}))  # the server's copy changes
    with pytest.raises(ValueError, match='SHA-256 mismatch'):
        fetch(tofu(), home, mirror=url, force=True, show_progress=False)
    assert cached.read_bytes() == good  # the verified copy is still there
    assert len(load_movielens(home/'ml-100k').ratings) == 1


def test_corrupt_cache_is_reported(shared, tmp_path):
    home = tmp_path/'home'
    (home/'downloads'/'ml-latest-small').mkdir(parents=True)
    (home/'downloads'/'ml-latest-small'/ML_SMALL).write_bytes(b'garbage')
    with pytest.raises(ValueError, match=r'cached file .*ml-latest-small.zip: SHA-256 mismatch'):
        fetch('ml-latest-small', home, show_progress=False)


def test_registry_names_official_sources():
    for name in ['ml-100k', 'ml-1m', 'ml-10m', 'ml-20m', 'ml-25m', 'ml-latest-small', 'ml-latest']:
        assert DATASETS[name].files[0].url == f'https://files.grouplens.org/datasets/movielens/{name}.zip'
    assert all('380c1599ea5825bbb650c248f25bf42385b619bc' in r.url or '47f116f3812ed1ceb4e8cfbe22bb9cb58b3dab4d' in r.url
               for r in DATASETS['dbpedia-ml1m'].files)
