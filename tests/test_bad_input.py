"Every bad input a user can give names the file and the problem, and nothing already saved is touched."
import logging, zipfile

import pytest

from movie_recs.data import load_movielens, read_ratings
from movie_recs.download import fetch, seed_home
from movie_recs.sources import open_poster, poster_index, read_dbpedia, read_wikipedia

MOVIES = 'movieId,title,genres\n1,Toy Story (1995),Comedy\n'


def release(tmp_path, ratings: bytes, movies: bytes = MOVIES.encode(), name='ratings.csv'):
    d = tmp_path/'rel'; d.mkdir()
    (d/name).write_bytes(ratings); (d/'movies.csv').write_bytes(movies)
    return d


@pytest.mark.parametrize('ratings,msg', [
    (b'', 'ratings.csv: the file is empty'),
    (b'\n\n', 'ratings.csv: the file is empty'),
    (b'userId,movieId,stars\n1,1,4\n', "ratings.csv: missing column(s) ['rating']"),
    (b'userId,movieId,rating\n1,1,\n', 'ratings.csv: 1 rating(s) are NaN or not numbers'),
    (b'userId,movieId,rating\n1,1,NaN\n', 'ratings.csv: 1 rating(s) are NaN or not numbers'),
    (b'userId,movieId,rating\n1,1,five\n', 'ratings.csv: 1 rating(s) are NaN or not numbers'),
    (b'userId,movieId,rating\n1,1,6\n', 'ratings.csv: 1 rating(s) outside the scale (0.5, 5.0)'),
    (b'userId,movieId,rating\n1,1,-1\n', 'ratings.csv: 1 rating(s) outside the scale'),
    (b'userId,movieId,rating\nbob,1,4\n', "ratings.csv: column 'user' has non-numeric"),
    ('userId,movieId,rating\n1,1,4\n'.encode('utf-16'), 'ratings.csv: cannot decode as utf-8'),
])
def test_bad_ratings_csv(tmp_path, ratings, msg):
    with pytest.raises(ValueError) as e: load_movielens(release(tmp_path, ratings))
    assert msg in str(e.value) and str(tmp_path) in str(e.value)


def test_bad_dat_line(tmp_path):
    d = tmp_path/'ml-1m'; d.mkdir()
    (d/'ratings.dat').write_text('1::1::5::978300760\n1::2\n'); (d/'movies.dat').write_text('1::A (1990)::Drama\n')
    with pytest.raises(ValueError, match=r'ratings.dat: 1 rating\(s\) are NaN'): load_movielens(d)


def test_bad_movies(tmp_path):
    with pytest.raises(ValueError, match=r"movies.csv: missing column\(s\) \['title'\]"):
        load_movielens(release(tmp_path, b'userId,movieId,rating\n1,1,4\n', b'movieId,name\n1,x\n'))


def test_duplicates_keep_latest(tmp_path, caplog):
    d = release(tmp_path, b'userId,movieId,rating,timestamp\n1,1,2,200\n1,1,5,100\n1,1,4,300\n')
    with caplog.at_level(logging.WARNING): ml = load_movielens(d)
    assert ml.ratings.rating.tolist() == [4.0]
    assert 'ratings.csv: 2 duplicate (user, movie) ratings; kept the latest' in caplog.text


def test_user_files(tmp_path):
    (tmp_path/'r.csv').write_text('user,item,rating\n1,2,NaN\n')
    with pytest.raises(ValueError, match=r'r.csv: 1 rating\(s\) are NaN'): read_ratings(tmp_path/'r.csv')
    (tmp_path/'e.csv').write_text('')
    with pytest.raises(ValueError, match='e.csv: the file is empty'): read_ratings(tmp_path/'e.csv')
    with pytest.raises(FileNotFoundError, match='nope.csv: no such file'): read_ratings(tmp_path/'nope.csv')


def test_archives_and_names(tmp_path, shared):
    (tmp_path/'cut.zip').write_bytes((shared/'movielens'/'ml-latest-small.zip').read_bytes()[:4000])
    with pytest.raises(ValueError, match='cut.zip: not a readable zip archive'): load_movielens(tmp_path/'cut.zip')
    with zipfile.ZipFile(tmp_path/'other.zip', 'w') as zf: zf.writestr('x/readme.txt', 'hi')
    with pytest.raises(ValueError, match='other.zip: no MovieLens files found'): load_movielens(tmp_path/'other.zip')
    with pytest.raises(KeyError, match="Unknown dataset 'ml-2m'"): fetch('ml-2m', tmp_path)
    with pytest.raises(FileNotFoundError, match='neither a dataset name'): load_movielens('ml-2m')


def test_images_and_folders(tmp_path, shared):
    (tmp_path/'1.jpg').write_bytes(b'')
    (tmp_path/'2.jpg').write_bytes((shared/'posters'/'ml1m-w185'/'1.jpg').read_bytes()[:500])
    for f in ['1.jpg', '2.jpg']:
        with pytest.raises(ValueError, match=f'{f}: unreadable image'): open_poster(tmp_path/f)
    with pytest.raises(FileNotFoundError, match='no such poster folder'): poster_index(tmp_path/'none')
    with pytest.raises(FileNotFoundError, match='no such folder to seed'): seed_home(tmp_path/'none', tmp_path/'h')


def test_link_sources(tmp_path):
    (tmp_path/'wp.ndjson').write_text('["A", {}, [], null, null]\n{not json}\n')
    with pytest.raises(ValueError, match=r'wp.ndjson, line 2: not valid JSON'): read_wikipedia(tmp_path/'wp.ndjson')
    (tmp_path/'empty.ndjson').write_text('\n')
    with pytest.raises(ValueError, match='empty.ndjson: the file is empty'): read_wikipedia(tmp_path/'empty.ndjson')
    with pytest.raises(FileNotFoundError, match='no dbo_<property>.edgelist files'): read_dbpedia(tmp_path)
    (tmp_path/'dbo_director.edgelist').write_text('http://dbpedia.org/resource/A\n')
    with pytest.raises(ValueError, match='dbo_director.edgelist: expected two space-separated URIs'):
        read_dbpedia(tmp_path)


@pytest.mark.parametrize('cache', [False, True])
def test_ids_past_int32_are_kept_whole(tmp_path, cache):
    "An id of 3,000,000,000 once wrapped to -1,294,967,296 (another user); it must stay itself, cached or not."
    (tmp_path/'ratings.csv').write_text('userId,movieId,rating,timestamp\n1,2,3.5,100\n3000000000,5,4.0,200\n'
                                        '3000000000,2,2.0,300\n')
    (tmp_path/'movies.csv').write_text('movieId,title,genres\n2,A (1990),Drama\n5,B (1991),Comedy\n')
    for _ in range(2):  # the second load reads the cache when there is one
        r = load_movielens(tmp_path, cache=cache).ratings
        assert r.user.tolist() == [1, 3_000_000_000, 3_000_000_000] and r.user.dtype == 'int64'
    from movie_recs.evaluation import MostPopular
    recs = MostPopular().fit(r).recommend(3_000_000_000, exclude_seen=False)
    assert recs.user.unique().tolist() == [3_000_000_000] and recs.movie.tolist() == [2, 5]


def test_fractional_ids_are_an_error(tmp_path):
    (tmp_path/'r.csv').write_text('user,item,rating\n1,2,3.5\n1.5,3,4\n')
    with pytest.raises(ValueError, match=r"r.csv: column 'user' holds ids .* row 1 has '1.5'"): read_ratings(tmp_path/'r.csv')
