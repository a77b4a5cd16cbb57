"The real download code against a local HTTP server: good files, wrong checksums, cut connections, unsafe archives."
import hashlib, io, json, os, re, shutil, subprocess, sys, zipfile
from pathlib import Path

import pytest
from conftest import reply

from movie_recs.data import load_movielens
from movie_recs.download import DATASETS, ChecksumError, Dataset, Remote, fetch, forget, sha256sum

EXE = Path(sys.executable).parent/'movie_recs'

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


def test_fetch_shows_progress(server, shared, tmp_path, capsys, monkeypatch):
    "A download of two blocks or more with a progress bar (the default of `fetch` and `load_movielens`) used to fail "
    "at its first block: the bar's clock had not been started."
    url, www, _, _ = server
    monkeypatch.setenv('MOVIE_RECS_UNPINNED', 'ml-10m')  # the local copy without ratings is not the official archive
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


def latest(members=None) -> bytes:
    "A zip shaped like ml-latest (ratings.csv and movies.csv), or with other `members`."
    return zip_bytes(members or {'ml-latest/ratings.csv': 'userId,movieId,rating,timestamp\n1,1,4.0,0\n',
                                 'ml-latest/movies.csv': 'movieId,title,genres\n1,Toy Story (1995),Animation\n'})


def md5(data: bytes) -> str: return hashlib.md5(data).hexdigest()


def test_published_md5_is_fetched_and_checked(server, tmp_path):
    "ml-latest changes over time, so nothing is pinned: GroupLens' `ml-latest.zip.md5` is fetched and must match."
    url, www, _, requests = server
    good = latest()
    (www/'ml-latest.zip').write_bytes(good)
    (www/'ml-latest.zip.md5').write_text(f'MD5 (ml-latest.zip) = {md5(b"another file")}\n')
    home = tmp_path/'home'
    with pytest.raises(ChecksumError, match=r'ml-latest.zip: MD5 mismatch \(expected '):
        fetch('ml-latest', home, mirror=url, show_progress=False)
    assert not (home/'manifest.json').exists() and list((home/'downloads'/'ml-latest').iterdir()) == []
    (www/'ml-latest.zip.md5').write_text(f'{md5(good)}  ml-latest.zip\n')  # md5sum's format is read too
    fetch('ml-latest', home, mirror=url, show_progress=False)
    assert requests[-2:] == ['/ml-latest.zip', '/ml-latest.zip.md5']
    assert json.loads((home/'manifest.json').read_text()) == {'ml-latest/ml-latest.zip': hashlib.sha256(good).hexdigest()}


def test_hostile_first_copy_is_never_recorded(server, tmp_path, caplog):
    "With no checksum to check (no .md5 on the mirror), a zip is recorded only if it holds the release's files, "
    "opens, has safe members and reads back whole."
    url, www, _, _ = server
    home = tmp_path/'home'
    bad = {'not the release': latest({'ml-latest/README.txt': 'hello'}),
           'unsafe': latest({'ml-latest/ratings.csv': 'x', 'ml-latest/movies.csv': 'x', '../../evil.csv': 'x'})}
    msgs = {'not the release': 'ml-latest.zip: not the ml-latest release: it lacks ratings.csv, movies.csv',
            'unsafe': 'refusing to extract an unsafe archive'}
    for kind, data in bad.items():
        (www/'ml-latest.zip').write_bytes(data)
        with pytest.raises(ValueError, match=re.escape(msgs[kind])):
            fetch('ml-latest', home, mirror=url, show_progress=False)
        assert not (home/'manifest.json').exists(), kind
    damaged = bytearray(latest())
    damaged[45:50] = b'#####'  # inside ratings.csv's stored bytes: only its CRC can tell
    (www/'ml-latest.zip').write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=r"member 'ml-latest/ratings.csv' is damaged \(CRC mismatch\)"):
        fetch('ml-latest', home, mirror=url, show_progress=False)
    assert not (home/'manifest.json').exists()
    (www/'ml-latest.zip').write_bytes(latest())
    fetch('ml-latest', home, mirror=url, show_progress=False)
    assert 'ml-latest.zip.md5: no published checksum' in caplog.text
    assert list(json.loads((home/'manifest.json').read_text())) == ['ml-latest/ml-latest.zip']


def test_pinned_md5_refuses_a_wrong_first_copy(server, tmp_path):
    "ml-1m's MD5 is pinned: a well-formed archive that is not the official one is never recorded, even on first use."
    url, www, _, _ = server
    (www/'ml-1m.zip').write_bytes(zip_bytes({'ml-1m/ratings.dat': '1::1::5::0\n', 'ml-1m/movies.dat': '1::A (1990)::Drama\n'}))
    home = tmp_path/'home'
    with pytest.raises(ChecksumError, match=r'ml-1m.zip: MD5 mismatch \(expected c4d9eecfca2ab87c1945afe126590906'):
        fetch('ml-1m', home, mirror=url, show_progress=False)
    assert not (home/'manifest.json').exists() and not (home/'ml-1m').exists()


