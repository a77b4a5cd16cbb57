"The installed `movie_recs` command, run as a user would, on the local copy of the official data."
import json, os, re, shutil, subprocess, sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent/'movie_recs'
ROWS = ['movie', 'title', 'score', 'rank']  # the keys of every --json row that names a movie


def run(*args, home, **env):
    env = {**os.environ, 'MOVIE_RECS_HOME': str(home), **env}
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, env=env, timeout=600)


def py(code, **env):
    "Run `code` in a fresh interpreter; its stdout."
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope='module')
def home(tmp_path_factory, shared, ml10m_mirror):
    "A data home seeded once from the local copy, plus ml-10m (its movies and tags) fetched from a local mirror."
    h = tmp_path_factory.mktemp('cli')/'home'
    r = run('data', 'seed', shared, home=h)
    assert r.returncode == 0 and 'ml-latest-small' in r.stdout, r.stderr
    r = run('data', 'fetch', 'ml-10m', home=h, MOVIE_RECS_MIRROR=ml10m_mirror)  # what `train links` takes tags from
    assert r.returncode == 0 and (Path(r.stdout.strip())/'ml-10M100K'/'tags.dat').exists(), r.stderr
    return h


@pytest.fixture
def offline(tmp_path):
    "Environment of a machine without the network: every download goes to a mirror that does not exist."
    return {'MOVIE_RECS_MIRROR': (tmp_path/'no-such-mirror').as_uri()}


@pytest.fixture(scope='module')
def mf(home, tmp_path_factory):
    "A matrix factorisation trained for one epoch on ml-latest-small."
    out = tmp_path_factory.mktemp('mf')/'mf'
    r = run('train', 'collab', '--model', 'mf', '--epochs', '1', '--out', out, home=home)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


@pytest.fixture(scope='module')
def links_run(home, tmp_path_factory):
    "`train links` of ml-latest-small's movies for a few epochs: (the model folder, the finished command)."
    out = tmp_path_factory.mktemp('links')/'links'
    r = run('train', 'links', '--out', out, '--epochs', '5', home=home)
    assert r.returncode == 0, r.stderr[-3000:]
    return out, r


@pytest.fixture(scope='module')
def links(links_run):
    "Link embeddings of ml-latest-small's movies, trained for a few epochs."
    return links_run[0]


# --- starting fast --------------------------------------------------------------------------------------------------

def test_help_and_import_load_no_model_library():
    "`import movie_recs.cli` and `--help` import none of torch, fastai, torchvision; so does `import movie_recs`."
    out = py("import sys, contextlib, io\nimport movie_recs\nfrom movie_recs.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()): code = main(['--help'])\n"
             "print(code, sorted(m for m in ('torch', 'fastai', 'torchvision') if m in sys.modules))")
    assert out.split() == ['0', '[]'], out


def test_package_load_is_lazy(tmp_path):
    out = py("import sys, movie_recs\n"
             "try: movie_recs.load(sys.argv[0])\n"
             "except FileNotFoundError as e: print('not a saved model folder' in str(e) or 'no such' in str(e))\n"
             "print('torch' in sys.modules)")
    assert out.split() == ['True', 'False'], out


