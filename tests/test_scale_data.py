"The data layer at scale, on small archives: the synthetic releases, the fast csv reader, the Parquet cache."
import logging, os, re, shutil, zipfile

import numpy as np
import pandas as pd
import pytest

import movie_recs.data as data
from movie_recs.data import _Source, _read, check_ratings, load_movielens, synth_movielens

GENRES = {'Action', 'Adventure', 'Animation', 'Children', 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy',
          'Film-Noir', 'Horror', 'IMAX', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western'}


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    "A 20k-rating synthetic release (shared: the tests copy it before changing anything)."
    return synth_movielens(tmp_path_factory.mktemp('synth')/'ml-tiny.zip', ratings=20_000, users=150, movies=2_000,
                           seed=3)


@pytest.fixture
def copy(synth, tmp_path):
    "A private copy of the synthetic release."
    p = tmp_path/'rel.zip'
    shutil.copy(synth, p)
    return p


def raw(path):
    "The csv tables of a zip, read by plain pandas."
    with zipfile.ZipFile(path) as zf:
        top = zf.namelist()[0].split('/')[0]
        return {t: pd.read_csv(zf.open(f'{top}/{t}.csv'), keep_default_na=False)
                for t in ['ratings', 'movies', 'links', 'tags']}


# ---- the generator

def test_synth_layout(synth):
    with zipfile.ZipFile(synth) as zf:
        assert sorted(zf.namelist()) == ['ml-tiny/README.txt', 'ml-tiny/links.csv', 'ml-tiny/movies.csv',
                                         'ml-tiny/ratings.csv', 'ml-tiny/tags.csv']
        heads = {n.split('/')[1]: zf.open(n).readline() for n in zf.namelist()}
        assert zf.comment.startswith(b'movie_recs synth_movielens')
    assert heads['ratings.csv'] == b'userId,movieId,rating,timestamp\n'
    assert heads['movies.csv'] == b'movieId,title,genres\n'
    assert heads['links.csv'] == b'movieId,imdbId,tmdbId\n'
    assert heads['tags.csv'] == b'userId,movieId,tag,timestamp\n'
    t = raw(synth)
    assert all(re.fullmatch(r'[A-Z][a-z]+( [A-Z][a-z]+)*(, The)? \(\d{4}\)', x) for x in t['movies'].title)
    assert set('|'.join(t['movies'].genres).split('|')) <= GENRES | {'(no genres listed)'}
    assert t['links'].movieId.tolist() == t['movies'].movieId.tolist()
    assert set(t['tags'].movieId) <= set(t['movies'].movieId) and len(t['tags']) > 0


def test_synth_statistics(synth):
    r = raw(synth)['ratings']
    assert len(r) == 20_000 and sorted(r.userId.unique()) == list(range(1, 151))
    assert not r.duplicated(['userId', 'movieId']).any()
    assert set(r.rating) <= {x / 2 for x in range(1, 11)} and 3.3 < r.rating.mean() < 3.7
    per_user = r.groupby('userId').size()
    assert per_user.min() >= 20 and per_user.max() > 4 * per_user.median()  # a long tail of users
    pop = r.movieId.value_counts()
    assert pop.iloc[:20].sum() / len(r) > 0.08  # the top 1% of 2,000 movies: Zipf, not uniform (which gives 1%)
    key = r.userId.astype('int64') * 10**7 + r.movieId
    assert (np.diff(key) > 0).all()  # sorted by user, then movie, like the real files
    first = r.groupby('userId').timestamp.min()
    assert np.corrcoef(first.index, first.rank())[0, 1] > 0.95  # later users start later
    ids = raw(synth)['movies'].movieId
    assert ids.is_monotonic_increasing and ids.diff().max() > 1  # ids with gaps


def test_synth_low_rank(tmp_path):
    "Ratings follow user and movie effects: a user's mean on one half of their movies predicts the other half."
    r = load_movielens(synth_movielens(tmp_path/'s.zip', ratings=60_000, users=300, movies=1_000)).ratings
    half = r.groupby('user').cumcount() % 2
    a, b = (r[half == h].groupby('user').rating.mean() for h in (0, 1))
    assert np.corrcoef(a, b)[0, 1] > 0.5


def test_synth_deterministic(synth, tmp_path):
    again = synth_movielens(tmp_path/'ml-tiny.zip', ratings=20_000, users=150, movies=2_000, seed=3)
    other = synth_movielens(tmp_path/'other.zip', ratings=20_000, users=150, movies=2_000, seed=4, name='ml-tiny')
    read = lambda p, n: zipfile.ZipFile(p).read(f'ml-tiny/{n}')
    for n in ['ratings.csv', 'movies.csv', 'links.csv', 'tags.csv']: assert read(again, n) == read(synth, n)
    assert read(other, 'ratings.csv') != read(synth, 'ratings.csv')


def test_synth_overwrites_only_its_own(tmp_path, caplog):
    p = synth_movielens(tmp_path/'a.zip', ratings=500, users=10, movies=100, seed=1)
    assert synth_movielens(p, ratings=600, users=10, movies=100) == p  # its own output: replaced
    assert len(raw(p)['ratings']) == 600
    (tmp_path/'mine.zip').write_bytes(b'precious')
    with pytest.raises(FileExistsError, match='mine.zip: exists and is not an archive written by `synth_movielens`'):
        synth_movielens(tmp_path/'mine.zip', ratings=500, users=10, movies=100)
    assert (tmp_path/'mine.zip').read_bytes() == b'precious'
    with pytest.raises(ValueError, match='Cannot make 5,000 ratings by 10 users of 100 movies'):
        synth_movielens(tmp_path/'b.zip', ratings=5_000, users=10, movies=100)
    with pytest.raises(ValueError, match='must be a .zip'): synth_movielens(tmp_path/'b.tar', ratings=50, users=1, movies=99)
    assert synth_movielens(tmp_path, ratings=500, users=10, movies=100, name='named') == tmp_path/'named.zip'
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.part')]


# ---- loading

def test_synth_loads_like_a_release(synth):
    ml, t = load_movielens(synth, cache=False), raw(synth)
    assert (ml.ratings.rating.to_numpy() == t['ratings'].rating.to_numpy()).all()
    assert ml.ratings.dtypes.astype(str).tolist() == ['int32', 'int32', 'float32', 'int64']
    assert ml.movies.title.tolist() == t['movies'].title.tolist()
    assert ml.links.tmdb.isna().sum() == (t['links'].tmdbId == '').sum()
    assert ml.tags.tag.tolist() == t['tags'].tag.tolist()


def test_fast_reader_equals_careful_reader(shared):
    "On the real ml-latest-small: the pyarrow road gives what the pandas road gave, dtype for dtype, value for value."
    src = _Source(shared/'movielens'/'ml-latest-small.zip')
    careful = _read(src, 'ratings.csv', ',', header=0, dtype=None).rename(columns={'userId': 'user', 'movieId': 'movie'})
    pd.testing.assert_frame_equal(check_ratings(data._fast_ratings(src)), check_ratings(careful), check_exact=True)
    plain = pd.read_csv(zipfile.ZipFile(src.path).open('ml-latest-small/ratings.csv'))
    ml = load_movielens(src.path, cache=False)
    assert (ml.ratings.rating.to_numpy() == plain.rating.to_numpy(np.float32)).all()
    assert (ml.ratings.timestamp.to_numpy() == plain.timestamp.to_numpy()).all()


def test_cached_equals_parsed(shared, tmp_path):
    "ml-latest-small through the cache: every table equal, dtypes included (genres back as lists)."
    p = tmp_path/'ml-latest-small.zip'
    shutil.copy(shared/'movielens'/'ml-latest-small.zip', p)
    first, second = load_movielens(p, cache=True), load_movielens(p, cache=True)
    assert (first.from_cache, second.from_cache) == (False, True)
    for t in ['ratings', 'movies', 'links', 'tags']:
        pd.testing.assert_frame_equal(getattr(second, t), getattr(first, t), check_exact=True)
    assert type(second.movies.genres[0]) is list
    assert repr(second) == repr(first)


def test_cache_hit_does_not_parse(copy, monkeypatch):
    load_movielens(copy, cache=True)
    def boom(*a, **k): raise AssertionError('parsed the csv again')
    monkeypatch.setattr(data, '_fast_ratings', boom)
    monkeypatch.setattr(data, '_read', boom)
    assert load_movielens(copy, cache=True).from_cache


def test_cache_auto_only_for_big_releases(copy, monkeypatch):
    load_movielens(copy)
    assert not (copy.parent/'rel.zip.cache').exists()  # 20k ratings: not worth a cache
    monkeypatch.setattr(data, '_CACHE_MIN_BYTES', 1000)
    load_movielens(copy)
    assert load_movielens(copy).from_cache
    assert not load_movielens(copy, cache=False).from_cache


def test_cache_invalidated_when_the_archive_changes(copy):
    load_movielens(copy, cache=True)
    synth_movielens(copy, ratings=20_000, users=150, movies=2_000, seed=9)
    ml = load_movielens(copy, cache=True)
    assert not ml.from_cache and ml.ratings.timestamp.tolist() == raw(copy)['ratings'].timestamp.tolist()
    assert load_movielens(copy, cache=True).from_cache


def test_cache_invalidated_when_a_folder_changes(synth, tmp_path):
    with zipfile.ZipFile(synth) as zf: zf.extractall(tmp_path)
    folder, f = tmp_path/'ml-tiny', tmp_path/'ml-tiny'/'ratings.csv'
    before = load_movielens(folder, cache=True)
    assert (tmp_path/'ml-tiny.cache').is_dir() and load_movielens(folder, cache=True).from_cache
    st, text = f.stat(), f.read_bytes()
    f.write_bytes(text.replace(b'\n1,', b'\n2,', 1))  # same size, same time: only the content changes
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = load_movielens(folder, cache=True)
    assert not after.from_cache and not after.ratings.equals(before.ratings)
    f.write_bytes(text + b'1,99999,4.0,1\n')  # a rating added
    appended = load_movielens(folder, cache=True)
    assert not appended.from_cache and appended.ratings.movie.iloc[-1] == 99999


@pytest.mark.parametrize('damage', ['garbage', 'truncate', 'flip', 'manifest', 'missing'])
def test_damaged_cache_is_rebuilt(copy, caplog, damage):
    good = load_movielens(copy, cache=True)
    d = copy.parent/'rel.zip.cache'
    f = d/'ratings.parquet'
    b = bytearray(f.read_bytes())
    if damage == 'garbage': f.write_bytes(b'garbage')
    if damage == 'truncate': f.write_bytes(b[:len(b) // 2])
    if damage == 'flip':  # same size, one byte changed inside the data: the page checksums notice
        b[len(b) // 3] ^= 0xFF
        f.write_bytes(b)
    if damage == 'manifest': (d/'cache.json').write_text('{"key": ')
    if damage == 'missing': f.unlink()
    with caplog.at_level(logging.WARNING): again = load_movielens(copy, cache=True)
    assert not again.from_cache
    pd.testing.assert_frame_equal(again.ratings, good.ratings)
    if damage != 'manifest': assert 'the cache is damaged' in caplog.text
    assert load_movielens(copy, cache=True).from_cache  # rebuilt
    assert not [p for p in d.iterdir() if p.name.endswith('.part')]


def test_cache_never_writes_into_a_folder_it_did_not_make(copy, tmp_path, monkeypatch):
    theirs = copy.parent/'rel.zip.cache'
    theirs.mkdir()
    (theirs/'ratings.parquet').write_bytes(b'their file')
    home = tmp_path/'home'
    load_movielens(copy, home=home, cache=True)
    assert [p.name for p in theirs.iterdir()] == ['ratings.parquet'] and (theirs/'ratings.parquet').read_bytes() == b'their file'
    [ours] = (home/'cache').iterdir()
    assert ours.name.startswith('rel.zip-') and (ours/'ratings.parquet').exists()
    assert load_movielens(copy, home=home, cache=True).from_cache


def test_cache_unwritable_still_loads(copy, monkeypatch, caplog):
    monkeypatch.setattr(data, '_own', lambda d: False)  # read-only media everywhere
    with caplog.at_level(logging.WARNING): ml = load_movielens(copy, cache=True)
    assert len(ml.ratings) == 20_000 and not ml.from_cache
    assert 'rel.zip: no writable place for its cache' in caplog.text and 'cache=False' in caplog.text


# ---- bad files through the fast reader

def release(tmp_path, body: bytes, header=b'userId,movieId,rating,timestamp\n', rows=5000):
    "A release whose ratings.csv has `rows` good ratings, then `body` (a bad line), then more good ratings."
    good = b''.join(b'%d,%d,4.0,%d\n' % (u, m, u * 10 + m) for u in range(1, rows // 10 + 1) for m in range(1, 11))
    d = tmp_path/'bad'
    d.mkdir()
    (d/'ratings.csv').write_bytes(header + good + body + b'99999,1,3.0,5\n')
    (d/'movies.csv').write_text('movieId,title,genres\n1,Toy Story (1995),Comedy\n')
    return d


@pytest.mark.parametrize('body,msg', [
    (b'7,x,4.0,1\n', "column 'movie' has non-numeric or empty values, first at row 5000: 'x'"),
    (b'bob,1,4.0,1\n', "column 'user' has non-numeric or empty values, first at row 5000: 'bob'"),
    (b'7,1,NaN,1\n', r'1 rating\(s\) are NaN or not numbers, first at row 5000'),
    (b'7,1,,1\n', r'1 rating\(s\) are NaN or not numbers, first at row 5000'),
    (b'7,1,9.5,1\n', r'1 rating\(s\) outside the scale \(0.5, 5.0\), e.g. 9.5'),
    (b'7,1,4.0,soon\n', "column 'timestamp' has non-numeric or empty values, first at row 5000: 'soon'"),
    (b'7,1\n', r'1 rating\(s\) are NaN or not numbers, first at row 5000'),
    (b'7,1,4,5,6\n', 'malformed table'),
])
def test_bad_values_name_file_and_row(tmp_path, body, msg):
    with pytest.raises(ValueError, match=msg) as e: load_movielens(release(tmp_path, body), cache=False)
    assert 'ratings.csv' in str(e.value)


def test_duplicates_in_an_unsorted_file(tmp_path, caplog):
    d = release(tmp_path, b'3,5,1.5,999999\n3,5,2.5,0\n')
    with caplog.at_level(logging.WARNING): r = load_movielens(d, cache=False).ratings
    assert len(r) == 5001 and r[(r.user == 3) & (r.movie == 5)].rating.tolist() == [1.5]  # the latest wins
    assert '2 duplicate (user, movie) ratings; kept the latest' in caplog.text


def test_corrupt_member_in_a_zip(synth, tmp_path):
    zf = zipfile.ZipFile(synth)
    info = zf.getinfo('ml-tiny/ratings.csv')
    b = bytearray(synth.read_bytes())
    mid = info.header_offset + 100 + info.compress_size // 2
    b[mid:mid + 64] = bytes(64)
    (tmp_path/'bad.zip').write_bytes(b)
    with pytest.raises(ValueError, match=r'bad.zip:ml-tiny/ratings.csv: the archive is corrupt or truncated .*Fetch it again'):
        load_movielens(tmp_path/'bad.zip', cache=True)
    assert not (tmp_path/'bad.zip.cache'/'cache.json').exists()


# ---- a user's own ratings file (issue 17 item 15)

PEAK = r'''
import sys
def hwm(): return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024
from movie_recs.data import read_ratings
base = hwm()
df = read_ratings(sys.argv[1])
print(hwm() - base, df.memory_usage(index=False).sum() / 2**20, len(df))
'''


def test_user_ratings_file_read_in_little_memory(tmp_path):
    "Reading a user's 10M-row ratings file peaked at 2.4 GB (every cell a Python string); now it streams into compact "
    "columns: here 1M rows, under 5x the result above the imports (it was 13x; bench_user_files has 10M rows)."
    import subprocess, sys
    n = 1_000_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame({'user': np.arange(n) // 100 + 1, 'movie': np.arange(n) % 100 * 7 + 1,
                       'rating': rng.integers(1, 11, n) / 2, 'timestamp': rng.integers(0, 2**31, n)})
    df.to_csv(tmp_path/'r.csv', index=False)
    r = subprocess.run([sys.executable, '-c', PEAK, str(tmp_path/'r.csv')], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)  # the package on the path, not whatever the current folder holds
    assert r.returncode == 0, r.stderr
    above, size, rows = map(float, r.stdout.split())
    assert rows == n and above < 5 * size, (above, size)  # about 4x at 1M rows (a fixed part), 1.9x at 10M


@pytest.mark.parametrize('body,msg', [
    (b'7,x,4.0,1\n', "column 'movie' has non-numeric or empty values, first at row 5000: 'x'"),
    (b'7,1.5,4.0,1\n', "column 'movie' holds ids and times as whole numbers; row 5000 has '1.5'"),
    (b'7,1,,1\n', r'1 rating\(s\) are NaN or not numbers, first at row 5000'),
    (b'7,1,9.5,1\n', r'1 rating\(s\) outside the scale \(0.5, 5.0\), e.g. 9.5'),
    (b'7,1,4,5,6\n', 'malformed ratings file'),
    (b'7,3000000000,4.0,1\n', None),  # past 32 bits: kept whole, through the careful reader
])
def test_user_file_bad_row_deep_in_the_file(tmp_path, body, msg):
    "The streaming reader hands anything unusual to the careful one, whose messages name the file and the row."
    d = release(tmp_path, body)
    if msg is None:
        assert data.read_ratings(d/'ratings.csv').movie.max() == 3_000_000_000
        return
    with pytest.raises(ValueError, match=msg) as e: data.read_ratings(d/'ratings.csv')
    assert str(d/'ratings.csv') in str(e.value)