def test_a_copy_recorded_before_the_md5_pins_is_checked_once(tmp_path):
    "A home filled by an older version recorded whatever ml-1m zip it was given; the pinned MD5 now catches it on use."
    home = tmp_path/'home'
    fake = zip_bytes({'ml-1m/ratings.dat': '1::1::5::0\n', 'ml-1m/movies.dat': '1::A (1990)::Drama\n'})
    (home/'downloads'/'ml-1m').mkdir(parents=True)
    (home/'downloads'/'ml-1m'/'ml-1m.zip').write_bytes(fake)
    (home/'manifest.json').write_text(json.dumps({'ml-1m/ml-1m.zip': hashlib.sha256(fake).hexdigest()}))
    with pytest.raises(ChecksumError, match=r'accepted before its official checksum was pinned: forget it '
                                            r'\(movie_recs data forget ml-1m\)'):
        fetch('ml-1m', home, show_progress=False)
    assert 'ml-1m/ml-1m.zip#md5' not in json.loads((home/'manifest.json').read_text())
    right = Dataset('tiny', (Remote('https://example.invalid/tiny.zip', 'tiny.zip', md5=hashlib.md5(fake).hexdigest()),))
    (home/'downloads'/'tiny').mkdir()
    (home/'downloads'/'tiny'/'tiny.zip').write_bytes(fake)
    (home/'manifest.json').write_text(json.dumps({'tiny/tiny.zip': hashlib.sha256(fake).hexdigest()}))
    fetch(right, home, show_progress=False)  # the official copy: checked once, and marked so
    assert json.loads((home/'manifest.json').read_text())['tiny/tiny.zip#md5'] == hashlib.md5(fake).hexdigest()
    assert forget(right, home) and json.loads((home/'manifest.json').read_text()) == {}


def test_forget_then_force_fetch_recovers(server, tmp_path):
    "A wrong first copy was recorded (a mirror without .md5 served another release's zip); `fetch --force` with the right "
    "file failed its check and only a hand edit of manifest.json recovered. Now `data forget` does, in the installed CLI."
    url, www, _, _ = server
    home = tmp_path/'home'
    env = {**os.environ, 'MOVIE_RECS_HOME': str(home), 'MOVIE_RECS_MIRROR': url}
    cli = lambda *a: subprocess.run([str(EXE), 'data', *a], capture_output=True, text=True, env=env, timeout=120)
    wrong, right = latest(), latest({'ml-latest/ratings.csv': 'userId,movieId,rating\n2,2,2.0\n',
                                     'ml-latest/movies.csv': 'movieId,title\n2,Jumanji (1995)\n'})
    (www/'ml-latest.zip').write_bytes(wrong)
    assert cli('fetch', 'ml-latest').returncode == 0
    (www/'ml-latest.zip').write_bytes(right)
    r = cli('fetch', 'ml-latest', '--force')
    assert r.returncode == 2 and 'forget it (movie_recs data forget ml-latest)' in r.stderr, r.stderr
    r = cli('forget', 'ml-latest')
    assert r.returncode == 0 and r.stdout.startswith('forgot ml-latest: the recorded checksum of ml-latest/ml-latest.zip; '
                                                     'the cached download'), r.stdout
    r = cli('fetch', 'ml-latest', '--force')
    assert r.returncode == 0, r.stderr
    assert (home/'downloads'/'ml-latest'/'ml-latest.zip').read_bytes() == right
    assert (Path(r.stdout.strip())/'ml-latest'/'movies.csv').read_text() == 'movieId,title\n2,Jumanji (1995)\n'


def test_reseeding_replaces_or_says_why_not(shared, tmp_path):
    "Seeding the right file over a wrong kept one printed success and kept the old one; one bad file stopped the seed."
    src, home = tmp_path/'src', tmp_path/'home'
    (src/'movielens').mkdir(parents=True)
    (src/'movielens'/ML_SMALL).write_bytes(b'a damaged copy')
    (src/'movielens'/'ml-1m.zip').write_bytes(b'not ml-1m')
    shutil.copytree(shared/'links', src/'links')
    env = {**os.environ, 'MOVIE_RECS_HOME': str(home)}
    seed = lambda: subprocess.run([str(EXE), 'data', 'seed', str(src)], capture_output=True, text=True, env=env, timeout=120)
    r = seed()
    assert r.returncode == 2 and r.stdout == f'seeded {home} with: dbpedia-ml1m\n', (r.stdout, r.stderr)
    assert r.stderr.startswith('movie_recs: error: not seeded (2 files, the others were): ') and 'ml-1m.zip: MD5 mismatch' in \
        r.stderr and 'ml-latest-small.zip: SHA-256 mismatch' in r.stderr, r.stderr
    cached = home/'downloads'/'ml-latest-small'/ML_SMALL
    assert list(cached.parent.iterdir()) == []  # nothing was kept of the bad file
    cached.write_bytes(b'a damaged copy kept from before')
    (src/'movielens'/'ml-1m.zip').unlink()
    shutil.copyfile(shared/'movielens'/ML_SMALL, src/'movielens'/ML_SMALL)
    r = seed()
    assert r.returncode == 0 and 'ml-latest-small: the cached copy differed from the verified one and was replaced' in \
        r.stdout, (r.stdout, r.stderr)
    assert sha256sum(cached) == DATASETS['ml-latest-small'].files[0].sha256
