"The installed `movie_recs` command, run as a user would, on the local copy of the official data."
import json, os, shutil, subprocess, sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent/'movie_recs'


def run(*args, home):
    env = {**os.environ, 'MOVIE_RECS_HOME': str(home)}
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def home(tmp_path, shared):
    r = run('data', 'seed', shared, home=tmp_path/'home')
    assert r.returncode == 0 and 'ml-latest-small' in r.stdout, r.stderr
    return tmp_path/'home'


def test_info_json(home, shared):
    for what in ['ml-latest-small', shared/'movielens'/'ml-latest-small.zip']:
        r = run('data', 'info', what, '--json', home=home)
        info = json.loads(r.stdout)
        assert (info['ratings'], info['users'], info['movies']) == (100836, 610, 9724)
        assert all(isinstance(info[k], int) for k in ['ratings', 'users', 'movies'])


def test_info_text_and_folder(home, shared, tmp_path):
    folder = tmp_path/'ml1m'; shutil.copytree(shared/'movielens'/'ml-1m-meta', folder)
    r = run('data', 'info', folder, home=home)
    assert r.returncode == 0 and 'ratings' in r.stdout and str(folder) in r.stdout


def test_fetch_is_a_cache_hit(home):
    r = run('data', 'fetch', 'ml-latest-small', home=home)
    assert r.returncode == 0 and Path(r.stdout.strip()).joinpath('ml-latest-small', 'ratings.csv').exists()
    assert 'cached' in run('data', 'list', home=home).stdout


@pytest.mark.parametrize('args,msg', [(['data', 'info', 'ml-typo'], 'neither a dataset name'),
                                      (['data', 'fetch', 'ml-lates-small'], "Did you mean 'ml-latest-small'"),
                                      (['data', 'seed', '/nonexistent'], 'no such folder')])
def test_errors(home, args, msg):
    r = run(*args, home=home)
    assert msg in r.stdout + r.stderr
    assert r.returncode == 2 and 'Traceback' not in r.stderr


def test_bad_file(home, tmp_path):
    (tmp_path/'bad').mkdir(); (tmp_path/'bad'/'ratings.csv').write_text('userId,movieId,rating\n1,2,9\n')
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


def test_train_links_and_similar(home, tmp_path):
    r = run('train', 'links', '--out', tmp_path/'m', '--epochs', '5', home=home)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path/'m'/'model.json').read_text())['kind'] == 'links'
    r = run('similar', '--model', tmp_path/'m', '--movie', 'Toy Story (1995)', '-n', '3', '--json', home=home)
    res = json.loads(r.stdout)
    assert res['query']['movie'] == 1 and len(res['results']) == 3
    r = run('similar', '--model', tmp_path/'m', '--movie', 'Toy Stroy (1995)', home=home)
    assert r.returncode == 2 and 'Toy Story (1995)' in r.stderr and 'Traceback' not in r.stderr


def test_demo_quick_writes_the_report(home, tmp_path):
    "The README's main job (quick version): the comparison table, then the report with its cold-start section."
    r = run('demo', '--quick', '--out', tmp_path/'report', home=home)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'most popular' in r.stdout and 'cold start' in r.stdout and 'hybrid (all content)' in r.stdout
    page = (tmp_path/'report'/'report.html').read_text()
    assert str(tmp_path/'report'/'report.html') in r.stdout
    assert page.count('<img') == 4 and 'Cold start: ranking 294 movies nobody has rated' in page and '<li>' in page