def test_python_dash_m(home):
    r = subprocess.run([sys.executable, '-m', 'movie_recs', '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and 'taste' in r.stdout and 'usage: movie_recs' in r.stdout, r.stderr
    r = subprocess.run([sys.executable, '-m', 'movie_recs', 'data', 'info', 'ml-typo'], capture_output=True, text=True,
                       env={**os.environ, 'MOVIE_RECS_HOME': str(home)})
    assert r.returncode == 2 and 'neither a dataset name' in r.stderr


# --- data -----------------------------------------------------------------------------------------------------------

def test_info_json(home, shared):
    for what in ['ml-latest-small', shared/'movielens'/'ml-latest-small.zip']:
        r = run('data', 'info', what, '--json', home=home)
        info = json.loads(r.stdout)
        assert (info['ratings'], info['users'], info['movies']) == (100836, 610, 9724)
        assert all(isinstance(info[k], int) for k in ['ratings', 'users', 'movies'])


def test_info_summary_is_kept_and_needs_no_pandas(home):
    first = run('data', 'info', 'ml-latest-small', '--json', home=home).stdout
    assert (home/'downloads'/'ml-latest-small'/'info.json').is_file()
    code = ("import sys; from movie_recs.cli import main; main(['data', 'info', 'ml-latest-small', '--json']); "
            "print([m for m in ('pandas', 'numpy', 'torch') if m in sys.modules])")
    out = py(code, MOVIE_RECS_HOME=str(home)).splitlines()
    assert json.loads(out[0]) == json.loads(first) and out[1] == '[]', out
    zip_ = home/'downloads'/'ml-latest-small'/'ml-latest-small.zip'
    os.utime(zip_, ns=(zip_.stat().st_atime_ns, zip_.stat().st_mtime_ns + 10**9))  # the archive changed: recount
    out = py(code, MOVIE_RECS_HOME=str(home)).splitlines()
    assert json.loads(out[0]) == json.loads(first) and 'pandas' in out[1], out


def test_info_text_and_folder(home, shared, tmp_path):
    folder = tmp_path/'ml1m'
    shutil.copytree(shared/'movielens'/'ml-1m-meta', folder)
    r = run('data', 'info', folder, home=home)
    assert r.returncode == 0 and 'ratings' in r.stdout and str(folder) in r.stdout


def test_fetch_is_a_cache_hit(home):
    r = run('data', 'fetch', 'ml-latest-small', home=home)
    assert r.returncode == 0 and Path(r.stdout.strip()).joinpath('ml-latest-small', 'ratings.csv').exists(), r.stdout
    assert 'cached' in run('data', 'list', home=home).stdout


@pytest.mark.parametrize('args,msg', [(['data', 'info', 'ml-typo'], 'neither a dataset name'),
                                      (['data', 'fetch', 'ml-lates-small'], "Did you mean 'ml-latest-small'"),
                                      (['data', 'seed', '/nonexistent'], 'no such folder'),
                                      (['train', 'collab', '--out', 'x', '--model', 'mff'], "Unknown model kind 'mff'"),
                                      (['train', 'collab', '--out', 'x', '--param', 'n_factors'], 'NAME=VALUE'),
                                      (['similar', '--model', '/nonexistent/model', '--movie', '1'], 'no such model'),
                                      (['recommend', '--model', 'mf'], '--user ID'),
                                      (['taste', '--model', '/nonexistent/model'], '--like')])
def test_errors(home, args, msg):
    r = run(*args, home=home)
    assert msg in r.stdout + r.stderr
    assert r.returncode == 2 and 'Traceback' not in r.stderr


def test_bad_file(home, tmp_path):
    (tmp_path/'bad').mkdir()
    (tmp_path/'bad'/'ratings.csv').write_text('userId,movieId,rating\n1,2,9\n')
    (tmp_path/'bad'/'movies.csv').write_text('movieId,title,genres\n2,A (2000),Drama\n')
    r = run('data', 'info', tmp_path/'bad', home=home)
    assert r.returncode == 2 and 'ratings.csv: 1 rating(s) outside the scale' in r.stderr


def test_evaluate_files(home, tmp_path):
    (tmp_path/'test.csv').write_text('user,item,rating\n1,10,4\n1,11,2\n2,10,5\n')
    (tmp_path/'p.csv').write_text('user,item,prediction\n1,10,3.5\n1,11,2.5\n2,10,4\n')
    (tmp_path/'r.csv').write_text('user,item,rank\n1,10,1\n1,12,2\n2,13,1\n2,10,2\n')
    r = run('evaluate', '--test', tmp_path/'test.csv', '--predictions', tmp_path/'p.csv', '--recommendations',
            tmp_path/'r.csv', '-k', '2', '--json', home=home)
    res = json.loads(r.stdout)
    assert abs(res['rmse'] - ((0.25 + 0.25 + 1) / 3) ** 0.5) < 1e-9 and res['hit_rate'] == 1.0
    (tmp_path/'bad.csv').write_text('user,item,score\n1,10,3\n')
    r = run('evaluate', '--test', tmp_path/'test.csv', '--predictions', tmp_path/'bad.csv', home=home)
    assert r.returncode == 2 and "bad.csv: missing column(s) ['prediction']" in r.stderr


def test_evaluate_names_one_column(home, tmp_path):
    "`evaluate --test` help said `item` while its error asked for `movie`: both say movie (item is read as movie)."
    r = run('evaluate', '--help', home=home)
    assert 'test ratings: user,movie,rating[,timestamp]' in r.stdout and 'user,movie,prediction' in r.stdout, r.stdout
    (tmp_path/'test.csv').write_text('user,film,rating\n1,10,4\n')
    (tmp_path/'p.csv').write_text('user,movie,prediction\n1,10,4\n')
    r = run('evaluate', '--test', tmp_path/'test.csv', '--predictions', tmp_path/'p.csv', home=home)
    assert r.returncode == 2 and "missing column(s) ['movie']" in r.stderr, r.stderr
    (tmp_path/'test.csv').write_text('user,item,rating\n1,10,4\n')
    assert run('evaluate', '--test', tmp_path/'test.csv', '--predictions', tmp_path/'p.csv', home=home).returncode == 0


# --- issue 18: one evaluation protocol, and the README's example from the shell alone ------------------------------

def readme_commands(start):
    "The README's shell lines that begin with `start`, without their comments."
    readme = (Path(__file__).resolve().parents[1]/'README.md').read_text()
    return [line.split('  #')[0].split() for line in readme.splitlines() if line.startswith(start)]


def test_data_split_writes_the_fixed_split(home, tmp_path):
    "`data split` writes the demo's fixed split; the test ratings train.csv does not know are dropped and counted."
    r = run('data', 'split', 'ml-latest-small', '--out', tmp_path/'s', home=home)
    assert r.returncode == 0, r.stderr
    assert '(80,669 ratings)' in r.stdout and '(19,369 ratings)' in r.stdout and '798 test ratings' in r.stdout, r.stdout
    train, test = [(tmp_path/'s'/f).read_text().splitlines() for f in ('train.csv', 'test.csv')]
    assert train[0] == test[0] == 'user,movie,rating,timestamp' and (len(train), len(test)) == (80_670, 19_370)
    movies = (tmp_path/'s'/'movies.csv').read_text().splitlines()  # the catalogue, for `predict --movies`
    assert movies[:2] == ['movieId,title,genres', '1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy']
    assert len(movies) == 9_743 and '(9,742 movies, for --movies)' in r.stdout, r.stdout
    again = run('data', 'split', 'ml-latest-small', '--out', tmp_path/'t', '--seed', '42', home=home)
    assert (tmp_path/'t'/'test.csv').read_text() == (tmp_path/'s'/'test.csv').read_text(), again.stderr
    r = run('data', 'split', 'ml-latest-small', '--out', tmp_path/'u', '--how', 'diagonal', home=home)
    assert r.returncode == 2 and "invalid choice: 'diagonal' (choose from" in r.stderr, r.stderr


def test_evaluate_train_drops_what_training_does_not_know(home, tmp_path):
    "Given --train, a test rating of a movie the training data lacks is dropped and counted, as evaluate() does."
    (tmp_path/'train.csv').write_text('user,movie,rating\n1,10,4\n2,11,3\n')
    (tmp_path/'test.csv').write_text('user,movie,rating\n1,11,4\n2,10,2\n1,12,5\n3,10,1\n')
    (tmp_path/'p.csv').write_text('user,movie,prediction\n1,11,3\n2,10,3\n1,12,3\n3,10,3\n')
    r = run('evaluate', '--test', tmp_path/'test.csv', '--train', tmp_path/'train.csv', '--predictions',
            tmp_path/'p.csv', '--json', home=home)
    res = json.loads(r.stdout)
    assert (res['predictions'], res['cold_test_ratings'], res['cold_test_users']) == (2, 2, 1), res
    assert abs(res['rmse'] - 1.0) < 1e-9, res


def test_readme_predict_evaluate_reproduces_its_number(home, tmp_path):
    "The README's split, predict and evaluate lines, run as written, print the RMSE their comment advertises."
    lines = readme_commands('movie_recs data split') + readme_commands('movie_recs predict') + \
        readme_commands('movie_recs evaluate')
    assert [l[:2] for l in lines] == [['movie_recs', 'data'], ['movie_recs', 'predict'], ['movie_recs', 'evaluate']]
    readme = (Path(__file__).resolve().parents[1]/'README.md').read_text()
    advertised = re.search(r'movie_recs evaluate .*# rmse (\d\.\d+)', readme).group(1)
    for line in lines:
        env = {**os.environ, 'MOVIE_RECS_HOME': str(home)}
        r = subprocess.run([str(EXE), *line[1:]], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
        assert r.returncode == 0, (line, r.stderr[-3000:])
    got = dict(l.split()[:2] for l in r.stdout.splitlines())
    assert f"{float(got['rmse']):.{len(advertised) - 2}f}" == advertised, (got, advertised)
    assert got['predictions'] == '19,369', got


def test_seed_refuses_a_file_and_an_empty_folder(home, shared, tmp_path):
    "`data seed file.zip` said 'no such folder'; `data seed EMPTY` exited 0 having seeded nothing: both are errors."
    r = run('data', 'seed', shared/'movielens'/'ml-latest-small.zip', home=tmp_path/'h')
    assert r.returncode == 2 and 'ml-latest-small.zip: a file, not a folder' in r.stderr, r.stderr
    assert f"movie_recs data seed {shared/'movielens'}" in r.stderr, r.stderr
    (tmp_path/'empty').mkdir()
    r = run('data', 'seed', tmp_path/'empty', home=tmp_path/'h')
    assert r.returncode == 2 and 'no official files found, nothing was seeded' in r.stderr, r.stderr


def test_predictions_stay_on_the_rating_scale(home, tmp_path):
    """A model can predict beyond the training ratings' scale (biases of a generous user and a loved movie: above 5.0);
    `predict` writes such a rating as the end of the scale, which is never further from the truth."""
    import pandas as pd
    from movie_recs.evaluation import Biases
    rows = [(u, i, 3.0) for u in range(1, 21) for i in range(1, 21)] + [(21, i, 5.0) for i in range(1, 21)]
    rows += [(u, 21, 5.0) for u in range(1, 21)]  # user 21 rates everything 5, and everyone rates movie 21 5
    train = pd.DataFrame(rows, columns=['user', 'movie', 'rating'])
    pairs = pd.DataFrame({'user': [21, 1], 'movie': [21, 1]})
    pairs.to_csv(tmp_path/'pairs.csv', index=False)
    model = Biases().fit(train)
    model.save(tmp_path/'biases')
    raw = model.predict(pairs.user, pairs.movie)
    assert raw.max() > 6.0, raw
    r = run('predict', '--model', tmp_path/'biases', '--test', tmp_path/'pairs.csv', '--out', tmp_path/'p.csv', home=home)
    assert r.returncode == 0, r.stderr[-2000:]
    p = pd.read_csv(tmp_path/'p.csv')
    assert p.prediction.tolist()[0] == 5.0 and p.prediction.between(3.0, 5.0).all(), p


def test_similar_has_one_layout_for_every_kind(home, mf, links):
    "`similar` printed different layouts for the two model families: now movie, title, score, rank for both."
    for model in [mf, links]:
        r = run('similar', '--model', model, '--movie', 'Toy Story (1995)', '-n', '3', home=home)
        assert r.stdout.splitlines()[0].split() == ROWS and len(r.stdout.splitlines()) == 4, (model, r.stdout)


# --- bugs of issue 11 -----------------------------------------------------------------------------------------------

def test_home_flag_reaches_train(home, tmp_path, offline):
    "`--home DIR train collab` used to ignore --home and download into the default home: here that home is empty and "
    "offline, so only the --home data can make the run succeed (before or after the sub-command)."
    empty = tmp_path/'empty'
    r = run('--home', home, 'train', 'collab', '--model', 'mf', '--epochs', '1', '--out', tmp_path/'a', home=empty,
            **offline)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((tmp_path/'a'/'model.json').read_text())['kind'] == 'mf'
    r = run('train', 'links', '--epochs', '1', '--out', tmp_path/'b', '--home', home, home=empty, **offline)
    assert r.returncode == 0, r.stderr[-3000:]
    assert not (empty/'downloads').exists()


def test_offline_demo_says_how_to_seed(tmp_path, offline):
    "Offline on an empty data home, `demo` used to say only 'download failed ... check the URL or network'."
    r = run('demo', '--quick', '--out', tmp_path/'report', home=tmp_path/'empty', **offline)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert 'download failed' in r.stderr and 'movie_recs data seed FOLDER' in r.stderr, r.stderr


def test_json_has_one_shape_for_every_kind(home, mf, links):
    "`--json` used to give an object for a links model and a bare list for a rating model: now rows for both."
    for model in [mf, links]:
        r = run('similar', '--model', model, '--movie', 'Toy Story (1995)', '-n', '3', '--json', home=home)
        rows = json.loads(r.stdout)
        assert [list(row) for row in rows] == [ROWS] * 3, (model, r.stdout, r.stderr[-2000:])
        assert 1 not in [row['movie'] for row in rows] and [row['rank'] for row in rows] == [1, 2, 3]
        r = run('taste', '--model', model, '--like', 'Toy Story (1995)', '--like', 'Finding Nemo (2003)',
                '--dislike', 'Saw (2004)', '-n', '5', '--json', home=home)
        rows = json.loads(r.stdout)
        assert [list(row) for row in rows] == [ROWS] * 5, (model, r.stdout, r.stderr[-2000:])
        assert not {1, 6377} & {row['movie'] for row in rows}, 'the liked movies are not recommended back'
    rows = json.loads(run('recommend', '--model', mf, '--user', '1', '-n', '4', '--json', home=home).stdout)
    assert [list(row) for row in rows] == [['user'] + ROWS] * 4 and {row['user'] for row in rows} == {1}


def test_links_similar_links_and_titles(home, links):
    r = run('similar', '--model', links, '--link', 'George Lucas', '-n', '3', '--json', home=home)
    rows = json.loads(r.stdout)
    assert len(rows) == 3 and {'link', 'score', 'rank'} <= set(rows[0]), r.stdout + r.stderr
    r = run('similar', '--model', links, '--movie', 'star wars', home=home)
    assert r.returncode == 2 and 'Star Wars: Episode IV - A New Hope (1977)' in r.stderr and 'Traceback' not in r.stderr
    r = run('recommend', '--model', links, '--user', '1', home=home)
    assert r.returncode == 2 and 'ranks=False' in r.stderr, r.stderr


# --- issue 15: link embeddings a movie fan trusts -------------------------------------------------------------------

PERSON = {'starring', 'director', 'writer', 'producer', 'musicComposer', 'cinematography', 'editing'}
COVERAGE = (r'^links: ([\d,]+) of 9,742 movies have links beyond genres \(people, companies, pages, (\S+) tags\) and are in '
            r'the model; ([\d,]+) have only genres and are left out \(similar answers them with --fallback\)')


def test_similar_links_of_one_kind(home, links):
    "`similar --link NAME --kind person` gives only people; an unknown kind lists the kinds; --kind needs --link."
    r = run('similar', '--model', links, '--link', 'George Lucas', '--kind', 'person', '-n', '8', '--json', home=home)
    rows = json.loads(r.stdout)
    assert len(rows) == 8 and all(PERSON & set(row['kinds'].split(', ')) for row in rows), r.stdout + r.stderr
    rows = json.loads(run('similar', '--model', links, '--link', 'George Lucas', '--kind', 'tag', '--json', home=home).stdout)
    assert rows and all(row['kinds'] == 'tag' for row in rows), rows
    r = run('similar', '--model', links, '--link', 'George Lucas', '--kind', 'bogus', home=home)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    assert "movie_recs: error: Unknown link kind 'bogus': use person, company, page, tag, genre" in r.stderr, r.stderr
    r = run('similar', '--model', links, '--movie', 'Toy Story (1995)', '--kind', 'person', home=home)
    assert r.returncode == 2 and '--link' in r.stderr and 'give --link NAME too' in r.stderr, r.stderr
    assert '--kind KIND' in run('similar', '--help', home=home).stdout


def test_similar_genre_only_movie_and_fallback(home, links, mf):
    "A movie with only genre links is refused without --fallback, and answered by the --fallback model with it, said on stderr."
    from movie_recs.core import load
    movie = int(load(links).genre_only[0])
    r = run('similar', '--model', links, '--movie', movie, home=home)
    assert r.returncode == 2 and 'only genre links' in r.stderr and '--fallback DIR' in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr and not r.stdout, r.stderr
    r = run('similar', '--model', links, '--movie', movie, '--fallback', mf, '-n', '4', home=home)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert lines[0].split() == ROWS and len(lines) == 5, r.stdout
    assert f'(movie {movie})' not in r.stderr and f'has only genre links; its neighbours come from the mf model in {mf}' in r.stderr
    assert len(r.stderr.splitlines()) == 1, 'the answered-by line is said once'
    r = run('similar', '--model', links, '--movie', movie, '--fallback', mf, '-n', '4', '--json', home=home)
    assert [list(row) for row in json.loads(r.stdout)] == [ROWS] * 4 and 'mf model' in r.stderr, r.stdout
    r = run('similar', '--model', mf, '--movie', movie, '--fallback', mf, home=home)
    assert r.returncode == 2 and '--fallback is for a link-embedding model' in r.stderr, r.stderr
    r = run('similar', '--model', links, '--movie', movie, '--fallback', '/nonexistent/model', home=home)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr


def test_train_links_says_its_coverage(links_run):
    "`train links` says how many movies it learned from links and how many it left out, as the saved model has them."
    from movie_recs.core import load
    out, r = links_run
    m, got = load(out), re.match(COVERAGE, r.stdout)
    assert got and got.group(2) == 'ml-10m', r.stdout  # the default tags, in the data home already: nothing fetched
    assert (int(got.group(1).replace(',', '')), int(got.group(3).replace(',', ''))) == (len(m.movies), len(m.genre_only))
    assert r.stdout.splitlines()[-1].startswith('saved LinkEmbeddings('), r.stdout
    assert 'fetching' not in r.stderr, r.stderr


def test_train_links_tags_of_another_release(home, shared, links_run, tmp_path):
    "`--tags` takes a registry name or a MovieLens zip; the catalogue's own tags teach fewer movies than ml-10m's "
    "(the default); a release without tags is refused."
    r = run('train', 'links', '--tags', 'ml-latest-small', '--epochs', '1', '--out', tmp_path/'s', home=home)
    assert r.returncode == 0, r.stderr[-3000:]
    got, default = re.match(COVERAGE, r.stdout), re.match(COVERAGE, links_run[1].stdout)
    assert got and got.group(2) == 'ml-latest-small', r.stdout
    assert int(got.group(1).replace(',', '')) < int(default.group(1).replace(',', '')), (got.group(0), default.group(0))
    zip_ = shared/'movielens'/'ml-10M100K-movies-tags.zip'
    r = run('train', 'links', '--tags', zip_, '--epochs', '1', '--out', tmp_path/'l', home=home)
    assert r.returncode == 0, r.stderr[-3000:]
    got = re.match(COVERAGE, r.stdout)
    assert got and got.group(2) == zip_.name and got.group(1) == default.group(1), (got.group(0), default.group(0))
    r = run('train', 'links', '--tags', shared/'movielens'/'ml-1m-meta', '--out', tmp_path/'m', home=home)
    assert r.returncode == 2 and 'this release has no tags' in r.stderr and not (tmp_path/'m').exists(), r.stderr


def test_train_links_fetches_its_default_tags_once(shared, ml10m_mirror, tmp_path, offline):
    "On a data home without ml-10m, `train links` fetches it (saying so on stderr, stdout stays the answer); offline, "
    "it stops before training and names both fixes: fetching or seeding ml-10m, or `--tags` with the catalogue."
    home = tmp_path/'home'
    assert run('data', 'seed', shared, home=home).returncode == 0
    r = run('train', 'links', '--epochs', '1', '--out', tmp_path/'off', home=home, **offline)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert 'download failed' in r.stderr and 'pass --tags ml-latest-small' in r.stderr, r.stderr
    assert not (tmp_path/'off').exists() and not (home/'downloads'/'ml-10m'/'ml-10m.zip').exists()
    r = run('train', 'links', '--epochs', '1', '--out', tmp_path/'on', home=home, MOVIE_RECS_MIRROR=ml10m_mirror)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'fetching ml-10m once' in r.stderr and re.match(COVERAGE, r.stdout).group(2) == 'ml-10m', (r.stdout, r.stderr)
    assert (home/'downloads'/'ml-10m'/'ml-10m.zip').exists() and (tmp_path/'on'/'model.json').exists()


def test_predict_needs_a_rating_model(home, tmp_path, mf):
    "A command that needs an ability the model lacks says so, before any training, with exit status 2."
    (tmp_path/'r.csv').write_text('user,item,rating\n1,1,4\n1,2,3\n2,1,5\n2,3,2\n')
    r = run('predict', '--model', 'topn', '--train', tmp_path/'r.csv', '--test', tmp_path/'r.csv', '--out',
            tmp_path/'p.csv', home=home)
    assert r.returncode == 2 and 'cannot predict ratings (predicts_ratings=False)' in r.stderr, r.stderr
    assert not (tmp_path/'p.csv').exists()
    (tmp_path/'pairs.csv').write_text('user,item\n1,1\n1,3114\n999999,1\n')
    r = run('predict', '--model', mf, '--test', tmp_path/'pairs.csv', '--out', tmp_path/'p.csv', home=home)
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'p.csv').read_text().splitlines()[0] == 'user,movie,prediction'


def test_recommend_csv_for_evaluate(home, tmp_path):
    "A kind fitted on --train recommends for every user, seen movies excluded, in the CSV `evaluate` reads."
    (tmp_path/'r.csv').write_text('user,item,rating\n' + ''.join(f'{u},{i},{1 + (u * i) % 5}\n' for u in range(1, 21)
                                                               for i in range(1, 31) if (u + i) % 3))
    r = run('recommend', '--model', 'topn', '--train', tmp_path/'r.csv', '--users', 'all', '-n', '3', '--out',
            tmp_path/'recs.csv', home=home)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [line.split(',') for line in (tmp_path/'recs.csv').read_text().splitlines()]
    assert rows[0] == ['user', 'movie', 'score', 'rank'] and len({u for u, *_ in rows[1:]}) == 20
    assert all((int(u) + int(i)) % 3 == 0 for u, i, *_ in rows[1:]), 'a rated movie was recommended'


def test_train_hybrid_and_taste(home, tmp_path):
    r = run('train', 'hybrid', '--param', 'links=false', '--param', 'posters=false', '--out', tmp_path/'h', home=home)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((tmp_path/'h'/'model.json').read_text())['kind'] == 'hybrid'
    r = run('taste', '--model', tmp_path/'h', '--like', 'Toy Story (1995)', '-n', '3', '--json', home=home)
    assert [list(row) for row in json.loads(r.stdout)] == [ROWS] * 3, r.stderr[-2000:]


def test_demo_quick_writes_the_report(home, tmp_path):
    "The README's main job (quick version): the data, the comparison table, then the report."
    r = run('demo', '--quick', '--out', tmp_path/'report', home=home)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'ml-latest-small' in r.stdout and str(tmp_path/'report'/'report.html') in r.stdout
    assert '<img' in (tmp_path/'report'/'report.html').read_text()


def test_demo_models_and_steps(home, tmp_path):
    "`demo --models` runs only those; each step is named on its line (no bar characters in a log); warnings go to a file."
    r = run('demo', '--models', 'most-popular,mf', '--out', tmp_path/'r', home=home)
    assert r.returncode == 0, r.stderr[-3000:]
    steps = [l.split(': fitted')[0] for l in r.stdout.splitlines() if ': fitted and scored in ' in l]
    assert steps == ['1/2 mf: rating split', '2/2 most popular: top-N split'], r.stdout
    lines = r.stdout.splitlines()
    head = next(i for i, l in enumerate(lines) if l.split()[:2] == ['rmse', 'mae'])
    assert [l.split()[0] for l in lines[head + 1:head + 3]] == ['most', 'mf'] and 'biases' not in r.stdout, r.stdout
    assert '█' not in r.stdout + r.stderr and (tmp_path/'r'/'demo.log').is_file()
    assert 'Cold start' not in (tmp_path/'r'/'report.html').read_text(), 'no content model chosen: no content work'
    r = run('demo', '--models', 'mf,svd', '--out', tmp_path/'bad', home=home)
    assert r.returncode == 2 and "unknown demo model(s) 'svd'; choose from: global-mean, biases," in r.stderr, r.stderr
    assert not (tmp_path/'bad').exists(), 'refused before anything was trained or written'


def test_demo_bar_names_the_step_on_a_terminal(home, tmp_path):
    "On a terminal a model's epoch bar carries the step's name, and each step is named in a line when done."
    cmd = f"{EXE} demo --models mf --out {tmp_path/'r'}"
    r = subprocess.run(['script', '-qec', cmd, '/dev/null'], capture_output=True, text=True, timeout=600,
                       env={**os.environ, 'MOVIE_RECS_HOME': str(home), 'COLUMNS': '160'})
    assert r.returncode == 0, r.stdout[-3000:]
    assert '1/1 mf: rating split |' in r.stdout and '1/1 mf: rating split: fitted and scored in ' in r.stdout, r.stdout


def test_demo_help_gives_the_duration(home):
    r = run('demo', '--help', home=home)
    assert re.search(r'It takes about [\d.]+ min on two cores.*\(--quick: about [\d.]+ min\)', ' '.join(r.stdout.split())), r.stdout


@pytest.fixture
def tiny_release(tmp_path):
    "A three-movie release in the ml-latest-small layout: one movie TMDB has a poster of, one without, one without id."
    d = tmp_path/'tiny'
    d.mkdir()
    (d/'movies.csv').write_text('movieId,title,genres\n1,Toy Story (1995),Animation\n2,Jumanji (1995),Adventure\n'
                                '3,Heat (1995),Action\n')
    (d/'ratings.csv').write_text('userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,3.0,2\n2,3,5.0,3\n')
    (d/'links.csv').write_text('movieId,imdbId,tmdbId\n1,114709,862\n2,113497,8844\n3,113277,\n')
    (d/'tags.csv').write_text('userId,movieId,tag,timestamp\n')
    return d


def test_data_fetch_posters(server, shared, tiny_release, tmp_path):
    "`data fetch posters`: TMDB posters of a release's movies (key from TMDB_API_KEY), failures listed, a rerun resumes."
    from conftest import reply
    url, _, routes, requests = server
    jpg = (shared/'posters'/'ml1m-w185'/'1.jpg').read_bytes()
    routes['/3/configuration'] = reply(json.dumps({'images': {'secure_base_url': f'{url}/t/p/'}}).encode())
    routes['/3/movie/862'] = reply(json.dumps({'id': 862, 'poster_path': '/toy.jpg'}).encode())
    routes['/3/movie/8844'] = reply(json.dumps({'id': 8844, 'poster_path': None}).encode())
    routes['/t/p/w185/toy.jpg'] = reply(jpg)
    home, args = tmp_path/'home', ['data', 'fetch', 'posters', '--movies', tiny_release, '--api-url', f'{url}/3']
    r = run(*args, home=home, TMDB_API_KEY='secret-key')
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"1 posters fetched into {home/'posters'} (0 were there already, 2 failed: run the command again" in r.stdout
    assert '  movie 2 (TMDB 8844): TMDB has no poster for this movie' in r.stdout, r.stdout
    assert '  movie 3 (TMDB <NA>): no TMDB id' in r.stdout and 'secret-key' not in r.stdout, r.stdout
    assert (home/'posters'/'1.jpg').read_bytes() == jpg
    n = len(requests)
    r = run(*args, home=home, TMDB_API_KEY='secret-key')
    assert '0 posters fetched' in r.stdout and '(1 were there already, 2 failed' in r.stdout, r.stdout
    assert not any(q.startswith(('/3/movie/862', '/t/p/')) for q in requests[n:]), 'a poster on disk is not fetched again'
    r = run(*args, home=home, TMDB_API_KEY='')
    assert r.returncode == 2 and 'TMDB_API_KEY' in r.stderr, r.stderr


def test_train_posters_defaults_to_the_release_the_user_has(tmp_path):
    "Without ml-1m in the data home, `train posters` labels the posters with ml-latest-small's genres, not ml-1m's."
    from movie_recs.cli import _poster_release
    assert _poster_release(tmp_path/'empty') == 'ml-latest-small'
    folder = tmp_path/'h'/'downloads'/'ml-1m'
    folder.mkdir(parents=True)
    (folder/'ml-1m.zip').write_bytes(b'')
    assert _poster_release(tmp_path/'h') == 'ml-1m'


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory, home):
    "A small synthetic release in the ml-25m layout, written by `movie_recs data synth`."
    path = tmp_path_factory.mktemp('synth')/'ml-synth-30k.zip'
    r = run('data', 'synth', '--ratings', '30k', '--seed', '3', '--out', path, home=home)
    assert r.returncode == 0, r.stderr[-2000:]
    return path


def test_demo_on_a_synthetic_archive(home, synthetic, tmp_path):
    "`demo --data PATH` runs on any release; with too little memory every model is left out up front, with the reason."
    r = run('demo', '--quick', '--data', synthetic, '--out', tmp_path/'report', home=home)
    assert r.returncode == 0, r.stderr[-2000:]
    assert '30,000' in r.stdout and 'ml-synth-30k' in (tmp_path/'report'/'report.html').read_text()
    assert '\nmf ' in r.stdout and 'skipped mf' not in r.stdout, r.stdout
    # the synthetic movies share no ids with the DBpedia links of the ML-1M movies: the report says so, and goes on
    assert 'skipped DBpedia links' not in r.stdout or 'match too few' in r.stdout, r.stdout
    r = run('demo', '--quick', '--data', synthetic, '--out', tmp_path/'small', home=home, MOVIE_RECS_MEMORY='1M')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'skipped mf: MF (\'mf\') on' in r.stdout and 'more than the 1.0 MB set by MOVIE_RECS_MEMORY' in r.stdout
    assert 'Models left out, and why' in (tmp_path/'small'/'report.html').read_text()


def test_train_refuses_up_front_when_memory_is_short(home, synthetic, tmp_path):
    r = run('train', 'collab', '--data', synthetic, '--model', 'mf', '--out', tmp_path/'m', home=home,
            MOVIE_RECS_MEMORY='1M')
    assert r.returncode == 2 and 'more than the 1.0 MB set by MOVIE_RECS_MEMORY' in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'m').exists()


@pytest.fixture(scope='module')
def few_posters(shared, tmp_path_factory):
    "300 posters of the local copy, enough to train the poster CNN for an epoch in seconds."
    folder = tmp_path_factory.mktemp('posters')
    for f in sorted((shared/'posters'/'ml1m-w185').glob('*.jpg'))[:300]: shutil.copyfile(f, folder/f.name)
    return folder


def test_train_posters_similar_and_features(home, shared, few_posters, tmp_path):
    r = run('train', 'posters', '--data', few_posters, '--movies', shared/'movielens'/'ml-1m-meta', '--epochs', '1',
            '--param', 'size=64', '--out', tmp_path/'cnn', home=home)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads(run('similar', '--model', tmp_path/'cnn', '--movie', '1', '-n', '3', '--json', home=home).stdout)
    assert [list(row) for row in rows] == [ROWS] * 3, 'a poster model answers in the same shape as every other kind'
    r = run('features', '--posters', few_posters, '--out', tmp_path/'hist.npz', home=home)
    assert r.returncode == 0 and '300 posters' in r.stdout, r.stderr[-3000:]
